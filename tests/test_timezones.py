"""Local days for SQLite: the offsets in force over a range, and the zones known never to change."""

from __future__ import annotations

import functools
from datetime import timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import given, settings
from hypothesis import strategies as st

from cchooks.timezones import _fixed_offset, offset_seconds, transitions

DAY_MS = 86_400_000
LO = 1_735_689_600_000  # 2025-01-01T00:00:00Z
HI = LO + 2 * 365 * DAY_MS


def _probe(tz: ZoneInfo | timezone, lo: int, hi: int, step: int = DAY_MS // 4) -> set[int]:
    return {offset_seconds(tz, ms) for ms in range(lo, hi, step)}


def test_zones_taken_as_fixed_have_one_offset() -> None:
    fixed = [k for k in available_timezones() if _fixed_offset(ZoneInfo(k))]
    assert {"UTC", "Etc/UTC", "Etc/GMT-14", "GMT"} <= set(fixed)
    assert not {"Europe/London", "Africa/Casablanca", "Asia/Kolkata"} & set(fixed)  # not by name alone
    for key in fixed:
        zone = ZoneInfo(key)
        # 1900-2100 a week apart, and the ledger's years every six hours
        assert len(_probe(zone, -2_208_988_800_000, 4_102_444_800_000, 7 * DAY_MS) | _probe(zone, LO, HI)) == 1, key
        assert transitions(zone, LO, HI) == [(LO, offset_seconds(zone, LO))]
    assert transitions(timezone(timedelta(hours=-3)), LO, HI) == [(LO, -3 * 3600)]


def test_a_zone_with_daylight_saving_gets_every_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    steps = transitions(berlin, LO, HI)
    assert [off for _, off in steps] == [3600, 7200, 3600, 7200, 3600]
    for (start, off), nxt in zip(steps, [*steps[1:], (HI, None)], strict=True):
        assert _probe(berlin, start, nxt[0]) == {off}


# Zones that change their offset at local midnight: a response (or a 15-minute bucket) that starts
# exactly at the change belongs to the day the new offset gives; the old offset names another day.
_MIDNIGHT_ZONES = ["America/Santiago", "Africa/Cairo", "America/Havana", "America/Asuncion", "Asia/Beirut"]


@functools.cache
def _changes(zone: str) -> list[int]:
    """Every instant of 2024-2025 where `zone` changes offset, found hour by hour (they are on the hour)."""
    tz = ZoneInfo(zone)
    start = 1_704_067_200_000  # 2024-01-01T00:00Z
    out = []
    for h in range(2 * 366 * 24):
        t = start + h * 3_600_000
        if offset_seconds(tz, t - 1) != offset_seconds(tz, t):
            out.append(t)
    return out


@given(zone=st.sampled_from(_MIDNIGHT_ZONES), pick=st.integers(0, 10), lo_back=st.integers(1, 400 * 86_400_000),
       hi_on=st.integers(1, 400 * 86_400_000))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_each_change_is_found_to_the_millisecond(zone: str, pick: int, lo_back: int, hi_on: int) -> None:
    changes = _changes(zone)
    t = changes[pick % len(changes)]
    found = [at for at, _off in transitions(ZoneInfo(zone), t - lo_back, t + hi_on)[1:]]
    assert t in found


def test_a_report_puts_a_response_at_a_midnight_change_on_the_new_offsets_day(tmp_path: Path) -> None:
    from datetime import datetime

    from cchooks.ledger import Ledger, queries
    from cchooks.records import UsageRecord

    for zone in _MIDNIGHT_ZONES:
        tz = ZoneInfo(zone)
        changes = _changes(zone)
        recs = [UsageRecord(f"msg_{i}", "", "s1", t, "m", 1, 1) for i, t in enumerate(changes)]
        recs += [UsageRecord(f"msg_early_{i}", "", "s1", t - 1, "m", 1, 1) for i, t in enumerate(changes)]
        want: dict[str, int] = {}
        for r in recs:
            day = datetime.fromtimestamp(r.timestamp_ms / 1000, tz).date().isoformat()
            want[day] = want.get(day, 0) + 1
        path = tmp_path / f"{zone.replace('/', '_')}.db"
        with Ledger.open(path) as led:
            with led.write():
                led.upsert_records(recs)
            rolled = queries.group_sums(led, "daily", tz)  # the 15-minute rollup
            direct = queries.group_sums(led, "daily", tz, session_id="s1")  # the responses
        for rows in (rolled, direct):
            got: dict[str, int] = {}
            for key, _model, _lc, t in rows:
                got[key] = got.get(key, 0) + t.responses
            assert got == want, zone


_PERIOD_ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Asia/Kathmandu",
                 "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham"]  # fmt: skip
