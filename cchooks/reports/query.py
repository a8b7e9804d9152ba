"""The one builder behind `cchooks report <group> --json` and `GET /api/report/<group>`.

Both call `report_document` (and `blocks_document` for blocks) with the same since/until/tz and
filters, so the dashboard's numbers are the CLI's numbers by construction.
"""

from __future__ import annotations

from cchooks.totals import SCHEMA_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cchooks.config.model import Config
    from cchooks.ledger.store import Ledger
    from cchooks.monitor.data import ViewContext
    from cchooks.pricing import PriceTable
    from cchooks.reports.build import Report
    from cchooks.windows.blocks import BucketSums

GROUPS = ("daily", "weekly", "monthly", "session", "project", "model", "agent")
DAY_MS = 86_400_000
# Blocks chain from one another, so a range starts computing a day early; --active needs only the
# recent past.
LEAD_MS = DAY_MS
ACTIVE_LOOKBACK_MS = 2 * DAY_MS


def build(
    ledger: Ledger,
    cfg: Config | dict[str, Any],
    group: str,
    *,
    tz: str | None = None,
    since: str | None = None,
    until: str | None = None,
    session: str | None = None,
    project: str | None = None,
) -> Report:
    """The report of `group` (ValueError for a bad zone, bound or group)."""
    from cchooks.reports.make import make_report, price_table

    if group not in GROUPS:
        raise ValueError(f"unknown report {group!r}; one of {', '.join((*GROUPS, 'blocks'))}")
    if isinstance(cfg, dict):  # the cached plain form (load_config_hot): no pydantic on the CLI path
        from cchooks.config import hot_price_overrides

        zone, overrides = cfg["report"]["timezone"], hot_price_overrides(cfg)
    else:
        zone, overrides = cfg.report.timezone, cfg.price_overrides()
    return make_report(
        ledger, group, tz=tz or zone, since=since, until=until,
        session_id=session, project=project, prices=price_table(ledger, overrides),
    )  # fmt: skip


def report_document(ledger: Ledger, cfg: Config, group: str, *, breakdown: bool = False,
                    **filters: str | None) -> dict[str, Any]:  # fmt: skip
    """`cchooks report <group> --json` as a dict."""
    return build(ledger, cfg, group, **filters).to_json(breakdown)


def _bucket_items(
    ledger: Ledger, since_ms: int | None, until_ms: int | None, prices: PriceTable
) -> list[BucketSums] | None:
    """Without official windows, blocks are built from the rollup's 15-minute sums (see
    `BucketSums`) rather than from every response; None where the rollup cannot answer."""
    from cchooks.ledger.queries import bucket_sums
    from cchooks.windows.blocks import BucketSums

    rows = bucket_sums(ledger, since_ms, until_ms, prices.long_context_threshold)
    if rows is None:
        return None
    return [
        BucketSums(first, last, model, sums, prices.cost(model, *sums[1:6], long_context=lc))
        for first, last, model, lc, sums in rows
    ]


class Blocks:
    """The 5-hour blocks of a range, with the active one's burn rate and projection."""

    def __init__(self, ledger: Ledger, ctx: ViewContext, since: str | None, until: str | None,
                 active_only: bool = False) -> None:  # fmt: skip
        from cchooks.monitor.data import now_ms
        from cchooks.timezones import parse_day_bound
        from cchooks.windows import project, session_blocks, window_burn_rate

        self.ctx = ctx
        since_ms = parse_day_bound(since, ctx.tz) if since else None
        until_ms = parse_day_bound(until, ctx.tz, end=True) if until else None
        self.now = now = now_ms()
        lead = since_ms - LEAD_MS if since_ms is not None else None
        if active_only and lead is None:
            lead = now - ACTIVE_LOOKBACK_MS
        snaps = ledger.rate_limit_snapshots("five_hour", since_ms=lead)
        items = None if snaps else _bucket_items(ledger, lead, until_ms, ctx.prices)
        records = list(ledger.records(since_ms=lead, until_ms=until_ms)) if items is None else []
        blocks = session_blocks(items if items is not None else records, now, ctx.cost_of, snaps)
        if items is not None:
            active = next((b for b in reversed(blocks) if b.is_active), None)
            if active is not None:  # the burn rate reads the active block's own responses
                records = list(ledger.records(since_ms=active.start_ms, until_ms=until_ms))
        if since_ms is not None:
            blocks = [b for b in blocks if b.end_ms > since_ms]
        if until_ms is not None:
            blocks = [b for b in blocks if b.start_ms < until_ms]
        while blocks and blocks[0].is_gap:
            blocks.pop(0)
        self.active = next((b for b in reversed(blocks) if b.is_active), None)
        if active_only:
            blocks = [self.active] if self.active is not None else []
        self.blocks = blocks
        a = self.active
        self.burn = window_burn_rate(records, a.start_ms, now, ctx.cost_of) if a is not None else None
        self.projection = project(a.totals, self.burn, now, a.end_ms) if a is not None else None

    def to_json(self) -> dict[str, Any]:
        from cchooks.monitor.fmt import iso, tz_name

        out: list[dict[str, Any]] = []
        for b in self.blocks:
            d = b.to_dict(self.ctx.tz)
            if b is self.active:
                d["burn"] = self.burn.to_dict() if self.burn else None
                d["projection"] = self.projection.to_dict() if self.projection else None
                d["remaining_ms"] = max(0, b.end_ms - self.now)
            out.append(d)
        return {
            "schema_version": SCHEMA_VERSION,
            "now_ms": self.now,
            "now": iso(self.now, self.ctx.tz),
            "tz": tz_name(self.ctx.tz),
            "blocks": out,
        }


def limits_document(ledger: Ledger, ctx: ViewContext) -> dict[str, Any]:
    """`cchooks limits --json` as a dict."""
    from cchooks.monitor.data import load_window_data, now_ms, summary

    now = now_ms()
    return summary(ctx, load_window_data(ledger, now), now)
