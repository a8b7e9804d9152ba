"""A backfill's writes into the ledger: without the rollups' per-row triggers and, on an empty
ledger, without the secondary indexes of `responses`; both are built once at the end.

Every transaction of the load marks the rollup stale (committed with the data) and dropping the
indexes commits a marker, so readers and a run after a crash (`restore_indexes_if_dropped`,
`Ledger.rebuild_rollup_if_stale`) know to build them again: a `kill -9` at any point loses
nothing and counts nothing twice. Only backfills, `recover` and benchmarks import this.
"""

from __future__ import annotations

import threading

from cchooks.ledger.derived import (
    DROP_RESPONSE_INDEXES,
    DROP_ROLLUP_TRIGGERS,
    FINE_ROLLUP_COLUMNS,
    FINE_ROLLUP_CREATE,
    FINE_ROLLUP_SELECT,
    FROM_FINE_ROLLUP,
    RESPONSE_INDEXES,
)
from cchooks.ledger.store import connect_readonly

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.ledger.store import Ledger


class DeferredRollup:
    """`Ledger.deferred_rollup()`: the load's writes inside it, the rollups and indexes built on leaving."""

    __slots__ = ("ledger", "cold")

    def __init__(self, ledger: Ledger, cold: bool) -> None:
        self.ledger = ledger
        self.cold = cold

    def __enter__(self) -> None:
        ledger = self.ledger
        for sql in DROP_ROLLUP_TRIGGERS:
            ledger.conn.execute(sql)
        ledger._triggers = False
        # Fewer, larger WAL checkpoints while bulk loading (each one syncs the file).
        ledger.conn.execute("PRAGMA wal_autocheckpoint = 16384")
        ledger._rollup_deferred = True
        if self.cold:
            drop_indexes_if_empty(ledger)

    def __exit__(self, *exc: object) -> None:
        ledger = self.ledger
        ledger._rollup_deferred = False
        ledger.create_triggers()
        finish_bulk_load(ledger)
        restore_indexes_if_dropped(ledger)
        ledger.rebuild_rollup_if_stale()
        ledger.conn.execute("PRAGMA wal_autocheckpoint = 1000")
        ledger.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def drop_indexes_if_empty(ledger: Ledger) -> None:
    """Drop the secondary indexes of an empty `responses` table; the drop commits with a
    marker, so whoever opens it next for a backfill (`restore_indexes_if_dropped`) builds
    them again even after a crash. Queries stay correct without them, only slower."""
    with ledger.write():
        if ledger.conn.execute("SELECT 1 FROM responses LIMIT 1").fetchone() is not None:
            return
        for sql in DROP_RESPONSE_INDEXES:
            ledger.conn.execute(sql)
        ledger.meta_set("indexes_dropped", "1")


def restore_indexes_if_dropped(ledger: Ledger) -> None:
    """Build the indexes a backfill dropped and did not build again (it was killed)."""
    if ledger.meta_get("indexes_dropped") is None:
        return
    with ledger.write():
        for sql in RESPONSE_INDEXES:
            ledger.conn.execute(sql)
        ledger.conn.execute("DELETE FROM meta WHERE key = 'indexes_dropped'")


def finish_bulk_load(ledger: Ledger) -> None:
    """The end of a cold backfill: the indexes it skipped and the rollups it deferred, in one
    transaction. The rollups' one expensive step, grouping every response (a read), runs on
    a second connection in a thread while this one builds the indexes (SQLite releases the
    GIL); it reads the state this transaction started from, as no other writer can commit
    before it ends. Anything else (nothing dropped, or nothing stale) is left as it was."""
    if ledger.meta_get("indexes_dropped") is None or not ledger.rollup_stale():
        return
    fine: list[list[tuple[object, ...]]] = []
    failed: list[BaseException] = []

    def group() -> None:
        try:
            reader = connect_readonly(ledger.path_str)
            try:
                fine.append(reader.execute(FINE_ROLLUP_SELECT).fetchall())
            finally:
                reader.close()
        except BaseException as exc:  # reported below, in this thread
            failed.append(exc)

    with ledger.write():
        if ledger.meta_get("indexes_dropped") is None or not ledger.rollup_stale():
            return
        thread = threading.Thread(target=group, name="cchooks-rollup", daemon=True)
        thread.start()
        try:
            for sql in RESPONSE_INDEXES:
                ledger.conn.execute(sql)
            ledger.conn.execute("DELETE FROM meta WHERE key = 'indexes_dropped'")
        finally:
            thread.join()
        if failed:
            raise failed[0]
        for sql in FINE_ROLLUP_CREATE:
            ledger.conn.execute(sql)
        marks = ", ".join("?" * len(FINE_ROLLUP_COLUMNS.split(",")))
        ledger.conn.executemany(f"INSERT INTO temp.fine_rollup VALUES ({marks})", fine[0])
        for sql in FROM_FINE_ROLLUP:
            ledger.conn.execute(sql)
        ledger.conn.execute("DELETE FROM meta WHERE key = 'rollup_stale'")
