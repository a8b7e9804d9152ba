"""The tables derived from `responses`, read in a fixed order, and the same rebuilt from the
responses: what tests of the triggers, the hot paths' writes and the migrations compare."""

from __future__ import annotations

import sqlite3

from cchooks.ledger.derived import REBUILD_ROLLUP

# Each derived table with its key columns (ORDER BY), every one with a `responses` count.
DERIVED = (("rollup_15m", "1, 2, 3"), ("rollup_1h", "1, 2, 3"), ("source_totals", "1, 2, 3"),
           ("usage_dims", "1, 2, 3, 4, 5"))  # fmt: skip


def derived(conn: sqlite3.Connection) -> list[list[tuple[object, ...]]]:
    """Their rows that count something."""
    return [conn.execute(f"SELECT * FROM {t} WHERE responses > 0 ORDER BY {o}").fetchall() for t, o in DERIVED]


def rebuilt(conn: sqlite3.Connection) -> list[list[tuple[object, ...]]]:
    """`derived` as a rebuild from the responses makes them (in a transaction rolled back after)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql in REBUILD_ROLLUP:
            conn.execute(sql)
        return derived(conn)
    finally:
        conn.execute("ROLLBACK")
