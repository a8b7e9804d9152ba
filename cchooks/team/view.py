"""The team view: the pool, the machines and the per-machine split, read from the team ledger.

What `cchooks team hosts` prints, the dashboard's `/api/team` serves and `/metrics` exports per
host. The daemon (`cchooks serve`) builds it on its sync thread after each sync, on the sync's own
connection, and keeps it in memory (`TeamSync.document()`): requests and scrapes read that copy
and never open a PostgreSQL connection. Every figure is priced here with the one cost function
(`report_from_sums` -> `PriceTable.price_totals`) and summed in Totals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import tzinfo

    from cchooks.pricing import PriceTable

WINDOWS = ("today", "five_hour", "seven_day")


@dataclass(slots=True)
class Host:
    """One machine as the team ledger knows it; `totals` is everything it synced, priced."""

    machine_id: str
    label: str
    user: str
    first_seen_ms: int
    last_seen_ms: int
    last_push_ms: int | None
    cchooks_version: str | None
    this_machine: bool
    totals: Totals
    windows: dict[str, Totals] = field(default_factory=dict)  # today / five_hour / seven_day

    def to_json(self) -> dict[str, Any]:
        return {
            "machine_id": self.machine_id, "label": self.label, "user": self.user, "this_machine": self.this_machine,
            "first_seen_ms": self.first_seen_ms, "last_seen_ms": self.last_seen_ms, "last_push_ms": self.last_push_ms,
            "cchooks_version": self.cchooks_version, **self.totals.to_json(),
        }  # fmt: skip


@dataclass(slots=True)
class TeamView:
    team: str
    updated_ms: int
    this_machine: str
    pool: dict[str, Totals]
    hosts: list[Host]
    total: Totals

    def to_json(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "updated_ms": self.updated_ms,
            "pool": {k: self.pool[k].to_json() for k in WINDOWS},
            "hosts": [h.to_json() for h in self.hosts],
            "by_host": [
                {"machine_id": h.machine_id, "label": h.label, **{k: h.windows[k].to_json() for k in WINDOWS}}
                for h in self.hosts
            ],
            "totals": self.total.to_json(),
        }


def window_starts(now_ms: int, tz: tzinfo) -> dict[str, int]:
    """Where today (local midnight in `tz`), the last 5 hours and the last 7 days start, on the
    rollup's 15-minute grid (so they read the rollup)."""
    from cchooks.ledger.derived import ROLLUP_BUCKET_MS
    from cchooks.monitor.data import local_midnight_ms

    starts = {"today": local_midnight_ms(now_ms, tz), "five_hour": now_ms - 5 * 3_600_000,
              "seven_day": now_ms - 7 * 86_400_000}  # fmt: skip
    return {k: v - v % ROLLUP_BUCKET_MS for k, v in starts.items()}


def priced_hosts(conn: Any, prices: PriceTable, tz: tzinfo, this_machine: str | None) -> tuple[list[Host], Totals]:
    """Every machine with its synced totals priced per (machine, model, long-context side)."""
    from cchooks.reports.build import report_from_sums
    from cchooks.team.queries import machines, team_sums

    rows = machines(conn)
    sums = team_sums(conn, "total", tz, None, None, prices.long_context_threshold, by="host")
    rep = report_from_sums("total", sums, prices, by=lambda m: {"machine_id": m})
    priced = {r.by["machine_id"]: r.totals for r in rep.rows if r.by}
    hosts = [
        Host(str(h["machine_id"]), str(h["label"]), str(h["user"]), int(h["first_seen_ms"]), int(h["last_seen_ms"]),
             None if h["last_push_ms"] is None else int(h["last_push_ms"]), h["cchooks_version"],
             h["machine_id"] == this_machine, priced.get(h["machine_id"], h["totals"]))  # fmt: skip
        for h in rows
    ]
    return hosts, rep.totals


def build_view(conn: Any, prices: PriceTable, tz: tzinfo, target: str, this_machine: str,
               now_ms: int | None = None) -> TeamView:  # fmt: skip
    """The whole view in a few rollup queries: machines, their totals, and the three windows by host."""
    from cchooks.reports.build import report_from_sums
    from cchooks.team.queries import team_sums

    now = int(time.time() * 1000) if now_ms is None else now_ms
    hosts, total = priced_hosts(conn, prices, tz, this_machine)
    pool: dict[str, Totals] = {}
    for name, start in window_starts(now, tz).items():
        sums = team_sums(conn, "total", tz, start, None, prices.long_context_threshold, by="host")
        rep = report_from_sums("total", sums, prices, by=lambda m: {"machine_id": m})
        split = {r.by["machine_id"]: r.totals for r in rep.rows if r.by}
        pool[name] = rep.totals
        for h in hosts:
            h.windows[name] = split.get(h.machine_id) or Totals()
    return TeamView(target, now, this_machine, pool, hosts, total)
