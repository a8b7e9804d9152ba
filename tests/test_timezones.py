"""Local days for SQLite: the offsets in force over a range, and the zones known never to change."""

from __future__ import annotations

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

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
