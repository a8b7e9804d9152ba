"""Burn rate, projection to a window's end, and time until a limit at the current pace.

The pace over a span is its totals divided by the span's length:
- `burn_rate_last(minutes=N)`: the records of the last N minutes over N minutes;
- `window_burn_rate`: from the window's first record until now (ccusage measures first to last record,
  which overstates the pace after a pause; idle time since the first record counts here).
Spans shorter than `min_minutes` (default 1) are stretched to it so one fresh record is not a spike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cchooks.records import UsageRecord
from cchooks.totals import round_usd

from ._common import MINUTE_MS, CostFn, TokenMeasure, Totals, index_range, sorted_records


@dataclass(slots=True)
class BurnRate:
    """Totals over a span and the rates they imply."""

    start_ms: int
    end_ms: int
    totals: Totals
    minutes: float  # the span length used as denominator (never below min_minutes)

    @property
    def tokens_per_minute(self) -> float:
        """All tokens, cache reads included."""
        return self.totals.total_tokens / self.minutes

    @property
    def tokens_per_minute_no_cache_read(self) -> float:
        return self.totals.tokens("no_cache_read") / self.minutes

    def per_minute(self, measure: TokenMeasure = "all") -> float:
        return self.totals.tokens(measure) / self.minutes

    @property
    def cost_per_minute(self) -> float:
        return self.totals.cost_usd / self.minutes

    @property
    def cost_per_hour(self) -> float:
        return self.cost_per_minute * 60.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "minutes": self.minutes,
            "responses": self.totals.responses,
            "tokens": self.totals.total_tokens,
            "tokens_per_minute": self.tokens_per_minute,
            "tokens_per_minute_no_cache_read": self.tokens_per_minute_no_cache_read,
            "tokens_per_minute_input_output": self.per_minute("input_output"),
            "cost_per_hour_usd": round_usd(self.cost_per_hour),
            "unpriced_tokens": self.totals.unpriced_tokens,
        }


def burn_rate(
    records: Iterable[UsageRecord],
    start_ms: int,
    end_ms: int,
    cost_of: CostFn,
    *,
    min_minutes: float = 1.0,
) -> BurnRate | None:
    """The pace over [start_ms, end_ms] (both ends included); None without records in it."""
    if end_ms < start_ms:
        return None
    recs = sorted_records(records)
    lo, hi = index_range(recs, start_ms, end_ms + 1)
    if lo == hi:
        return None
    totals = Totals()
    for i in range(lo, hi):
        totals.add_record(recs[i], cost_of(recs[i]))
    minutes = max((end_ms - start_ms) / MINUTE_MS, min_minutes)
    return BurnRate(start_ms, end_ms, totals, minutes)


def burn_rate_last(
    records: Iterable[UsageRecord], now_ms: int, minutes: float, cost_of: CostFn
) -> BurnRate | None:
    """The pace over the last `minutes` minutes before now_ms."""
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    return burn_rate(records, now_ms - int(minutes * MINUTE_MS), now_ms, cost_of, min_minutes=minutes)


def window_burn_rate(
    records: Iterable[UsageRecord],
    window_start_ms: int,
    now_ms: int,
    cost_of: CostFn,
    *,
    min_minutes: float = 1.0,
) -> BurnRate | None:
    """The pace inside a window so far: from its first record at or after window_start_ms until now."""
    recs = sorted_records(records)
    lo, hi = index_range(recs, window_start_ms, now_ms + 1)
    if lo == hi:
        return None
    return burn_rate(recs, recs[lo].timestamp_ms, now_ms, cost_of, min_minutes=min_minutes)


@dataclass(slots=True)
class Projection:
    """Where the totals end up at the window's end if the pace holds."""

    tokens: float
    cost_usd: float
    remaining_ms: int
    measure: TokenMeasure

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokens": round(self.tokens),
            "cost_usd": round_usd(self.cost_usd),
            "remaining_ms": self.remaining_ms,
            "measure": self.measure,
        }


def project(
    totals: Totals, rate: BurnRate | None, now_ms: int, end_ms: int, measure: TokenMeasure = "all"
) -> Projection:
    """Used so far plus the pace times the time left until end_ms (no pace: no growth)."""
    remaining = max(0, end_ms - now_ms)
    minutes = remaining / MINUTE_MS
    tokens = float(totals.tokens(measure))
    cost = totals.cost_usd
    if rate is not None:
        tokens += rate.per_minute(measure) * minutes
        cost += rate.cost_per_minute * minutes
    return Projection(tokens, cost, remaining, measure)


def time_to_limit_ms(
    used: float, limit: float | None, per_minute: float | None, *, within_ms: int | None = None
) -> int | None:
    """Milliseconds until `used` reaches `limit` growing by `per_minute`.

    0 when the limit is already reached; None when there is no limit, no pace, or (with `within_ms`)
    when the limit would not be reached within that time, e.g. before the window resets.
    """
    if limit is None:
        return None
    if used >= limit:
        return 0
    if per_minute is None or per_minute <= 0 or not math.isfinite(per_minute):
        return None
    ms = math.ceil((limit - used) / per_minute * MINUTE_MS)
    if within_ms is not None and ms > within_ms:
        return None
    return ms
