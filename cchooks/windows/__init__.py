"""Usage windows and limits as pure functions: 5-hour blocks, week, month, burn rate, plan limits.

Inputs are `UsageRecord`s (sorted by timestamp; unsorted input is sorted) and `RateLimitSnapshot`s; cost
comes from a `cost_of(record) -> float | None` callable (None = unpriced model). No I/O, no clocks: the
current time is always the `now_ms` argument. Every figure carries a source: official | learned |
estimated | configured.
"""

from __future__ import annotations

from ._common import (
    FIVE_HOURS_MS,
    WEEK_MS,
    CostFn,
    Source,
    TokenMeasure,
    Totals,
    WindowSource,
    totals_between,
)
from .blocks import Block, OfficialWindow, active_block, block_at, official_windows, session_blocks
from .burn import (
    BurnRate,
    Projection,
    burn_rate,
    burn_rate_last,
    project,
    time_to_limit_ms,
    window_burn_rate,
)
from .limits import (
    PLAN_PRESETS,
    PLANS,
    Limit,
    PlanConfig,
    PlanPreset,
    learn_from_snapshots,
    p90_block_limit,
    resolve_limit,
)
from .periods import (
    Window,
    local_week_bounds,
    month_bounds,
    month_window,
    week_bounds,
    week_window,
)
from .summary import limits_summary

__all__ = [
    "FIVE_HOURS_MS",
    "PLANS",
    "PLAN_PRESETS",
    "WEEK_MS",
    "Block",
    "BurnRate",
    "CostFn",
    "Limit",
    "OfficialWindow",
    "PlanConfig",
    "PlanPreset",
    "Projection",
    "Source",
    "TokenMeasure",
    "Totals",
    "Window",
    "WindowSource",
    "active_block",
    "block_at",
    "burn_rate",
    "burn_rate_last",
    "learn_from_snapshots",
    "limits_summary",
    "local_week_bounds",
    "month_bounds",
    "month_window",
    "official_windows",
    "p90_block_limit",
    "project",
    "resolve_limit",
    "session_blocks",
    "time_to_limit_ms",
    "totals_between",
    "week_bounds",
    "week_window",
    "window_burn_rate",
]
