"""The team-outbox triggers exist only once a team sync has claimed rows: before, they could not
fire, and every insert would still pay for them (about half of a backfill's merge)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cchooks.ledger import Ledger, team_queue
from cchooks.ledger.recover import recover_ledger
from cchooks.records import UsageRecord

TRIGGERS = {"team_outbox_update", "team_outbox_delete", "team_outbox_insert"}


def _triggers(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")} & TRIGGERS


def _rec(n: int, out: int) -> UsageRecord:
    return UsageRecord(f"msg_{n}", f"req_{n}", "s1", 1_795_000_000_000 + n, "claude-sonnet-4-5", 10, out, 0, 0, 0)


def test_triggers_come_with_the_first_claim_and_queue_changes_of_claimed_rows(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger.open(path) as led, led.write():
        led.upsert_records([_rec(1, 5), _rec(2, 5)])
    assert not _triggers(path)  # no team: nothing to queue, nothing paid per insert
    with Ledger.open(path) as led:
        batch = team_queue.claim_batch(led, 10)
        assert len(batch.rows) == 2
        assert _triggers(path) == TRIGGERS
        with led.write():
            led.upsert_records([_rec(1, 9)])  # a claimed row becomes more complete
        queued = [r[0] for r in led.conn.execute("SELECT rkey FROM team_outbox")]
    assert queued == ["m:msg_1"]


def test_recovery_keeps_the_triggers_of_a_ledger_a_team_has_claimed(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger.open(path) as led:
        with led.write():
            led.upsert_records([_rec(1, 5)])
        team_queue.claim_batch(led, 10)
    recover_ledger(str(path))
    assert _triggers(path) == TRIGGERS
    fresh = tmp_path / "fresh.db"
    with Ledger.open(fresh) as led, led.write():
        led.upsert_records([_rec(1, 5)])
    recover_ledger(str(fresh))
    assert not _triggers(fresh)


def test_a_lazily_opened_ledger_refuses_a_write_its_rollup_would_miss(tmp_path: Path) -> None:
    """Views and the statusline open without the rollup's TEMP triggers and make them in write();
    writing `responses` outside write() there is a bug that would leave the rollup behind."""
    path = tmp_path / "l.db"
    with Ledger.open(path, lazy_triggers=True) as led:
        with pytest.raises(RuntimeError, match="outside Ledger.write"):
            led.upsert_records([_rec(1, 5)])
        with led.write():
            led.upsert_records([_rec(1, 5), _rec(2, 7)])
        rollup = led.conn.execute("SELECT sum(responses), sum(output_tokens) FROM usage_rollup").fetchone()
    assert tuple(rollup) == (2, 12)
