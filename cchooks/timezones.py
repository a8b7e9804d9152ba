"""Time-zone arithmetic done once in Python so SQLite can group by local day.

SQLite knows only UTC. Within any range a zone's UTC offset is piecewise constant,
changing at a few DST transitions a year, so a CASE over those transitions gives an
exact local time for every row without calling back into Python per row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_MS = 86_400_000


def resolve_tz(name: str | None) -> tzinfo:
    """An IANA zone by name; None means the machine's local zone."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)") from exc
    local = datetime.now().astimezone().tzinfo
    # Prefer a real zone (DST-aware) over the fixed offset astimezone() reports.
    try:
        import os

        tzname = os.environ.get("TZ")
        if tzname:
            return ZoneInfo(tzname.lstrip(":"))
        link = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in link:
            return ZoneInfo(link.split("zoneinfo/", 1)[1])
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    return local or UTC


def offset_seconds(tz: tzinfo, ms: int) -> int:
    dt = datetime.fromtimestamp(ms / 1000, tz)
    off = dt.utcoffset()
    return int(off.total_seconds()) if off else 0


# Zones whose offset never changes (UTC by its names, Etc/GMT±N): no transitions to look for (a
# year is ~1,500 probes). A `datetime.timezone` (a fixed offset) is one too.
FIXED_KEYS = frozenset({"UTC", "UCT", "Universal", "Zulu", "GMT", "GMT+0", "GMT-0", "GMT0", "Greenwich"})


def _fixed_offset(tz: tzinfo) -> bool:
    if isinstance(tz, timezone):
        return True
    key = getattr(tz, "key", None)
    return isinstance(key, str) and (key in FIXED_KEYS or key.startswith("Etc/"))


def transitions(tz: tzinfo, lo_ms: int, hi_ms: int) -> list[tuple[int, int]]:
    """[(from_ms, offset_s), ...]: the offset in force from each point on, covering [lo, hi];
    each from_ms is the exact millisecond of the change."""
    if _fixed_offset(tz):
        return [(lo_ms, offset_seconds(tz, lo_ms))]
    out = [(lo_ms, offset_seconds(tz, lo_ms))]
    step = DAY_MS // 4  # no zone changes offset twice within six hours
    t = lo_ms
    while t < hi_ms:
        nxt = min(t + step, hi_ms)
        off = offset_seconds(tz, nxt)
        if off != out[-1][1]:
            a, b = t, nxt  # the change lies in (a, b]
            # To the millisecond: a response or a 15-minute bucket that starts at the change has
            # the new offset (in a zone that changes at local midnight, the old one is another day).
            while b - a > 1:
                mid = (a + b) // 2
                if offset_seconds(tz, mid) == out[-1][1]:
                    a = mid
                else:
                    b = mid
            out.append((b, off))
        t = nxt
    return out


def offset_sql(tz: tzinfo, lo_ms: int, hi_ms: int, column: str = "ts_ms") -> str:
    """A SQL expression giving the zone's UTC offset in seconds for `column`."""
    return offset_case(transitions(tz, lo_ms, hi_ms), column)


def on_the_hour(steps: list[tuple[int, int]]) -> bool:
    """Whether every offset of `transitions` is whole hours and every change falls on the hour:
    then each UTC hour lies within one local day."""
    return all(off % 3600 == 0 for _at, off in steps) and all(at % 3_600_000 == 0 for at, _off in steps[1:])


def offset_case(steps: list[tuple[int, int]], column: str = "ts_ms") -> str:
    """`offset_sql` from the zone's `transitions`."""
    if len(steps) == 1:
        return str(steps[0][1])
    parts = [f"WHEN {column} < {steps[i + 1][0]} THEN {steps[i][1]}" for i in range(len(steps) - 1)]
    return "(CASE " + " ".join(parts) + f" ELSE {steps[-1][1]} END)"


def local_midnight_ms(tz: tzinfo, day: str) -> int:
    """Epoch ms of 00:00 local time on `day` (YYYY-MM-DD) in `tz`."""
    d = datetime.fromisoformat(day)
    return int(d.replace(tzinfo=tz).timestamp() * 1000)


def parse_day_bound(text: str, tz: tzinfo, *, end: bool = False) -> int:
    """`--since/--until` values: YYYY-MM-DD or YYYYMMDD (local days) or full ISO timestamps.

    `end=True` makes a bare date inclusive (the bound is the next local midnight). A value that is
    neither raises ValueError naming it (every command words it the same way).
    """
    try:
        return _day_bound(text, tz, end)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a day (YYYY-MM-DD) or an ISO timestamp (2026-11-22T10:00:00Z)"
        ) from None


def _day_bound(text: str, tz: tzinfo, end: bool) -> int:
    t = text.strip()
    if len(t) == 8 and t.isdigit():
        t = f"{t[:4]}-{t[4:6]}-{t[6:]}"
    if len(t) == 10:
        start = datetime.fromisoformat(t).replace(tzinfo=tz)
        if end:
            start = (start.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=tz)
        return int(start.timestamp() * 1000)
    dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return int(dt.timestamp() * 1000)
