"""Turn ledger sums into priced report rows. Views only: no file parsing here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import tzinfo

from cchooks.ledger.queries import group_sums, session_projects
from cchooks.ledger.store import Ledger
from cchooks.pricing import PriceTable
from cchooks.records import SlotRecord
from cchooks.totals import SCHEMA_VERSION, Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

KEY_NAMES = {
    "daily": "date",
    "weekly": "week",
    "monthly": "month",
    "session": "session_id",
    "project": "project",
    "model": "model",
    "agent": "agent",
    "total": "total",
}


# Plain `__slots__` records, not dataclasses: `import dataclasses` (with `inspect`) was a tenth of a
# warm report's time.
class ReportRow(SlotRecord):
    __slots__ = ("key", "totals", "models", "project", "by")

    def __init__(
        self,
        key: str,
        totals: Totals | None = None,
        models: dict[str, Totals] | None = None,
        project: str | None = None,  # session reports
        by: dict[str, str] | None = None,  # team reports split --by host|user
    ) -> None:
        self.key = key
        self.totals = Totals() if totals is None else totals
        self.models: dict[str, Totals] = {} if models is None else models
        self.project = project
        self.by = by


    def to_json(self, key_name: str, breakdown: bool) -> dict[str, Any]:
        out: dict[str, Any] = {key_name: self.key}
        if self.project is not None:
            out["project"] = self.project
        if self.by:
            out.update(self.by)
        out.update(self.totals.to_json())
        if breakdown:
            out["breakdown"] = [dict(model=m, **t.to_json()) for m, t in sorted(self.models.items())]
        return out


class ManualSection(SlotRecord):
    """Manual entries in the report's range, grouped like the report: their own source, never in `totals`."""

    __slots__ = ("entries", "rows", "totals")

    def __init__(self, entries: int, rows: list[ReportRow], totals: Totals) -> None:
        self.entries = entries
        self.rows = rows
        self.totals = totals

    def to_json(self, key_name: str) -> dict[str, Any]:
        return {
            "source": "manual",
            "entries": self.entries,
            "rows": [r.to_json(key_name, False) for r in self.rows],
            "totals": self.totals.to_json(),
        }


class Report(SlotRecord):
    __slots__ = ("group", "rows", "totals", "unpriced_models", "manual")

    def __init__(
        self,
        group: str,
        rows: list[ReportRow],
        totals: Totals,
        unpriced_models: list[str],
        manual: ManualSection | None = None,
    ) -> None:
        self.group = group
        self.rows = rows
        self.totals = totals
        self.unpriced_models = unpriced_models
        self.manual = manual

    @property
    def key_name(self) -> str:
        return KEY_NAMES[self.group]

    def to_json(self, breakdown: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "group": self.group,
            "rows": [r.to_json(self.key_name, breakdown) for r in self.rows],
            "totals": self.totals.to_json(),
            "unpriced_models": self.unpriced_models,
        }
        if self.manual is not None:  # additive: only when the range holds manual entries
            out["manual"] = self.manual.to_json(self.key_name)
            both = Totals()
            both.merge(self.totals)
            both.merge(self.manual.totals)
            out["totals_with_manual"] = both.to_json()
        return out


def build_report(
    ledger: Ledger,
    group: str,
    tz: tzinfo,
    prices: PriceTable,
    since_ms: int | None = None,
    until_ms: int | None = None,
    session_id: str | None = None,
    project: str | None = None,
) -> Report:
    sums = group_sums(ledger, group, tz, since_ms, until_ms, session_id, project, prices.long_context_threshold)
    rep = report_from_sums(group, sums, prices)
    if group == "session":
        projects = session_projects(ledger, [r.key for r in rep.rows])
        for r in rep.rows:
            r.project = projects.get(r.key, "")
        rep.rows.sort(key=lambda r: r.totals.last_ms or 0)
    if not (session_id or project):
        rep.manual = manual_section(ledger, group, tz, prices, since_ms, until_ms)
    return rep


def report_from_sums(
    group: str,
    sums: Iterable[tuple[Any, str, bool, Totals]],
    prices: PriceTable,
    by: Callable[[Any], dict[str, str]] | None = None,
) -> Report:
    """Price (group key, model, long-context flag, unpriced Totals) sums into a Report; the local
    ledger's reports and the team ledger's (cchooks.team.queries) alike. With `by`, keys are
    (row key, split value) pairs and `by(split value)` gives the extra keys of each row (`host`, `user`)."""
    rows: dict[Any, ReportRow] = {}
    total = Totals()
    unpriced: set[str] = set()
    for key, model, long_context, t in sums:
        prices.price_totals(model, t, long_context)
        if t.unpriced_responses:
            unpriced.add(model)
        row = rows.get(key)
        if row is None:
            row = rows[key] = ReportRow(key[0], by=by(key[1])) if by is not None else ReportRow(key)
        row.totals.merge(t)
        row.models.setdefault(model, Totals()).merge(t)
        total.merge(t)
    ordered = list(rows.values())
    if group in ("project", "model", "agent"):
        ordered.sort(key=lambda r: -(r.totals.cost_usd or 0) - r.totals.total_tokens * 1e-12)
    return Report(group, ordered, total, sorted(unpriced))


def _manual_key(group: str, ts_ms: int, model: str | None, tz: tzinfo) -> str:
    from datetime import datetime, timedelta

    day = datetime.fromtimestamp(ts_ms / 1000, tz).date()
    if group == "daily":
        return day.isoformat()
    if group == "weekly":
        return (day - timedelta(days=day.weekday())).isoformat()
    if group == "monthly":
        return day.strftime("%Y-%m")
    if group == "model":
        return model or MANUAL_MODEL
    if group == "total":
        return "total"
    return "manual"  # session, project, agent: an entry has none of these


MANUAL_MODEL = "(manual)"


def manual_section(
    ledger: Ledger, group: str, tz: tzinfo, prices: PriceTable, since_ms: int | None, until_ms: int | None
) -> ManualSection | None:
    """The manual entries in range, priced by their model (unpriced without one), or None when there are none."""
    from cchooks.ledger.entries import list_entries

    entries = list_entries(ledger, since_ms, until_ms)
    if not entries:
        return None
    rows: dict[str, ReportRow] = {}
    total = Totals()
    for e in entries:
        model = e.model or MANUAL_MODEL
        cost = prices.cost(e.model, e.input_tokens, e.output_tokens, 0, 0, 0) if e.model else None
        t = Totals()
        t.add(model, 1, e.input_tokens, e.output_tokens, 0, 0, 0, cost, first_ms=e.ts_ms, last_ms=e.ts_ms)
        key = _manual_key(group, e.ts_ms, e.model, tz)
        row = rows.setdefault(key, ReportRow(key))
        row.totals.merge(t)
        row.models.setdefault(model, Totals()).merge(t)
        total.merge(t)
    return ManualSection(len(entries), sorted(rows.values(), key=lambda r: r.key), total)
