"""Rebuild a damaged ledger: keep the old file, salvage every readable row, re-read transcripts.

SQLite can lose pages to a dying disk, a full disk at the wrong moment or a copy taken while it
was written. `recover_ledger` moves the damaged file (and its -wal/-shm) aside under a dated
name, creates a fresh ledger, and copies every row that can still be read from each table into
it, bisecting rowid ranges around unreadable pages so one bad page costs only its own rows. Read
positions (`files`) are not copied, so the next ingest reads every transcript still on disk
again; the ledger's exactly-once keys merge those responses with the salvaged ones. Responses
whose transcripts Claude Code has already deleted survive only as far as their rows were
readable: the summary says how many rows could not be read.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field

from cchooks.ledger.derived import DERIVED_TABLES, REBUILD_ROLLUP
from cchooks.ledger.store import Ledger

# Range reads per table before the rest of an unreadable stretch is given up on.
MAX_PROBES = 250_000

# Never copied: read positions (re-reading is how lost rows come back) and derived tables.
_SKIP = {"files", *DERIVED_TABLES}


@dataclass(slots=True)
class RecoverResult:
    backup: str
    copied: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)  # rows (or rowid ranges) lost per table
    errors: list[str] = field(default_factory=list)


def quick_check(path: str) -> list[str]:
    """`PRAGMA quick_check` of a ledger file, read-only: [] when it is sound, else the problems."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [str(exc)]
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(20)")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


def recover_ledger(path: str) -> RecoverResult:
    """Move `path` aside, build a fresh ledger there, copy what can be read (see module doc)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    backup = f"{path}.damaged-{stamp}"
    os.replace(path, backup)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.replace(path + suffix, backup + suffix)
    result = RecoverResult(backup)
    old = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        with Ledger.open(path) as new:
            tables = [
                str(r[0])
                for r in new.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            with new.deferred_rollup(), new.write():
                for table in tables:
                    if table in _SKIP:
                        continue
                    _copy_table(old, new.conn, table, result)
                for sql in REBUILD_ROLLUP:
                    new.conn.execute(sql)
                if (new.meta_get("team_claim") or "0").strip() not in ("", "0"):
                    from cchooks.ledger.team_queue import ensure_triggers

                    ensure_triggers(new)  # a team had claimed rows of the old ledger
    finally:
        old.close()
    return result


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")')]


def _copy_table(old: sqlite3.Connection, new: sqlite3.Connection, table: str, result: RecoverResult) -> None:
    try:
        have = set(_columns(old, table))
    except sqlite3.DatabaseError as exc:
        result.errors.append(f"{table}: {exc}")
        return
    cols = [c for c in _columns(new, table) if c in have]
    if not cols:
        return
    names = ", ".join(f'"{c}"' for c in cols)
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({", ".join("?" * len(cols))})'
    try:
        lo, hi = old.execute(f'SELECT min(rowid), max(rowid) FROM "{table}"').fetchone()
    except sqlite3.DatabaseError:
        lo, hi = 0, 1 << 40  # the b-tree's edge is unreadable: probe the whole range
    if lo is None:
        return
    copied = 0
    lost = 0
    probes = MAX_PROBES
    stack = [(int(lo), int(hi))]
    while stack:
        a, b = stack.pop()
        probes -= 1
        try:
            if probes < 0:
                raise sqlite3.DatabaseError("probe budget spent")
            rows = old.execute(f'SELECT {names} FROM "{table}" WHERE rowid BETWEEN ? AND ?', (a, b)).fetchall()
        except sqlite3.DatabaseError:
            if a == b or probes < 0:
                lost += 1  # a row, or (once the budget is spent) a whole range, that cannot be read
            else:
                mid = (a + b) // 2
                stack += [(mid + 1, b), (a, mid)]
            continue
        new.executemany(insert, rows)
        copied += len(rows)
    result.copied[table] = copied
    if lost:
        result.unreadable[table] = lost
