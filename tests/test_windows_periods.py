"""Week and month windows: DST in Europe/Berlin and America/New_York, official anchors, totals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchooks.records import RateLimitSnapshot, UsageRecord
from cchooks.windows import local_week_bounds, month_bounds, month_window, week_bounds, week_window

_ids = itertools.count()


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def rec(ts: str, inp: int = 100, out: int = 50) -> UsageRecord:
    n = next(_ids)
    return UsageRecord(f"m{n}", f"r{n}", "s1", ms(ts), "claude-sonnet-4", inp, out)


def cost_of(r: UsageRecord) -> float | None:
    return (r.input_tokens * 3 + r.output_tokens * 15) / 1_000_000


H = 3_600_000


@pytest.mark.parametrize(
    ("tz", "now", "weekday", "hour", "start", "end", "hours"),
    [
        # Berlin, spring forward on Sun 2024-03-31: Monday 00:00 CET -> Monday 00:00 CEST
        ("Europe/Berlin", "2024-03-31T12:00:00Z", 0, 0, "2024-03-24T23:00:00Z", "2024-03-31T22:00:00Z", 167),
        # Berlin, fall back on Sun 2024-10-27
        ("Europe/Berlin", "2024-10-27T12:00:00Z", 0, 0, "2024-10-20T22:00:00Z", "2024-10-27T23:00:00Z", 169),
        # an ordinary Berlin week, reset Friday 18:00 local (CEST = UTC+2)
        ("Europe/Berlin", "2024-06-12T08:00:00Z", 4, 18, "2024-06-07T16:00:00Z", "2024-06-14T16:00:00Z", 168),
        # New York: Sunday 02:00 does not exist on 2024-03-10; fold=0 gives 03:00 EDT (07:00Z)
        (
            "America/New_York",
            "2024-03-12T12:00:00Z",
            6,
            2,
            "2024-03-10T07:00:00Z",
            "2024-03-17T06:00:00Z",
            167,
        ),
        # New York, fall back on Sun 2024-11-03: Monday 09:00 EDT -> Monday 09:00 EST
        (
            "America/New_York",
            "2024-11-02T12:00:00Z",
            0,
            9,
            "2024-10-28T13:00:00Z",
            "2024-11-04T14:00:00Z",
            169,
        ),
        # reset later today: the week began last Monday 09:00 (now is Monday 08:00 EST)
        (
            "America/New_York",
            "2024-12-02T13:00:00Z",
            0,
            9,
            "2024-11-25T14:00:00Z",
            "2024-12-02T14:00:00Z",
            168,
        ),
        # exactly at the reset: a new week starts
        (
            "America/New_York",
            "2024-12-02T14:00:00Z",
            0,
            9,
            "2024-12-02T14:00:00Z",
            "2024-12-09T14:00:00Z",
            168,
        ),
        ("UTC", "2024-01-03T00:00:00Z", 0, 0, "2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z", 168),
    ],
)
def test_configured_week(
    tz: str, now: str, weekday: int, hour: int, start: str, end: str, hours: int
) -> None:
    s, e = local_week_bounds(ms(now), tz, weekday, hour)
    assert (s, e) == (ms(start), ms(end))
    assert (e - s) / H == hours
    s2, e2, source, reset = week_bounds(
        ms(now), ZoneInfo(tz) if tz != "UTC" else tz, [], reset_weekday=weekday, reset_hour=hour
    )
    assert (s2, e2, source, reset) == (s, e, "configured", None)


def test_bad_weekday_or_hour() -> None:
    with pytest.raises(ValueError):
        local_week_bounds(0, "UTC", 7, 0)
    with pytest.raises(ValueError):
        local_week_bounds(0, "UTC", 0, 24)


def seven_day(observed: str, resets: str, pct: float = 20.0) -> RateLimitSnapshot:
    return RateLimitSnapshot(ms(observed), "seven_day", pct, ms(resets))


def test_official_week_anchor() -> None:
    snaps = [seven_day("2024-03-30T10:00:00Z", "2024-04-03T15:00:00Z")]
    # the official window holds now; the configured Berlin weekday is ignored, DST or not
    s, e, source, reset = week_bounds(ms("2024-04-01T00:00:00Z"), "Europe/Berlin", snaps)
    assert (s, e, source, reset) == (ms("2024-03-27T15:00:00Z"), ms("2024-04-03T15:00:00Z"), "official", e)
    # the snapshot is stale (its reset has passed): carried forward by 168 h, now an estimate
    s, e, source, _ = week_bounds(ms("2024-04-05T00:00:00Z"), "Europe/Berlin", snaps)
    assert (s, e, source) == (ms("2024-04-03T15:00:00Z"), ms("2024-04-10T15:00:00Z"), "estimated")
    s, e, source, _ = week_bounds(ms("2024-04-17T15:00:00Z"), "Europe/Berlin", snaps)
    assert (s, e, source) == (ms("2024-04-17T15:00:00Z"), ms("2024-04-24T15:00:00Z"), "estimated")


def test_latest_official_week_snapshot_wins() -> None:
    snaps = [
        seven_day("2024-03-30T10:00:00Z", "2024-04-03T15:00:00Z"),
        seven_day("2024-03-31T10:00:00Z", "2024-04-04T09:00:00Z"),  # the reset moved
        RateLimitSnapshot(ms("2024-03-31T11:00:00Z"), "seven_day", 30.0, None),  # no reset: ignored
        RateLimitSnapshot(ms("2024-03-31T12:00:00Z"), "five_hour", 30.0, ms("2024-03-31T15:00:00Z")),
    ]
    s, e, source, _ = week_bounds(ms("2024-04-01T00:00:00Z"), "UTC", snaps)
    assert (s, e, source) == (ms("2024-03-28T09:00:00Z"), ms("2024-04-04T09:00:00Z"), "official")


def test_week_window_totals() -> None:
    rs = [
        rec("2024-03-24T22:59:59Z"),  # Sunday 23:59:59 CET: previous week
        rec("2024-03-24T23:00:00Z", 10, 1),  # Monday 00:00 CET: first instant of the week
        rec("2024-03-31T21:59:59Z", 20, 2),  # Sunday 23:59:59 CEST: last instant
        rec("2024-03-31T22:00:00Z"),  # next week
    ]
    w = week_window(rs, ms("2024-03-28T12:00:00Z"), "Europe/Berlin", cost_of)
    assert (w.kind, w.source, w.totals.responses) == ("week", "configured", 2)
    assert (w.totals.input_tokens, w.totals.output_tokens) == (30, 3)
    assert w.totals.cost_usd == pytest.approx((30 * 3 + 3 * 15) / 1e6)
    assert w.to_dict(ZoneInfo("Europe/Berlin"))["hours"] == 167


@pytest.mark.parametrize(
    ("tz", "now", "start", "end"),
    [
        # 1 April 00:30 CEST, then 31 March 23:30 CEST
        ("Europe/Berlin", "2024-03-31T22:30:00Z", "2024-03-31T22:00:00Z", "2024-04-30T22:00:00Z"),
        ("Europe/Berlin", "2024-03-31T21:30:00Z", "2024-02-29T23:00:00Z", "2024-03-31T22:00:00Z"),
        ("Europe/Berlin", "2024-12-15T00:00:00Z", "2024-11-30T23:00:00Z", "2024-12-31T23:00:00Z"),
        # 31 October 23:00 EDT
        ("America/New_York", "2024-11-01T03:00:00Z", "2024-10-01T04:00:00Z", "2024-11-01T04:00:00Z"),
        ("America/New_York", "2024-11-15T00:00:00Z", "2024-11-01T04:00:00Z", "2024-12-01T05:00:00Z"),
        ("UTC", "2024-02-29T12:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"),
    ],
)
def test_month(tz: str, now: str, start: str, end: str) -> None:
    assert month_bounds(ms(now), tz) == (ms(start), ms(end))


def test_month_window_totals() -> None:
    rs = [rec("2024-03-31T21:59:59Z"), rec("2024-03-31T22:00:00Z", 7, 7), rec("2024-04-30T22:00:00Z")]
    w = month_window(rs, ms("2024-04-10T00:00:00Z"), "Europe/Berlin", cost_of)
    assert (w.kind, w.source, w.totals.responses, w.totals.input_tokens) == ("month", "configured", 1, 7)


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "America/St_Johns"]


@settings(max_examples=400, deadline=None)
@given(
    st.integers(ms("2020-01-01T00:00:00Z"), ms("2030-01-01T00:00:00Z")),
    st.sampled_from(ZONES),
    st.integers(0, 6),
    st.integers(0, 23),
)
def test_week_properties(now: int, tz: str, weekday: int, hour: int) -> None:
    s, e = local_week_bounds(now, tz, weekday, hour)
    assert s <= now < e
    assert (e - s) / H in (167, 168, 169)
    zone = ZoneInfo(tz) if tz != "UTC" else UTC
    local = datetime.fromtimestamp(s / 1000, zone)
    nominal = datetime(local.year, local.month, local.day, hour, tzinfo=zone)
    if nominal.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == nominal.replace(tzinfo=None):
        # the local reset hour exists that day: the week starts exactly there
        assert (local.weekday(), local.hour, local.minute) == (weekday, hour, 0)
    # the next week starts where this one ends
    s2, e2 = local_week_bounds(e, tz, weekday, hour)
    assert s2 == e and e2 > e


@settings(max_examples=300, deadline=None)
@given(st.integers(ms("2020-01-01T00:00:00Z"), ms("2030-01-01T00:00:00Z")), st.sampled_from(ZONES))
def test_month_properties(now: int, tz: str) -> None:
    s, e = month_bounds(now, tz)
    assert s <= now < e
    zone = ZoneInfo(tz) if tz != "UTC" else UTC
    first = datetime.fromtimestamp(s / 1000, zone)
    assert (first.day, first.hour, first.minute) == (1, 0, 0)
    assert 28 * 24 - 1 <= (e - s) / H <= 31 * 24 + 1
    assert month_bounds(e, tz)[0] == e
