"""Shared types of the windows package: sources, token measures and running totals.

Everything here is pure: no clocks, no I/O. Times are UTC epoch milliseconds.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from cchooks.records import UsageRecord
from cchooks.totals import TOKEN_MEASURES as _MEASURES
from cchooks.totals import Totals as Totals

# Where a figure comes from:
#   official   - Claude Code's own rate-limit payload (resets_at, used_percentage)
#   learned    - derived from official percentages and our own token counts
#   estimated  - a heuristic (ccusage-style blocks, the 90th percentile of past blocks, extrapolation)
#   configured - the user's configuration or a plan preset
Source = Literal["official", "learned", "estimated", "configured"]
WindowSource = Literal["official", "estimated", "configured"]

# Which tokens a token count (and a token limit) counts:
#   all           - input + output + cache writes + cache reads (UsageRecord.total_tokens)
#   no_cache_read - all but cache reads
#   input_output  - input + output only: what the community plan presets count
TokenMeasure = Literal["all", "no_cache_read", "input_output"]
TOKEN_MEASURES: tuple[TokenMeasure, ...] = _MEASURES  # type: ignore[assignment]

# Prices one record in USD; None means the model has no price (never a silent $0).
CostFn = Callable[[UsageRecord], float | None]

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
FIVE_HOURS_MS = 5 * HOUR_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS


class _Timed(Protocol):
    timestamp_ms: int


_T = TypeVar("_T", bound=_Timed)


def _ts(r: _Timed) -> int:
    return r.timestamp_ms


def record_tokens(r: UsageRecord, measure: TokenMeasure) -> int:
    if measure == "all":
        return r.total_tokens
    if measure == "no_cache_read":
        return r.total_tokens - r.cache_read_tokens
    if measure == "input_output":
        return r.input_tokens + r.output_tokens
    raise ValueError(f"unknown token measure {measure!r}; expected one of {TOKEN_MEASURES}")


def sorted_records(records: Iterable[_T]) -> Sequence[_T]:
    """The records by timestamp. Callers normally pass them sorted (the ledger returns them so);
    an already sorted sequence is returned as is after an O(n) check, anything else is sorted (stable)."""
    if isinstance(records, Sequence):
        if all(records[i].timestamp_ms <= records[i + 1].timestamp_ms for i in range(len(records) - 1)):
            return records
        return sorted(records, key=_ts)
    return sorted(records, key=_ts)


def index_range(records: Sequence[UsageRecord], start_ms: int, end_ms: int) -> tuple[int, int]:
    """Indices [lo, hi) of the sorted records with start_ms <= timestamp < end_ms."""
    lo = bisect_left(records, start_ms, key=_ts)
    hi = bisect_left(records, end_ms, lo=lo, key=_ts)
    return lo, hi


def totals_between(records: Sequence[UsageRecord], start_ms: int, end_ms: int, cost_of: CostFn) -> Totals:
    """Totals of the sorted records in [start_ms, end_ms)."""
    lo, hi = index_range(records, start_ms, end_ms)
    out = Totals()
    for i in range(lo, hi):
        r = records[i]
        out.add_record(r, cost_of(r))
    return out


def as_tz(tz: str | tzinfo) -> tzinfo:
    """An IANA zone name or a tzinfo; resolving "the local zone" is the caller's job (it reads the machine)."""
    if isinstance(tz, str):
        return UTC if tz.upper() == "UTC" else ZoneInfo(tz)
    return tz


def iso(ms: int | None, tz: tzinfo | None = None) -> str | None:
    """ISO 8601 with offset (UTC when tz is None), to the second."""
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    if tz is not None:
        dt = dt.astimezone(tz)
    return dt.isoformat(timespec="seconds")


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, statistics' 'inclusive')."""
    s = sorted(values)
    if not s:
        raise ValueError("percentile of no values")
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)
