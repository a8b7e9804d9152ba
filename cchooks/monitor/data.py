"""What the limits, blocks and monitor views read from the ledger (queries only; no parsing, no caching).

`ViewContext` gathers the settings every such view needs (prices, plan, time zone); `load_window_data`
reads the records and rate-limit snapshots of the recent past; `monitor_frame` adds what the live monitor
shows beside the windows: today's cost by model and the sessions active in the last minutes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from cchooks.ledger.store import Ledger
from cchooks.pricing import PriceTable
from cchooks.records import RateLimitSnapshot, UsageRecord
from cchooks.totals import Totals

DAY_MS = 86_400_000
# History read for limits: covers the calendar month and gives the learned limits (official snapshots,
# 90th percentile of past 5-hour blocks) a few weeks of evidence.
HISTORY_DAYS = 42
ACTIVE_SESSION_MINUTES = 10


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class ViewContext:
    """Prices, plan limits and zone, from the config file with command-line overrides."""

    prices: PriceTable
    plan: dict[str, Any]  # PlanConfig.from_mapping input
    tz: tzinfo
    cost_of: Callable[[UsageRecord], float | None]

    @classmethod
    def load(
        cls, ledger: Ledger, *, plan: str | None = None, tz: str | None = None, config: str | None = None
    ) -> ViewContext:
        """Raises ConfigError (bad config file) or ValueError (bad zone or plan)."""
        from cchooks.api import price_table
        from cchooks.config import hot_price_overrides, load_config_hot
        from cchooks.pricing.record_cost import cost_function
        from cchooks.timezones import resolve_tz
        from cchooks.windows import PlanConfig

        cfg = load_config_hot(config)  # the cached plain form: no pydantic import
        mapping = dict(cfg["limits"])
        if plan:
            mapping["plan"] = plan
        PlanConfig.from_mapping(mapping)  # validate now, with a clear message
        prices = price_table(ledger, hot_price_overrides(cfg))
        zone = resolve_tz(tz or cfg["report"]["timezone"])
        return cls(prices, mapping, zone, cost_function(prices))


@dataclass(slots=True)
class WindowData:
    records: list[UsageRecord]
    snapshots: list[RateLimitSnapshot]


def load_window_data(ledger: Ledger, now: int, days: int = HISTORY_DAYS) -> WindowData:
    since = now - days * DAY_MS
    return WindowData(list(ledger.records(since_ms=since)), ledger.rate_limit_snapshots(since_ms=since))


def summary(ctx: ViewContext, data: WindowData, now: int) -> dict[str, Any]:
    from cchooks.windows import limits_summary

    return limits_summary(data.records, data.snapshots, now, ctx.tz, ctx.plan, ctx.cost_of)


class ModelRow(Totals):
    """Today's totals of one model (or of all: "total")."""

    __slots__ = ("model",)

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model


class SessionRow(Totals):
    """The totals of one active session."""

    __slots__ = ("session_id", "project")

    def __init__(self, session_id: str, project: str) -> None:
        super().__init__()
        self.session_id = session_id
        self.project = project


@dataclass(slots=True)
class MonitorFrame:
    """Everything one frame of the monitor shows."""

    now_ms: int
    tz: tzinfo
    summary: dict[str, Any]
    today: ModelRow = field(default_factory=lambda: ModelRow("total"))
    models: list[ModelRow] = field(default_factory=list)  # today, by cost
    sessions: list[SessionRow] = field(default_factory=list)  # active, newest first
    ledger_path: str = ""
    last_ingest_ms: int | None = None
    watch_pid: int | None = None
    errors: list[str] = field(default_factory=list)


def local_midnight_ms(now: int, tz: tzinfo) -> int:
    local = datetime.fromtimestamp(now / 1000, tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000)


def today_by_model(
    records: Sequence[UsageRecord], now: int, tz: tzinfo, cost_of: Callable[[UsageRecord], float | None]
) -> tuple[ModelRow, list[ModelRow]]:
    start = local_midnight_ms(now, tz)
    total = ModelRow("total")
    by: dict[str, ModelRow] = {}
    for r in records:
        if r.timestamp_ms < start or r.timestamp_ms > now:
            continue
        cost = cost_of(r)
        total.add_record(r, cost)
        by.setdefault(r.model, ModelRow(r.model)).add_record(r, cost)
    return total, sorted(by.values(), key=lambda m: (-m.cost_usd, -m.total_tokens, m.model))


def active_sessions(
    records: Sequence[UsageRecord],
    now: int,
    cost_of: Callable[[UsageRecord], float | None],
    minutes: float = ACTIVE_SESSION_MINUTES,
) -> list[SessionRow]:
    """Sessions whose latest response is within `minutes` of now; totals over the records given."""
    cutoff = now - int(minutes * 60_000)
    active = {r.session_id for r in records if cutoff <= r.timestamp_ms <= now}
    rows: dict[str, SessionRow] = {}
    for r in records:
        if r.session_id not in active:
            continue
        row = rows.get(r.session_id)
        if row is None:
            name = os.path.basename((r.project or "").rstrip("/")) or (r.project_dir or "-")
            row = rows[r.session_id] = SessionRow(r.session_id, name)
        row.add_record(r, cost_of(r))
    return sorted(rows.values(), key=lambda s: -(s.last_ms or 0))


def monitor_frame(
    ledger: Ledger,
    ctx: ViewContext,
    data: WindowData,
    now: int,
    summ: Mapping[str, Any] | None = None,
) -> MonitorFrame:
    from cchooks.watch.lock import lock_holder

    total, models = today_by_model(data.records, now, ctx.tz, ctx.cost_of)
    return MonitorFrame(
        now_ms=now,
        tz=ctx.tz,
        summary=dict(summ) if summ is not None else summary(ctx, data, now),
        today=total,
        models=models,
        sessions=active_sessions(data.records, now, ctx.cost_of),
        ledger_path=str(ledger.path),
        last_ingest_ms=ledger.last_ingest_ms(),
        watch_pid=lock_holder(ledger.path),
    )