# Zones whose offsets since 1970 are all whole hours changing on the hour: the hourly rollup
# answers for them; and zones whose offsets since 1970 are never whole hours: the 15-minute one
# answers. (Lord Howe is in neither: +10:00 until 1981, then +10:30/+11:00.)
_ROLLUP_NOT_USED = {"UTC": "rollup_15m", "Europe/Berlin": "rollup_15m", "America/Los_Angeles": "rollup_15m",
                    "America/Santiago": "rollup_15m", "Asia/Kolkata": "rollup_1h", "Asia/Kathmandu": "rollup_1h",
                    "Pacific/Chatham": "rollup_1h"}  # fmt: skip


def _period_key(group: str, ms: int, tz: ZoneInfo) -> str:
    from datetime import datetime

    day = datetime.fromtimestamp(ms / 1000, tz).date()
    if group == "daily":
        return day.isoformat()
    if group == "weekly":
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.isoformat()[:7]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(0, 3 * DAY_MS),  # the epoch's first days: local days before 1970 west of UTC
            st.integers(LO - 400 * DAY_MS, HI),
        ),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from(_PERIOD_ZONES),
)
def test_period_reports_from_the_rollup_are_python_s_local_days(times: list[int], zone: str) -> None:
    """Daily, weekly and monthly sums from the rollups and from the responses both put every
    response on Python's local day, week and month. The rollup that must not answer (the
    15-minute one in a whole-hour zone, the hourly one in a zone of 30- or 45-minute offsets) is
    falsified while the report runs, so the right one is shown to answer."""
    import tempfile

    from cchooks.ledger import Ledger, queries
    from cchooks.records import UsageRecord

    tz = ZoneInfo(zone)
    recs = [UsageRecord(f"msg_{i}", "", "s1", t, "m", 1, 10 + i) for i, t in enumerate(times)]
    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "l.db") as led:
        with led.write():
            led.upsert_records(recs)
        for group in ("daily", "weekly", "monthly"):
            want: dict[str, tuple[int, int]] = {}
            for r in recs:
                k = _period_key(group, r.timestamp_ms, tz)
                n, out = want.get(k, (0, 0))
                want[k] = (n + 1, out + r.output_tokens)
            led.conn.execute("BEGIN IMMEDIATE")
            if zone in _ROLLUP_NOT_USED:
                led.conn.execute(
                    f"UPDATE {_ROLLUP_NOT_USED[zone]} SET output_tokens = output_tokens + 1000, responses = responses + 1"
                )
            rolled = queries.group_sums(led, group, tz)  # a rollup
            led.conn.execute("ROLLBACK")
            direct = queries.group_sums(led, group, tz, session_id="s1")  # the responses
            for rows in (rolled, direct):
                got: dict[str, tuple[int, int]] = {}
                for key, _model, _lc, t in rows:
                    n, out = got.get(key, (0, 0))
                    got[key] = (n + t.responses, out + t.output_tokens)
                assert got == want, (zone, group)
            assert [r[0] for r in rolled] == sorted(r[0] for r in rolled)
