"""The SQLite ledger: connection, migrations, idempotent writes.

Every API response is stored once, keyed by `UsageRecord.key` (its message id). A copy
that names it only by request id (an OTLP event) lands on the row holding that request
id, and a row that was known only by request id is folded into the message's row once a
copy carrying both ids arrives. Writing the same response again (a re-read file, a
fork's copy, a second process) only ever replaces a row with a more complete copy, so
ingesting is idempotent and order-independent.
"""

from __future__ import annotations

import os
import time

from cchooks.ledger.derived import REBUILD_ROLLUP, ROLLUP_ADD_STORED, ROLLUP_TRIGGERS
from cchooks.ledger.driver import sqlite3
from cchooks.records import RateLimitSnapshot, UsageRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from cchooks.ledger.bulk_load import DeferredRollup

BUSY_TIMEOUT_MS = 30_000
# The schema version a migrated ledger has: len(cchooks.ledger.schema.MIGRATIONS) (a test keeps
# them equal). A number here, so that opening an up-to-date ledger (every hook and statusline)
# does not load the migrations.
SCHEMA_VERSION = 13
# The write-ahead log a hot-path process may leave behind (see `Ledger.close`): about seven
# refreshes' new responses. The next process to open the ledger alone reads it back (0.3 ms at most).
LEAVE_WAL_BYTES = 256 << 10
_left_open: list[sqlite3.Connection] = []  # referenced, so no collection closes (and checkpoints) them

_COLUMNS = (
    "rkey, message_id, request_id, session_id, ts_ms, model, input_tokens, output_tokens,"
    " cache_5m_tokens, cache_1h_tokens, cache_read_tokens, web_search_requests, service_tier,"
    " speed, agent_id, agent_type, project, project_dir, source, otlp_cost_usd, host, partial, credit"
)

# A newer copy of a response replaces the stored one only when it is more complete
# (larger output, then larger total). Ids and provenance merge; session and timestamp
# follow the copy with the higher credit (cchooks.records.CREDIT_*), as
# cchooks.parsers.transcript.merged does. SET expressions all see the stored row.
UPSERT_CONFLICT = """
ON CONFLICT(rkey) DO UPDATE SET
    input_tokens = CASE WHEN {better} THEN excluded.input_tokens ELSE input_tokens END,
    output_tokens = CASE WHEN {better} THEN excluded.output_tokens ELSE output_tokens END,
    cache_5m_tokens = CASE WHEN {split_from_new} THEN excluded.cache_5m_tokens ELSE cache_5m_tokens END,
    cache_1h_tokens = CASE WHEN {split_from_new} THEN excluded.cache_1h_tokens ELSE cache_1h_tokens END,
    cache_read_tokens = CASE WHEN {better} THEN excluded.cache_read_tokens ELSE cache_read_tokens END,
    web_search_requests = max(web_search_requests, excluded.web_search_requests),
    partial = CASE WHEN excluded.output_tokens != output_tokens THEN 0 ELSE min(partial, excluded.partial) END,
    message_id = CASE WHEN message_id = '' THEN excluded.message_id ELSE message_id END,
    request_id = CASE WHEN request_id = '' THEN excluded.request_id ELSE request_id END,
    session_id = CASE WHEN session_id = '' OR excluded.credit > credit THEN excluded.session_id
                      ELSE session_id END,
    ts_ms = CASE WHEN excluded.credit > credit THEN excluded.ts_ms ELSE ts_ms END,
    credit = max(credit, excluded.credit),
    agent_id = coalesce(agent_id, excluded.agent_id),
    agent_type = coalesce(agent_type, excluded.agent_type),
    project = coalesce(project, excluded.project),
    project_dir = coalesce(project_dir, excluded.project_dir),
    service_tier = coalesce(service_tier, excluded.service_tier),
    speed = coalesce(speed, excluded.speed),
    host = coalesce(host, excluded.host),
    otlp_cost_usd = coalesce(excluded.otlp_cost_usd, otlp_cost_usd),
    source = CASE WHEN source = excluded.source THEN source ELSE 'both' END
""".replace(
    # The 5m/1h split of one call's cache writes: a transcript states it; OTLP events of
    # older versions give only the total (read as all 5m), so they never overwrite a split.
    "{split_from_new}",
    "(CASE WHEN excluded.input_tokens + excluded.cache_5m_tokens + excluded.cache_1h_tokens"
    " + excluded.cache_read_tokens = input_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens"
    " THEN excluded.source = 'transcript' ELSE {better} END)",
).replace(
    "{better}",
    "(excluded.output_tokens > output_tokens OR (excluded.output_tokens = output_tokens AND"
    " excluded.input_tokens + excluded.cache_5m_tokens + excluded.cache_1h_tokens"
    " + excluded.cache_read_tokens > input_tokens + cache_5m_tokens + cache_1h_tokens"
    " + cache_read_tokens))",
)
# The nullable text columns travel as '' in rows (see `record_row`) and are stored as NULL.
NULLABLE_TEXT = frozenset({"service_tier", "speed", "agent_id", "agent_type", "project", "project_dir", "host"})
_VALUES = ", ".join("NULLIF(?, '')" if c.strip() in NULLABLE_TEXT else "?" for c in _COLUMNS.split(","))
# The one upsert of a response row (`cchooks.ledger.staging` uses the same conflict rule).
_UPSERT = f"INSERT INTO responses ({_COLUMNS}) VALUES ({_VALUES}) {UPSERT_CONFLICT}"
# For rows known to be new (`Ledger._insert_new`): a fifth of the upsert's preparing time (0.07
# against 0.29 ms), which a hook or statusline process pays once for its one new response.
_INSERT = f"INSERT INTO responses ({_COLUMNS}) VALUES ({_VALUES})"
_NAN = float("nan")


