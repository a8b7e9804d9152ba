"""limits_summary: the current 5-hour window, week and month against their limits, as plain JSON data.

This is what `cchooks limits --json` prints and what the monitor draws. Every figure names its source:
window bounds and limits use official | learned | estimated | configured; usage counted from the records
passed in says "ledger".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import tzinfo
from typing import Any

from cchooks.records import RateLimitSnapshot, UsageRecord
from cchooks.totals import SCHEMA_VERSION, round_usd

from ._common import WEEK_MS, CostFn, Source, Totals, as_tz, iso, sorted_records, totals_between
from .blocks import OfficialWindow, active_block, official_windows, session_blocks
from .burn import burn_rate_last, project, time_to_limit_ms, window_burn_rate
from .limits import Limit, PlanConfig, resolve_limit
from .periods import Window, month_window, week_window


def _official_for(
    snapshots: list[RateLimitSnapshot], window: str, duration: int, end_ms: int
) -> OfficialWindow | None:
    for w in official_windows(snapshots, window, duration):
        if w.end_ms == end_ms:
            return w
    return None


def _left(
    limit: float | None,
    used: float,
    official: OfficialWindow | None,
    used_since_observed: float,
) -> float | None:
    """What is left of a limit: from the official percentage when there is one (minus what we counted
    since it was observed), else limit - used."""
    if limit is None:
        return None
    if official is not None:
        left = limit * (100.0 - official.used_percentage) / 100.0 - used_since_observed
    else:
        left = limit - used
    return max(0.0, left)


def _entry(
    kind: str,
    window: Window | None,
    limit: Limit,
    official: OfficialWindow | None,
    records: Sequence[UsageRecord],
    now_ms: int,
    cost_of: CostFn,
    config: PlanConfig,
    tz: tzinfo,
) -> dict[str, Any]:
    totals = window.totals if window is not None else Totals()
    measure = limit.measure
    used_tokens = totals.tokens(measure)
    since = Totals()
    if official is not None and window is not None:
        since = totals_between(records, official.observed_ms + 1, window.end_ms, cost_of)
    tokens_left = _left(limit.tokens, used_tokens, official, since.tokens(measure))
    cost_left = _left(limit.cost_usd, totals.cost_usd, official, since.cost_usd)

    pct_tokens = used_tokens * 100.0 / limit.tokens if limit.tokens else None
    pct_cost = totals.cost_usd * 100.0 / limit.cost_usd if limit.cost_usd else None
    percent: float | None
    percent_source: Source | None
    if official is not None:
        percent, percent_source = official.used_percentage, "official"
    else:
        candidates = [(p, s) for p, s in ((pct_tokens, limit.tokens_source), (pct_cost, limit.cost_source))]
        known = [(p, s) for p, s in candidates if p is not None]
        percent, percent_source = max(known, key=lambda c: c[0]) if known else (None, None)

    pace = window_burn_rate(records, window.start_ms, now_ms, cost_of) if window is not None else None
    recent = burn_rate_last(records, now_ms, config.burn_minutes, cost_of)
    remaining = max(0, window.end_ms - now_ms) if window is not None else None
    proj = project(totals, pace, now_ms, window.end_ms, measure) if window is not None else None

    ttl_tokens = ttl_cost = None
    if tokens_left is not None and limit.tokens is not None:
        ttl_tokens = time_to_limit_ms(
            limit.tokens - tokens_left,
            limit.tokens,
            pace.per_minute(measure) if pace else None,
            within_ms=remaining,
        )
    if cost_left is not None and limit.cost_usd is not None:
        ttl_cost = time_to_limit_ms(
            limit.cost_usd - cost_left,
            limit.cost_usd,
            pace.cost_per_minute if pace else None,
            within_ms=remaining,
        )
    options = [(t, "tokens", limit.tokens_source) for t in (ttl_tokens,) if t is not None]
    options += [(t, "cost", limit.cost_source) for t in (ttl_cost,) if t is not None]
    ttl, limited_by, ttl_source = min(options, key=lambda o: o[0]) if options else (None, None, None)

    return {
        "kind": kind,
        "active": window is not None,
        "start_ms": window.start_ms if window else None,
        "start": iso(window.start_ms, tz) if window else None,
        "end_ms": window.end_ms if window else None,
        "end": iso(window.end_ms, tz) if window else None,
        "reset_at_ms": window.end_ms if window else None,
        "reset_at": iso(window.end_ms, tz) if window else None,
        "window_source": window.source if window else None,
        "remaining_ms": remaining,
        "token_measure": measure,
        **totals.to_json(),
        "used_tokens": used_tokens,
        "used_cost_usd": round_usd(totals.cost_or_none),
        "used_source": "ledger",
        "token_limit": limit.tokens,
        "token_limit_source": limit.tokens_source,
        "cost_limit_usd": round_usd(limit.cost_usd),
        "cost_limit_source": limit.cost_source,
        "limit_basis": limit.basis,
        "limit_samples": limit.samples,
        "tokens_left": round(tokens_left) if tokens_left is not None else None,
        "tokens_left_source": limit.tokens_source if tokens_left is not None else None,
        "cost_left_usd": round_usd(cost_left),
        "cost_left_source": limit.cost_source if cost_left is not None else None,
        "percent": percent,
        "percent_source": percent_source,
        "percent_observed_ms": official.observed_ms if official else None,
        "percent_observed": iso(official.observed_ms, tz) if official else None,
        "percent_of_token_limit": pct_tokens,
        "percent_of_cost_limit": pct_cost,
        "burn": pace.to_dict() if pace else None,
        "burn_recent": recent.to_dict() if recent else None,
        "projected_tokens": round(proj.tokens) if proj else None,
        "projected_cost_usd": round_usd(proj.cost_usd) if proj else None,
        "projection_source": "estimated" if proj else None,
        "time_to_limit_ms": ttl,
        "limit_reached_at_ms": now_ms + ttl if ttl is not None else None,
        "limit_reached_at": iso(now_ms + ttl, tz) if ttl is not None else None,
        "limited_by": limited_by,
        "time_to_limit_source": ttl_source,
    }


def limits_summary(
    records: Iterable[UsageRecord],
    snapshots: Iterable[RateLimitSnapshot],
    now_ms: int,
    tz: str | tzinfo,
    plan_config: PlanConfig | Mapping[str, Any] | None,
    cost_of: CostFn,
) -> dict[str, Any]:
    """The current 5-hour window, week and month: usage, limit, percent, reset, time to limit.

    `records` should hold enough history for the learned limits (a few weeks: the ledger's recent rows);
    `snapshots` the stored rate-limit snapshots. Pure: `now_ms` is the clock. The result is
    JSON-serializable (ints, floats, strings, None, lists, dicts).

    Percent: the official used_percentage when a snapshot covers the window (as observed, see
    percent_observed), else the larger of used/limit for tokens and USD. Time to limit: at the window's
    pace so far (from its first record to now), None when the limit is not reached before the reset.
    """
    config = (
        plan_config if isinstance(plan_config, PlanConfig) else PlanConfig.from_mapping(plan_config or {})
    )
    zone = as_tz(tz)
    recs = list(sorted_records(records))
    snaps = list(snapshots)

    blocks = session_blocks(recs, now_ms, cost_of, snaps)
    blk = active_block(blocks)
    five: Window | None = None
    if blk is not None:
        five = Window(
            "five_hour",
            blk.start_ms,
            blk.end_ms,
            blk.source,
            blk.totals,
            blk.official.end_ms if blk.official else None,
        )
    five_limit = resolve_limit("five_hour", config, recs, snaps, cost_of, blocks)
    five_official = blk.official if blk is not None else None

    week = week_window(
        recs,
        now_ms,
        zone,
        cost_of,
        snaps,
        reset_weekday=config.weekly_reset_weekday,
        reset_hour=config.weekly_reset_hour,
    )
    week_limit = resolve_limit("week", config, recs, snaps, cost_of)
    week_official = (
        _official_for(snaps, "seven_day", WEEK_MS, week.end_ms) if week.source == "official" else None
    )

    month = month_window(recs, now_ms, zone, cost_of)
    month_limit = resolve_limit("month", config, recs, snaps, cost_of)

    latest: dict[str, RateLimitSnapshot] = {}
    for s in snaps:
        if s.window not in latest or s.observed_ms >= latest[s.window].observed_ms:
            latest[s.window] = s
    official = {
        name: {
            "used_percentage": s.used_percentage,
            "resets_at_ms": s.resets_at_ms,
            "resets_at": iso(s.resets_at_ms, zone),
            "observed_ms": s.observed_ms,
            "observed": iso(s.observed_ms, zone),
            "stale": s.resets_at_ms is not None and s.resets_at_ms <= now_ms,
        }
        for name, s in sorted(latest.items())
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "now_ms": now_ms,
        "now": iso(now_ms, zone),
        "tz": str(zone),
        "plan": config.plan,
        "five_hour": _entry(
            "five_hour", five, five_limit, five_official, recs, now_ms, cost_of, config, zone
        ),
        "week": _entry("week", week, week_limit, week_official, recs, now_ms, cost_of, config, zone),
        "month": _entry("month", month, month_limit, None, recs, now_ms, cost_of, config, zone),
        "official": official,
    }
