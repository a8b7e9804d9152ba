"""Migration 13: the hourly rollup beside the 15-minute one, renamed `rollup_15m` with a view of its
old name, so that a process of an older cchooks still running (its TEMP triggers write
`usage_rollup`) fails to write instead of leaving `rollup_1h` behind."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cchooks.ledger import Ledger, queries
from cchooks.ledger.derived import (
    _DIMS_GROUP,
    ROLLUP_BUCKET_MS,
    _add_new,
    _period_group,
    _source_add_new,
    rebuild_rollup,
)
from cchooks.ledger.schema import MIGRATIONS
from cchooks.records import UsageRecord
from tests.derived_tables import derived, rebuilt

T0 = 1_790_000_000_000  # 2026-09-21T13:33:20Z
_COLS = ("rkey, message_id, request_id, session_id, ts_ms, model, input_tokens, output_tokens, cache_5m_tokens,"
         " cache_1h_tokens, cache_read_tokens")  # fmt: skip


def _row(n: int) -> tuple[object, ...]:
    # Responses 20 minutes apart: several to an hour, some hours with one 15-minute bucket, some with two.
    return (f"m:msg_{n}", f"msg_{n}", f"req_{n}", f"s{n % 2}", T0 + n * 1_200_000, "claude-sonnet-4-5",
            10 + n, 20 + n, 3, 1, 100 + n)  # fmt: skip


def _old_ledger(path: Path, rows: int) -> None:
    """A ledger as cchooks left it before migration 13, with `rows` responses and its rollups."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for m in MIGRATIONS[:12]:
        m(db)
    db.execute("PRAGMA user_version = 12")
    db.executemany(f"INSERT INTO responses ({_COLS}) VALUES ({','.join('?' * 11)})", [_row(n) for n in range(rows)])
    for sql in rebuild_rollup("usage_rollup", hour=False):  # the derived tables by their names of then
        db.execute(sql)
    db.close()