def record_row(r: UsageRecord) -> tuple[object, ...]:
    """The row of `_COLUMNS` for `r`, without None: Python's sqlite3 binds a None through its
    adapter lookup (0.75 µs each, ~3 a row), so a missing text is '' (stored as NULL by the
    statements' NULLIF; an empty text means nothing in these columns) and a missing cost NaN
    (which SQLite itself stores as NULL)."""
    return (
        r.key, r.message_id, r.request_id, r.session_id, r.timestamp_ms, r.model,
        r.input_tokens, r.output_tokens, r.cache_creation_5m_tokens, r.cache_creation_1h_tokens,
        r.cache_read_tokens, r.web_search_requests, r.service_tier or "", r.speed or "", r.agent_id or "",
        r.agent_type or "", r.project or "", r.project_dir or "", r.source,
        _NAN if r.otlp_cost_usd is None else r.otlp_cost_usd, r.host or "", int(r.partial), r.credit,
    )  # fmt: skip


def row_record(row: tuple[object, ...] | sqlite3.Row) -> UsageRecord:
    (
        _key, mid, rid, sid, ts, model, inp, out, c5, c1, cr, web, tier, speed,
        agent_id, agent_type, project, project_dir, source, cost, host, partial, credit,
    ) = tuple(row)  # fmt: skip
    return UsageRecord(
        message_id=str(mid), request_id=str(rid), session_id=str(sid), timestamp_ms=int(ts),
        model=str(model), input_tokens=int(inp), output_tokens=int(out),
        cache_creation_5m_tokens=int(c5), cache_creation_1h_tokens=int(c1),
        cache_read_tokens=int(cr), web_search_requests=int(web),
        service_tier=tier, speed=speed, agent_id=agent_id, agent_type=agent_type,
        project=project, project_dir=project_dir, source=str(source),
        otlp_cost_usd=cost, host=host, partial=bool(partial), credit=int(credit),
    )  # fmt: skip


def connect_readonly(p: str) -> sqlite3.Connection:
    """Read-only; on a read-only file system (where SQLite cannot make the WAL index) the file is
    opened as immutable: nothing can be writing it there."""
    conn = sqlite3.connect(
        f"file:{p}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
        check_same_thread=False,
    )  # fmt: skip
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc):
            raise
        conn.close()
        conn = sqlite3.connect(
            f"file:{p}?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False
        )
    return conn


class LedgerError(Exception):
    """The ledger cannot be opened or is from a newer cchooks."""


