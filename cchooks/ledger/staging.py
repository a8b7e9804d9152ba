"""A parallel backfill's rows, handed from the parse processes to the writer as SQLite files.

Each parse process writes the rows of a task (`record_row` tuples, in the order it read them)
into a small SQLite file of its own, `Stage`: binding twenty-odd values a row is done there, in
parallel, and the writer neither unpickles the rows nor binds them. The writer then upserts
the rows of a batch's stage files with one `INSERT … SELECT … ORDER BY rowid ON CONFLICT …` per
file (the same conflict rule as `Ledger.upsert_rows`), all in the transaction that saves the read
positions, exactly as before: the files are only transport, and crash safety is that of the ledger's own
transaction. A stage file is deleted once merged; the directory (system temp) goes with the backfill.

Order matters where copies of one response meet: they are applied in the order they were read
(stage by stage, and within a stage file, which a parse process writes in key order with a
stable sort, row by row), as the in-memory path's stable sort does.
"""

from __future__ import annotations

import os

from cchooks.ledger.store import _COLUMNS, _VALUES, NULLABLE_TEXT, UPSERT_CONFLICT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.ledger.store import Ledger

MAX_STAGES = 8  # stage files merged per transaction (SQLite attaches at most 10 databases)
# Rows keep '' for a missing text (see `store.record_row`); a stage stores NULL, as the ledger
# does, so the parse process (one NULLIF per column, in SQLite) spares the writer's merge that work.
_INSERT = f"INSERT INTO r ({_COLUMNS}) VALUES ({_VALUES})"
# A stage's rows as `record_row` makes them, for the writer's in-memory path (`read_stage`).
_AS_ROWS = ", ".join(f"coalesce({c}, '')" if c in NULLABLE_TEXT else c for c in (x.strip() for x in _COLUMNS.split(",")))


class Stage:
    """A stage file: where it is, how many rows it holds, and whether every row has a message id."""

    __slots__ = ("path", "rows", "all_named")

    def __init__(self, path: str, rows: int, all_named: bool) -> None:
        self.path = path
        self.rows = rows
        self.all_named = all_named

    def __reduce__(self) -> tuple[type[Stage], tuple[str, int, bool]]:
        return Stage, (self.path, self.rows, self.all_named)


STAGE_DIR_PREFIX = "cchooks-stage-"


def make_stage_dir() -> str:
    """A new directory for one backfill's stage files (in the system temp dir, named after this
    process); those a killed backfill left behind are removed first."""
    import tempfile

    _remove_orphans(tempfile.gettempdir())
    return tempfile.mkdtemp(prefix=f"{STAGE_DIR_PREFIX}{os.getpid()}-")


def _remove_orphans(tmp: str) -> None:
    import shutil

    try:
        names = os.listdir(tmp)
    except OSError:
        return
    for name in names:
        if not name.startswith(STAGE_DIR_PREFIX):
            continue
        pid = name[len(STAGE_DIR_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill there would end the process: leave old stages to the temp dir's cleaner
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, not ours to signal
        return True
    return True


def write_stage(directory: str, name: str, rows: list[tuple[object, ...]]) -> Stage:
    """Write `rows` into a new stage file (runs in a parse process). No journal, no sync: a
    stage that a crash interrupts is never merged (its task's positions are not committed)."""
    import sqlite3

    path = os.path.join(directory, name)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute(f"CREATE TABLE r ({_COLUMNS})")
        conn.execute("BEGIN")
        # In key order (a stable sort: copies of one response keep theirs), so the writer reads
        # the file in rowid order and needs no sort of its own.
        ordered: list[tuple[object, ...]] = sorted(rows, key=_key)
        conn.executemany(_INSERT, ordered)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return Stage(path, len(rows), all(r[1] for r in rows))


def _key(row: tuple[object, ...]) -> str:
    return row[0]  # type: ignore[return-value]


def read_stage(stage: Stage) -> list[tuple[object, ...]]:
    """The rows of a stage file, in the order they were written (for the writer's slow path)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{stage.path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT {_AS_ROWS} FROM r ORDER BY rowid").fetchall()
    finally:
        conn.close()


def merge_stages(ledger: Ledger, stages: list[Stage], positions: list[tuple[object, ...]], save_position: str) -> None:
    """Upsert every row of `stages` (at most MAX_STAGES) and save `positions`, in one transaction."""
    names = [f"stage{i}" for i in range(len(stages))]
    conn = ledger.conn
    attached: list[str] = []
    try:
        for name, stage in zip(names, stages, strict=True):
            conn.execute("ATTACH DATABASE ? AS " + name, (stage.path,))  # not allowed inside a transaction
            attached.append(name)
        with ledger.write():
            ledger.mark_rollup_stale_if_deferred()
            # Stage by stage, each in key order: copies of one response meet in the order they
            # were read (stage, then row), as with the in-memory path's stable sort.
            for name in names:
                conn.execute(
                    f"INSERT INTO responses ({_COLUMNS}) SELECT {_COLUMNS} FROM {name}.r"
                    f" WHERE true ORDER BY rowid {UPSERT_CONFLICT}"
                )
            conn.executemany(save_position, positions)
    finally:
        for name in attached:
            conn.execute("DETACH DATABASE " + name)
    remove_stages(stages)


def remove_stages(stages: list[Stage]) -> None:
    for stage in stages:
        try:  # noqa: SIM105 - a stage file is only transport
            os.unlink(stage.path)
        except OSError:
            pass