def test_an_older_ledger_gets_the_hourly_rollup_and_keeps_its_old_name_for_reading(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _old_ledger(path, 40)
    with Ledger.open(path) as led:
        assert led.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 13
        kinds = dict(led.conn.execute("SELECT name, type FROM sqlite_master WHERE name LIKE '%rollup%'").fetchall())
        assert kinds["usage_rollup"] == "view" and kinds["rollup_15m"] == kinds["rollup_1h"] == "table"
        assert derived(led.conn) == rebuilt(led.conn)
        hours = led.conn.execute("SELECT count(*) FROM rollup_1h").fetchone()[0]
        quarters = led.conn.execute("SELECT count(*) FROM usage_rollup").fetchone()[0]
        assert 0 < hours < quarters
        # New responses keep both exact, by the triggers and by the hot paths' way.
        led.upsert_records([UsageRecord("msg_new", "req_new", "s9", T0 + 5, "claude-sonnet-4-5", 1, 2)])
    with Ledger.open(path, lazy_triggers=True) as led:
        with led.write(lazy=True):
            led.upsert_records([UsageRecord("msg_hot", "req_hot", "s9", T0 + 7, "claude-sonnet-4-5", 1, 2)])
        assert derived(led.conn) == rebuilt(led.conn)


def test_a_process_of_an_older_cchooks_fails_to_write_instead_of_leaving_the_hourly_rollup_behind(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    _old_ledger(path, 10)
    # The older process: its connection open before the upgrade, with its TEMP trigger and the
    # statement its hot path adds a stored response with, both writing `usage_rollup`.
    old = sqlite3.connect(path, isolation_level=None)
    group = _period_group("usage_rollup", ROLLUP_BUCKET_MS)
    trigger = (f"CREATE TEMP TRIGGER old_rollup AFTER INSERT ON main.responses BEGIN {_add_new(*group)}"
               f" {_add_new(*_DIMS_GROUP)} {_source_add_new()} END")  # fmt: skip
    old.execute(trigger)
    old.execute("BEGIN IMMEDIATE")
    old.execute(f"INSERT INTO responses ({_COLS}) VALUES ({','.join('?' * 11)})", _row(100))
    old.execute("COMMIT")  # before the upgrade it writes as it always did
    old.execute("DROP TRIGGER temp.old_rollup")
    with Ledger.open(path) as led:  # the upgraded cchooks migrates
        before = derived(led.conn)
    old.execute(trigger)
    for stored in (False, True):
        old.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="usage_rollup because it is a view"):
            if stored:
                old.execute("DROP TRIGGER temp.old_rollup")
                old.execute(f"INSERT INTO responses ({_COLS}) VALUES ({','.join('?' * 11)})", _row(102))
                old.execute(_add_new(*group, stored=True), ("m:msg_102",))
            else:
                old.execute(f"INSERT INTO responses ({_COLS}) VALUES ({','.join('?' * 11)})", _row(101))
        old.execute("ROLLBACK")
    # It still reads through the view.
    assert old.execute("SELECT sum(responses) FROM usage_rollup").fetchone()[0] == 11
    old.close()
    with Ledger.open(path) as led:
        assert led.conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 11
        assert derived(led.conn) == before == rebuilt(led.conn)


def test_an_older_ledger_opened_read_only_reports_from_its_15_minute_rollup(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _old_ledger(path, 30)
    tz = ZoneInfo("Europe/Berlin")
    with Ledger.open(path, readonly=True) as led:
        old = queries.group_sums(led, "daily", tz)
        assert led.conn.execute("PRAGMA user_version").fetchone()[0] == 12
    with Ledger.open(path) as led:
        new = queries.group_sums(led, "daily", tz)  # migrated: from the hourly rollup
    assert old == new
    assert sum(t.responses for *_k, t in new) == 30


def test_a_ledger_whose_version_was_wound_back_opens_again(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    _old_ledger(path, 12)
    Ledger.open(path).close()
    for version in (4, 9, 12):
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version = {version}")
        db.commit()
        db.close()
        with Ledger.open(path) as led:
            assert led.conn.execute("PRAGMA user_version").fetchone()[0] == 13
            assert derived(led.conn) == rebuilt(led.conn)


def test_bounds_off_the_hour_read_the_15_minute_rollup(tmp_path: Path) -> None:
    """A period starting at a quarter past: the hourly rollup cannot answer it (falsified here to
    show it does not), the 15-minute one can."""
    path = tmp_path / "l.sqlite3"
    _old_ledger(path, 30)
    tz = ZoneInfo("UTC")
    since = (T0 // 3_600_000 + 1) * 3_600_000 + ROLLUP_BUCKET_MS
    with Ledger.open(path) as led:
        led.conn.execute("BEGIN IMMEDIATE")
        led.conn.execute("UPDATE rollup_1h SET output_tokens = output_tokens + 1000")
        rolled = queries.group_sums(led, "daily", tz, since_ms=since)
        led.conn.execute("ROLLBACK")
        want = sum(int(r[7]) for r in (_row(n) for n in range(30)) if int(r[4]) >= since)  # type: ignore[call-overload]
    assert sum(t.output_tokens for *_k, t in rolled) == want


class _HalfHourFromLateEvening(tzinfo):
    """+01:00 until CHANGE (22:45 UTC, off the hour), +01:30 after: local 23:45 jumps to 00:15."""

    CHANGE = 1_790_030_700_000  # 2026-09-21T22:45:00Z
    AFTER = datetime(2026, 9, 22, 0, 15)  # the first local time of the new offset

    def utcoffset(self, dt: datetime | None) -> timedelta:
        late = dt is not None and dt.replace(tzinfo=None) >= self.AFTER
        return timedelta(hours=1, minutes=30) if late else timedelta(hours=1)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def fromutc(self, dt: datetime) -> datetime:
        ms = int(dt.replace(tzinfo=UTC).timestamp() * 1000)
        return dt + (timedelta(hours=1, minutes=30) if ms >= self.CHANGE else timedelta(hours=1))


def test_a_change_off_the_hour_inside_the_last_hour_reads_the_15_minute_rollup(tmp_path: Path) -> None:
    """The period's last hour holds a change to a half-hour offset: its responses after the change
    are on the next local day, which only the 15-minute rollup can tell."""
    tz = _HalfHourFromLateEvening()
    change = _HalfHourFromLateEvening.CHANGE
    times = [change - 3_600_000, change - 5 * 60_000, change + 5 * 60_000]  # 21:45, 22:40, 22:50 UTC
    recs = [UsageRecord(f"msg_{i}", "", "s1", t, "m", 1, 1) for i, t in enumerate(times)]
    want: dict[str, int] = {}
    for t in times:
        day = datetime.fromtimestamp(t / 1000, tz).date().isoformat()
        want[day] = want.get(day, 0) + 1
    assert len(want) == 2
    with Ledger.open(tmp_path / "l.sqlite3") as led:
        with led.write():
            led.upsert_records(recs)
        got: dict[str, int] = {}
        for key, _model, _lc, t in queries.group_sums(led, "daily", tz):
            got[key] = got.get(key, 0) + t.responses
    assert got == want
