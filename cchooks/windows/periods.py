"""Week and calendar-month windows in the user's time zone, and their totals.

Weekly window: 7 days ending at the official `seven_day` reset when a snapshot gave one (the latest
snapshot's resets_at anchors the week; a stale one is carried forward in steps of exactly 168 h and then
counts as "estimated"). Without a snapshot it resets at a configured weekday and local hour in the user's
IANA zone: the local hour stays fixed across DST changes, so such a week lasts 167 or 169 hours.

A local reset hour that does not exist on a DST spring-forward day resolves like Python's `fold=0`
(02:30 in Europe/Berlin on the last Sunday of March means 03:30 CEST); an ambiguous one (autumn) means its
first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from cchooks.records import RateLimitSnapshot, UsageRecord

from ._common import WEEK_MS, CostFn, Totals, WindowSource, as_tz, iso, sorted_records, totals_between


@dataclass(slots=True)
class Window:
    """A time window [start_ms, end_ms) and the totals of the records inside it."""

    kind: str  # five_hour | week | month
    start_ms: int
    end_ms: int  # also the reset time
    source: WindowSource
    totals: Totals = field(default_factory=Totals)
    official_resets_at_ms: int | None = None  # the snapshot reset this window was derived from, if any

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def contains(self, t_ms: int) -> bool:
        return self.start_ms <= t_ms < self.end_ms

    def to_dict(self, tz: tzinfo | None = None) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "start": iso(self.start_ms, tz),
            "end": iso(self.end_ms, tz),
            "hours": self.duration_ms / 3_600_000,
            "source": self.source,
            "official_resets_at_ms": self.official_resets_at_ms,
            **self.totals.to_json(),
        }


def _local_ms(day: date, hour: int, tz: tzinfo) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=tz).timestamp() * 1000)


def local_week_bounds(now_ms: int, tz: str | tzinfo, weekday: int = 0, hour: int = 0) -> tuple[int, int]:
    """[start, end) of the week holding now_ms that resets at `weekday` (0 = Monday) and local `hour`."""
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday}")
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0 to 23, not {hour}")
    zone = as_tz(tz)
    local_now = datetime.fromtimestamp(now_ms / 1000, zone)
    day = local_now.date() - timedelta(days=(local_now.weekday() - weekday) % 7)
    start = _local_ms(day, hour, zone)
    if start > now_ms:
        day -= timedelta(days=7)
        start = _local_ms(day, hour, zone)
    end = _local_ms(day + timedelta(days=7), hour, zone)
    if end <= now_ms:  # only reachable through odd zone data; keep the window holding now
        day += timedelta(days=7)
        start, end = end, _local_ms(day + timedelta(days=7), hour, zone)
    return start, end


def latest_official_reset(snapshots: Iterable[RateLimitSnapshot], window: str) -> int | None:
    """resets_at of the most recently observed snapshot of `window` that has one."""
    best: RateLimitSnapshot | None = None
    for s in snapshots:
        if s.window != window or s.resets_at_ms is None:
            continue
        if best is None or s.observed_ms >= best.observed_ms:
            best = s
    return best.resets_at_ms if best is not None else None


def week_bounds(
    now_ms: int,
    tz: str | tzinfo,
    snapshots: Iterable[RateLimitSnapshot] = (),
    *,
    reset_weekday: int = 0,
    reset_hour: int = 0,
    window: str = "seven_day",
) -> tuple[int, int, WindowSource, int | None]:
    """(start, end, source, official reset) of the weekly window holding now_ms."""
    reset = latest_official_reset(snapshots, window)
    if reset is not None:
        k = (now_ms - reset) // WEEK_MS  # k == -1: now lies in the window the snapshot named
        start = reset + k * WEEK_MS
        return start, start + WEEK_MS, ("official" if k == -1 else "estimated"), reset
    start, end = local_week_bounds(now_ms, tz, reset_weekday, reset_hour)
    return start, end, "configured", None


def week_window(
    records: Iterable[UsageRecord],
    now_ms: int,
    tz: str | tzinfo,
    cost_of: CostFn,
    snapshots: Iterable[RateLimitSnapshot] = (),
    *,
    reset_weekday: int = 0,
    reset_hour: int = 0,
) -> Window:
    """The weekly window holding now_ms with the totals of the records in it."""
    start, end, source, reset = week_bounds(
        now_ms, tz, snapshots, reset_weekday=reset_weekday, reset_hour=reset_hour
    )
    totals = totals_between(sorted_records(records), start, end, cost_of)
    return Window("week", start, end, source, totals, reset)


def month_bounds(now_ms: int, tz: str | tzinfo) -> tuple[int, int]:
    """[start, end) of the calendar month holding now_ms, local midnights in tz."""
    zone = as_tz(tz)
    local_now = datetime.fromtimestamp(now_ms / 1000, zone)
    first = date(local_now.year, local_now.month, 1)
    nxt = date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
    return _local_ms(first, 0, zone), _local_ms(nxt, 0, zone)


def month_window(records: Iterable[UsageRecord], now_ms: int, tz: str | tzinfo, cost_of: CostFn) -> Window:
    """The calendar month holding now_ms in the user's zone, with its totals (source "configured":
    the boundaries follow from the configured zone)."""
    start, end = month_bounds(now_ms, tz)
    totals = totals_between(sorted_records(records), start, end, cost_of)
    return Window("month", start, end, "configured", totals)
