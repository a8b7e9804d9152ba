"""`cchooks report blocks`: 5-hour blocks (ccusage's heuristic, corrected by official reset times).

Dispatched by `cchooks.commands.report` with its arguments (kind, ledger, claude_dir, since, until, tz,
json, csv, no_ingest, active, verbose). JSON: `{"schema_version", "now_ms", "now", "tz", "blocks": [...]}`, each
block `Block.to_dict()`; the active block also has `burn` (pace since its first response) and
`projection` (totals at its end if that pace holds).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Any

from cchooks.commands.common import ingest_or_warn
from cchooks.totals import SCHEMA_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.ledger.store import Ledger
    from cchooks.pricing import PriceTable
    from cchooks.windows.blocks import BucketSums

DAY_MS = 86_400_000
# Blocks chain from one another, so a range starts computing a day early; --active needs only the
# recent past.
LEAD_MS = DAY_MS
ACTIVE_LOOKBACK_MS = 2 * DAY_MS

CSV_FIELDS = [
    "start", "end", "source", "is_active", "is_gap", "responses", "input_tokens", "output_tokens",
    "cache_creation_5m_tokens", "cache_creation_1h_tokens", "cache_read_tokens", "total_tokens", "cost_usd",
    "unpriced_tokens", "models",
]  # fmt: skip


def _bucket_items(ledger: Ledger, since_ms: int | None, until_ms: int | None, prices: PriceTable) -> list[BucketSums] | None:
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


def run_blocks(args: argparse.Namespace) -> int:
    from cchooks.commands.common import CommandError, open_view
    from cchooks.monitor.data import now_ms
    from cchooks.timezones import parse_day_bound
    from cchooks.windows import project, session_blocks, window_burn_rate

    try:
        ledger, ctx = open_view(args.ledger, tz=args.tz, config=args.config)
    except CommandError as exc:
        print(f"cchooks: {exc}", file=sys.stderr)
        return exc.code
    with ledger:
        try:
            since = parse_day_bound(args.since, ctx.tz) if args.since else None
            until = parse_day_bound(args.until, ctx.tz, end=True) if args.until else None
        except ValueError as exc:
            print(f"cchooks: bad --since/--until: {exc}", file=sys.stderr)
            return 2
        if not args.no_ingest:
            ingest_or_warn(ledger, args.claude_dir, args.verbose, show_progress=not (args.json or args.csv))
        now = now_ms()
        lead = since - LEAD_MS if since is not None else None
        if args.active and lead is None:
            lead = now - ACTIVE_LOOKBACK_MS
        snaps = ledger.rate_limit_snapshots("five_hour", since_ms=lead)
        items = None if snaps else _bucket_items(ledger, lead, until, ctx.prices)
        records = list(ledger.records(since_ms=lead, until_ms=until)) if items is None else []
        blocks = session_blocks(items if items is not None else records, now, ctx.cost_of, snaps)
        active = next((b for b in reversed(blocks) if b.is_active), None)
        if items is not None and active is not None:
            records = list(ledger.records(since_ms=active.start_ms, until_ms=until))  # the burn rate's
    if since is not None:
        blocks = [b for b in blocks if b.end_ms > since]
    if until is not None:
        blocks = [b for b in blocks if b.start_ms < until]
    while blocks and blocks[0].is_gap:
        blocks.pop(0)
    active = next((b for b in reversed(blocks) if b.is_active), None)
    if args.active:
        blocks = [active] if active is not None else []
    burn = window_burn_rate(records, active.start_ms, now, ctx.cost_of) if active is not None else None
    proj = project(active.totals, burn, now, active.end_ms) if active is not None else None

    if args.json:
        out: list[dict[str, Any]] = []
        for b in blocks:
            d = b.to_dict(ctx.tz)
            if b is active:
                d["burn"] = burn.to_dict() if burn else None
                d["projection"] = proj.to_dict() if proj else None
                d["remaining_ms"] = max(0, b.end_ms - now)
            out.append(d)
        from cchooks.monitor.fmt import iso, tz_name

        doc = {
            "schema_version": SCHEMA_VERSION,
            "now_ms": now,
            "now": iso(now, ctx.tz),
            "tz": tz_name(ctx.tz),
            "blocks": out,
        }
        from cchooks.reports.render import dumps_indented

        print(dumps_indented(doc))
        return 0
    if args.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
        w.writeheader()
        for b in blocks:
            d = b.to_dict(ctx.tz)
            row = {k: d.get(k) for k in CSV_FIELDS}
            row["models"] = " ".join(b.models)
            row["is_active"] = "true" if b.is_active else "false"
            row["is_gap"] = "true" if b.is_gap else "false"
            w.writerow(row)
        sys.stdout.write(buf.getvalue())
        return 0
    from cchooks.monitor.text import render_blocks

    if args.active and not blocks:
        print("No active 5-hour block (no response in the last 5 hours).")
        return 0
    print(render_blocks(blocks, now, ctx.tz, burn, proj, _width()))
    return 0


def _width() -> int:
    import shutil

    return max(60, min(shutil.get_terminal_size((80, 24)).columns, 100))