class _Transaction:
    """`Ledger.write()`: BEGIN IMMEDIATE on enter; COMMIT, or ROLLBACK on an exception."""

    __slots__ = ("conn", "ledger", "lazy")

    def __init__(self, conn: sqlite3.Connection, ledger: Ledger | None = None, lazy: bool = False) -> None:
        self.conn = conn
        self.ledger = ledger
        self.lazy = lazy

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        if self.ledger is not None:
            self.ledger._lazy_write = self.lazy
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None:
            self._end(committed=False)
            self.conn.execute("ROLLBACK")
            return
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            # A failed COMMIT (disk full, I/O error) leaves the transaction open; end it, so
            # the next write can begin, and let the caller know nothing was stored.
            self._end(committed=False)
            if self.conn.in_transaction:
                try:  # noqa: SIM105 - contextlib is not loaded on the hot path
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        self._end(committed=True)

    def _end(self, committed: bool) -> None:
        ledger = self.ledger
        if ledger is None:
            return
        ledger._lazy_write = False
        if ledger._triggers_in_write and not committed:
            ledger._triggers = False  # made inside this transaction: the rollback took them away
        ledger._triggers_in_write = False


class _Snapshot:
    """`Ledger.snapshot()`: a read transaction; every query inside it sees one state of the ledger."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN")

    def __exit__(self, *exc: object) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")


class Ledger:
    """One SQLite ledger file. Cheap to open; safe to use from many processes at once."""

    def __init__(self, path: str | os.PathLike[str], conn: sqlite3.Connection) -> None:
        self._path = os.fspath(path)
        self.conn = conn
        self._rollup_deferred = False
        self._triggers = False  # this connection's rollup TEMP triggers exist
        self._lazy_write = False  # inside `write(lazy=True)`
        self._triggers_in_write = False  # the triggers were made inside the open transaction
        self.readonly = False  # opened read-only (a view of a ledger it cannot write)

    @property
    def path(self) -> Path:
        """The ledger file (a pathlib.Path, made on demand: the hot paths never import pathlib)."""
        from pathlib import Path

        return Path(self._path)

    @property
    def path_str(self) -> str:
        return self._path

    # -- opening ---------------------------------------------------------------
    @classmethod
    def open(
        cls, path: str | os.PathLike[str] | None = None, *, readonly: bool = False, lazy_triggers: bool = False
    ) -> Ledger:
        """Open (creating it unless `readonly`) and migrate the ledger.

        `lazy_triggers`: the rollup's TEMP triggers (~3 ms to create) are made by the first
        `write()` instead of here (or not at all, see `write(lazy=True)`), for a caller that
        usually only reads or adds a few new responses (the statusline, hooks, views) and
        writes only inside `write()`.
        """
        from cchooks.paths import clean_path, default_ledger_file

        p = clean_path(os.path.expanduser(os.fspath(path))) if path else default_ledger_file()
        if not readonly:
            try:
                os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
                if not os.path.exists(p):
                    # Create with 0600 before SQLite touches it: the ledger says what you spent.
                    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o600)
                    os.close(fd)
            except OSError as exc:
                raise LedgerError(f"cannot create ledger {p}: {exc.strerror or exc}") from exc
        try:
            if readonly:
                conn = connect_readonly(p)
            else:
                conn = sqlite3.connect(
                    p, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
                )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not readonly:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            ledger = cls(p, conn)
            ledger.readonly = readonly
            if not readonly:
                ledger.migrate()
                if not lazy_triggers:
                    ledger.create_triggers()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"cannot open ledger {p}: {exc}") from exc
        return ledger

    def migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"ledger {self._path} has schema version {version}; this cchooks knows {SCHEMA_VERSION}."
                " Upgrade cchooks."
            )
        if version == SCHEMA_VERSION:
            return
        from cchooks.ledger.schema import MIGRATIONS

        with _Transaction(self.conn):  # not write(): the triggers need the tables made here
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for i in range(version, len(MIGRATIONS)):
                MIGRATIONS[i](self.conn)
                self.conn.execute(f"PRAGMA user_version = {i + 1}")
        for suffix in ("-wal", "-shm"):
            side = self._path + suffix
            if os.path.exists(side):
                os.chmod(side, 0o600)

    def close(self) -> None:
        """Close the connection, or in a hot-path process that is about to end (see
        `cchooks.ledger.leave_open_at_exit`) leave it open while the write-ahead log is short.

        Closing the last connection checkpoints the log into the ledger and deletes it: two
        fdatasyncs, then another two (the new log's header and its directory) when the next
        process writes. Left open, the process ends without that, as after a kill: the log stays,
        and the next process to open the ledger alone reads it back (at most LEAVE_WAL_BYTES).
        A commit is as durable as `synchronous = NORMAL` makes it either way: in the OS at once
        (a kill loses nothing), on disk by the next checkpoint, which the first close that finds
        the log longer than LEAVE_WAL_BYTES makes. A power loss may so take back the last few
        runs' responses, with their read positions: they are read again, never counted twice.
        """
        from cchooks import ledger as package

        if package.leave_open_at_exit and not self.readonly and not self.conn.in_transaction:
            try:
                short = os.stat(self._path + "-wal").st_size <= LEAVE_WAL_BYTES
            except OSError:
                short = False
            if short:
                _left_open.append(self.conn)
                return
        self.conn.close()

    def has_written(self) -> bool:
        """Whether this connection changed any row since it was opened (migrations included)."""
        return self.conn.total_changes > 0

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, *, lazy: bool = False) -> _Transaction:
        """One write transaction (`with ledger.write() as conn:`); IMMEDIATE so concurrent writers
        queue on busy_timeout. Commits at the end of the block, rolls back on an exception.

        On a ledger opened with `lazy_triggers`, `lazy` leaves the rollup's triggers unmade: making
        them (~3 ms) costs more than a hot path's whole write of a new response. In such a
        transaction `upsert_rows` adds responses that are all new to the rollups itself
        (ROLLUP_ADD_STORED) and makes the triggers for anything else, and any other write to
        `responses` must call `rollup_follows()` first (Ledger methods do)."""
        if not lazy and not self._triggers and not self._rollup_deferred and not self.readonly:
            self.create_triggers()  # outside the transaction: a rollback must not take them away
        return _Transaction(self.conn, self, lazy)

    def create_triggers(self) -> None:
        """This connection's TEMP triggers that keep the rollup and source totals exact."""
        for sql in ROLLUP_TRIGGERS:
            self.conn.execute(sql)
        self._triggers = True

    def snapshot(self) -> _Snapshot:
        """Several reads that must agree (`with ledger.snapshot():`), however many writers commit meanwhile."""
        return _Snapshot(self.conn)

    def deferred_rollup(self, cold: bool = False) -> DeferredRollup:
        """Bulk writes without the per-row rollup triggers; the rollup is rebuilt once after
        (see `cchooks.ledger.bulk_load`). With `cold`, a ledger without responses also loads
        without the secondary indexes of `responses`."""
        from cchooks.ledger.bulk_load import DeferredRollup

        return DeferredRollup(self, cold)

    def rollup_stale(self) -> bool:
        return self.meta_get("rollup_stale") is not None

    def rebuild_rollup_if_stale(self) -> None:
        if not self.rollup_stale():
            return
        with self.write():
            if self.rollup_stale():
                for sql in REBUILD_ROLLUP:
                    self.conn.execute(sql)
                self.conn.execute("DELETE FROM meta WHERE key = 'rollup_stale'")

    # -- writes (call inside `write()`) ------------------------------------------
    def upsert_records(self, records: Iterable[UsageRecord]) -> int:
        return self.upsert_rows([record_row(r) for r in records])

    def upsert_rows(self, rows: list[tuple[object, ...]]) -> int:
        """`upsert_records` for rows already made by `record_row` (cheap to pass between processes)."""
        if rows:
            if self._lazy_write and not self._triggers and not self._rollup_deferred and self._insert_new(rows):
                return len(rows)
            self.rollup_follows()
            self.mark_rollup_stale_if_deferred()
            self.conn.executemany(_UPSERT, self._resolve_aliases(rows))
        return len(rows)

    def _insert_new(self, rows: list[tuple[object, ...]]) -> bool:
        """Inside `write(lazy=True)` without triggers: store `rows` and add them to the rollups
        as the INSERT triggers would, if they are all new responses (none stored, no two alike,
        none to resolve by request id); else False, having written nothing."""
        keys = [r[0] for r in rows]
        if len(set(keys)) != len(keys) or not all(r[1] for r in rows):
            return False
        if self._has_rows_without_message_id():  # OTLP rows: none of them may be one of these responses
            known = self.rows_by_request_id(str(r[2]) for r in rows if r[2])
            if any(not mid for _key, mid in known.values()):
                return False  # a row known by request id alone: `_resolve_aliases` folds it
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            hit = self.conn.execute(
                f"SELECT 1 FROM responses WHERE rkey IN ({','.join('?' * len(chunk))}) LIMIT 1", chunk
            ).fetchone()
            if hit is not None:
                return False
        self.conn.executemany(_INSERT, rows)  # none of them is stored (checked in this transaction)
        params = [(k,) for k in keys]
        for sql in ROLLUP_ADD_STORED:
            self.conn.executemany(sql, params)
        return True

    def rollup_follows(self) -> None:
        """Before a write to `responses`: the rollup must follow it. Makes the triggers inside a
        `write(lazy=True)` (a rollback takes them away again); raises on a ledger opened with
        lazy triggers outside `write()`, which would leave the rollup behind, silently."""
        if self._triggers or self._rollup_deferred:
            return
        if not self._lazy_write:
            raise RuntimeError("cchooks bug: responses written outside Ledger.write() on a ledger opened with lazy triggers")
        self.create_triggers()
        self._triggers_in_write = True

    def mark_rollup_stale_if_deferred(self) -> None:
        """Inside a write under `deferred_rollup`: the rollup does not follow this transaction."""
        if self._rollup_deferred:
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('rollup_stale', '1')")

    def can_merge_staged(self, all_named: bool) -> bool:
        """Whether staged rows may be upserted as they are, i.e. nothing needs `_resolve_aliases`
        (every row has a message id, and no stored row is known by request id alone) and no
        OTLP-only call waits for its transcript line (`ingest._fold_unjoined_otlp`)."""
        if not all_named or self._has_rows_without_message_id():
            return False
        return self.conn.execute(
            "SELECT 1 FROM responses WHERE rkey >= 'otlp:' AND rkey < 'otlp;' LIMIT 1"
        ).fetchone() is None

    def rows_by_request_id(self, request_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """request id -> (rkey, message_id) of the stored row it names (one with a message id first)."""
        found: dict[str, tuple[str, str]] = {}
        ids = sorted({r for r in request_ids if r})
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for rkey, mid, rid in self.conn.execute(
                "SELECT rkey, message_id, request_id FROM responses"
                f" WHERE request_id IN ({','.join('?' * len(chunk))}) ORDER BY message_id = ''",
                chunk,
            ):
                found.setdefault(str(rid), (str(rkey), str(mid)))
        return found

    def _resolve_aliases(self, rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        """Point rows that name a stored response only by its request id at that response's row."""
        if all(r[1] for r in rows) and not self._has_rows_without_message_id():
            # Rows that all carry a message id can only fold a stored row known by request id
            # alone (keyed by it, outside 'm:'); with none stored there is nothing to resolve.
            return rows
        known = self.rows_by_request_id(str(r[2]) for r in rows if r[2])
        if not known and all(r[1] for r in rows):
            return rows  # new responses, all known by message id (a transcript read): nothing to resolve
        out: list[tuple[object, ...]] = []
        for row in rows:
            key, mid, rid = str(row[0]), str(row[1]), str(row[2])
            hit = known.get(rid) if rid else None
            if rid and hit is None:
                known[rid] = (key, mid)
            elif hit is not None and hit[0] != key:
                if not mid:  # an OTLP event: it knows the response by request id only
                    row = (hit[0], hit[1], *row[2:])
                elif not hit[1]:  # a row known only by request id so far: it is this message
                    self._fold(hit[0], key, mid)
                    known[rid] = (key, mid)
                # else two message ids under one request id: two responses, kept apart
            out.append(row)
        return out

    def _has_rows_without_message_id(self) -> bool:
        """Any stored row keyed other than 'm:' + message id (two primary-key range probes)."""
        return (
            self.conn.execute(
                "SELECT 1 FROM responses WHERE rkey < 'm:' OR rkey >= 'm;' LIMIT 1"
            ).fetchone()
            is not None
        )

    def _fold(self, old_key: str, new_key: str, message_id: str) -> None:
        """Move the row `old_key` onto `new_key` (merging with a row already there), links too."""
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM responses WHERE rkey = ?", (old_key,)).fetchone()
        if row is None:
            return
        self.rollup_follows()
        self.conn.execute("DELETE FROM responses WHERE rkey = ?", (old_key,))
        self.conn.execute(_UPSERT, (new_key, message_id, *tuple(row)[2:]))
        self.conn.execute("UPDATE otlp_api_requests SET rkey = ? WHERE rkey = ?", (new_key, old_key))

    def add_rate_limit_snapshot(self, snap: RateLimitSnapshot) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO rate_limit_snapshots VALUES (?,?,?,?,?)",
            (snap.observed_ms, snap.window, snap.used_percentage, snap.resets_at_ms, snap.session_id),
        )

    # -- reads ---------------------------------------------------------------------
    def records(
        self,
        since_ms: int | None = None,
        until_ms: int | None = None,
        session_id: str | None = None,
    ) -> Iterator[UsageRecord]:
        """Every stored response in time order, optionally filtered."""
        where, params = time_filter(since_ms, until_ms)
        if session_id:
            where.append("session_id = ?")
            params.append(session_id)
        sql = f"SELECT {_COLUMNS} FROM responses"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts_ms, rkey"
        for row in self.conn.execute(sql, params):
            yield row_record(row)

    def rate_limit_snapshots(
        self, window: str | None = None, since_ms: int | None = None
    ) -> list[RateLimitSnapshot]:
        sql = (
            "SELECT observed_ms, window, used_percentage, resets_at_ms, session_id FROM rate_limit_snapshots"
        )
        where: list[str] = []
        params: list[object] = []
        if window:
            where.append("window = ?")
            params.append(window)
        if since_ms is not None:
            where.append("observed_ms >= ?")
            params.append(since_ms)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY observed_ms"
        return [RateLimitSnapshot(*row) for row in self.conn.execute(sql, params)]

    def set_busy_timeout(self, ms: int) -> None:
        """How long a write waits for another writer before failing with "database is locked"."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(ms)}")

    def cache_kib(self) -> int:
        """SQLite's page cache for this connection, in KiB."""
        size = int(self.conn.execute("PRAGMA cache_size").fetchone()[0])
        if size < 0:
            return -size
        page = int(self.conn.execute("PRAGMA page_size").fetchone()[0])
        return size * page >> 10

    def set_cache_kib(self, kib: int) -> None:
        """SQLite's page cache for this connection (a long-lived reader keeps it small: the OS caches the file)."""
        self.conn.execute(f"PRAGMA cache_size = -{int(kib)}")

    def probe(self) -> None:
        """Read one row: raises sqlite3.DatabaseError when the file cannot be read."""
        self.conn.execute("SELECT 1 FROM responses LIMIT 1").fetchall()

    def response_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM responses").fetchone()[0])

    def data_version(self) -> int:
        """Changes whenever another connection commits (PRAGMA data_version): a cheap "anything new?"."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def overview(self) -> dict[str, int | None]:
        """Counts and freshness for `cchooks status`."""
        c = self.conn
        return {
            "schema_version": int(c.execute("PRAGMA user_version").fetchone()[0]),
            "responses": int(c.execute("SELECT count(*) FROM responses").fetchone()[0]),
            "sessions": int(c.execute("SELECT count(DISTINCT session_id) FROM responses").fetchone()[0]),
            "files_tracked": int(c.execute("SELECT count(*) FROM files").fetchone()[0]),
            "rate_limit_snapshots": int(c.execute("SELECT count(*) FROM rate_limit_snapshots").fetchone()[0]),
            "newest_response_ms": c.execute("SELECT max(ts_ms) FROM responses").fetchone()[0],
            "last_read_ms": c.execute("SELECT max(updated_ms) FROM files").fetchone()[0],
        }

    def meta_get(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def meta_set(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def last_ingest_ms(self) -> int | None:
        value = self.meta_get("last_ingest_ms")
        return int(value) if value else None

    def mark_ingested(self) -> None:
        self.meta_set("last_ingest_ms", str(int(time.time() * 1000)))


def time_filter(since_ms: int | None, until_ms: int | None) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []
    if since_ms is not None:
        where.append("ts_ms >= ?")
        params.append(since_ms)
    if until_ms is not None:
        where.append("ts_ms < ?")
        params.append(until_ms)
    return where, params
