"""Incremental ingest of transcript files into the ledger.

Per file the ledger keeps device/inode, size, mtime, the byte offset read so far and
two CRC32 fingerprints of the bytes before that offset (the first 4 KiB and the last
4 KiB). An unchanged file costs one stat; an appended file costs its new bytes; a
truncated or replaced file is read again from the start, which is harmless because
writes are idempotent by key. Records and the offset commit in one transaction, so a
crash at any point loses nothing and counts nothing twice.
"""

from __future__ import annotations

import os
import stat
import time

from cchooks.fastjson import loads as json_loads
from cchooks.ledger.transcripts import TranscriptFile as TranscriptFile  # also importable from here
from cchooks.ledger.transcripts import describe as describe
from cchooks.ledger.transcripts import discover as discover
from cchooks.ledger.transcripts import session_files as session_files
from cchooks.ledger.transcripts import walk
from cchooks.records import CREDIT_COPY, CREDIT_NAMED, ParseStats, SlotRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import BinaryIO

    from cchooks.ledger.staging import Stage
    from cchooks.ledger.store import Ledger
    from cchooks.parsers.transcript import FastPath
    from cchooks.records import UsageRecord

    # dev, ino, size, mtime, offset, head, tail
    FileState = tuple[int, int, int, int, int, str | None, str | None]
    # a file found changed, and whether the ledger has read it before (None: never; the state
    # itself is read by `_ingest_todo`, for changed files only)
    Changed = tuple[TranscriptFile, os.stat_result, object]
    # a file to read: where it is, its stat now, what was read of it before
    Task = tuple[TranscriptFile, os.stat_result, FileState | None]

FINGERPRINT_BYTES = 4096
READ_CHUNK = 8 << 20  # bytes read per step
COMMIT_EVERY = 32 << 20  # bytes parsed per transaction
BULK_COMMIT_EVERY = 128 << 20  # in-process backfills: fewer commits, still bounded rework after a crash
BULK_BYTES = 4 << 20  # above this much new data, use the msgspec decoder
PARALLEL_BYTES = 64 << 20  # above this much new data, parse in worker processes
TASK_BYTES = 8 << 20  # new data per task of a parse process
MAX_TASK_BYTES = 64 << 20  # tasks grow with the backlog (see _ingest_todo), up to this
MAX_BULK_CACHE = 64 << 20  # bytes of SQLite page cache at most while backfilling
HOT_COMMIT_EVERY = READ_CHUNK  # hooks and the statusline commit every chunk: progress under a time limit
MAX_LINE = 64 << 20  # a "line" without a newline in this many bytes is skipped (counted as too long)
FIRST_LINES, FIRST_LINES_BYTES = 20, 256 << 10  # where a file's first timestamp is looked for


class IngestResult(SlotRecord):
    __slots__ = (
        "files_seen", "files_read", "files_reset", "bytes_read", "records", "errors", "failed_files", "stats",
        "complete",
    )  # fmt: skip

    def __init__(self, files_seen: int = 0) -> None:
        self.files_seen = files_seen
        self.files_read = 0
        self.files_reset = 0  # truncated or replaced, read again from the start
        self.bytes_read = 0
        self.records = 0
        self.errors: list[str] = []
        self.failed_files = 0  # files that could not be read (each has a line in `errors`)
        self.stats = ParseStats()
        # False when a time or byte budget stopped the read early (the rest is read next time).
        self.complete = True

    def merge(self, other: IngestResult) -> None:
        self.files_seen += other.files_seen
        self.files_read += other.files_read
        self.files_reset += other.files_reset
        self.bytes_read += other.bytes_read
        self.records += other.records
        self.errors.extend(other.errors)
        self.failed_files += other.failed_files
        self.stats.merge(other.stats)
        self.complete = self.complete and other.complete


def _agent_type_from_meta(tf: TranscriptFile) -> str | None:
    if tf.agent_id is None:
        return None
    meta = os.path.join(os.path.dirname(tf.path), f"agent-{tf.agent_id}.meta.json")
    try:
        with open(meta, "rb") as fh:
            data = json_loads(fh.read())
    except (OSError, ValueError):
        return None
    value = data.get("agentType") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _crc(data: bytes) -> str:
    import zlib  # here: a steady hook or statusline, which reads nothing new, needs no checksum

    return f"{zlib.crc32(data):08x}:{len(data)}"


def _fingerprints(fh: BinaryIO, offset: int) -> tuple[str, str]:
    fh.seek(0)
    head = fh.read(min(offset, FINGERPRINT_BYTES))
    tail_start = max(0, offset - FINGERPRINT_BYTES)
    fh.seek(tail_start)
    tail = fh.read(offset - tail_start)
    return _crc(head), _crc(tail)


_MARK = "size || ',' || mtime_ns || ',' || ino || ',' || dev"  # what `stat_mark` writes


def load_file_marks(ledger: Ledger) -> dict[str, str]:
    """path -> `stat_mark` of what was read so far, built by SQLite (the scan before every report
    loads one per transcript: a dict of strings costs a third of a dict of tuples)."""
    return dict(ledger.conn.execute(f"SELECT path, {_MARK} FROM files"))


def file_mark(ledger: Ledger, path: str) -> str | None:
    """`load_file_marks` for one file (None when the ledger has not read it)."""
    row = ledger.conn.execute(f"SELECT {_MARK} FROM files WHERE path = ?", (path,)).fetchone()
    return None if row is None else row[0]


def stat_mark(st: os.stat_result) -> str:
    """The read position's stat as `load_file_marks` writes it: equal exactly when all four are."""
    return f"{st.st_size},{st.st_mtime_ns},{st.st_ino},{st.st_dev}"


def load_file_states(ledger: Ledger) -> dict[str, FileState]:
    rows = ledger.conn.execute(
        "SELECT path, dev, ino, size, mtime_ns, offset, head_hash, tail_hash FROM files"
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def file_state(ledger: Ledger, path: str) -> FileState | None:
    row = ledger.conn.execute(
        "SELECT dev, ino, size, mtime_ns, offset, head_hash, tail_hash FROM files WHERE path = ?", (path,)
    ).fetchone()
    return None if row is None else tuple(row)


class Segment(SlotRecord):
    """Ledger rows parsed from a stretch of one file and the read position after it.

    Rows (plain tuples, see `record_row`) rather than records: a backfill sends them
    from parser processes, and tuples pickle several times faster than objects.
    """

    __slots__ = ("rows", "position", "nbytes", "staged")

    def __init__(self, rows: list[tuple[object, ...]], position: tuple[object, ...], nbytes: int) -> None:
        self.rows = rows
        self.position = position  # a `files` row
        self.nbytes = nbytes
        self.staged = 0  # rows moved into a stage file (cchooks.ledger.staging) instead of `rows`

    @property
    def count(self) -> int:
        return len(self.rows) + self.staged


class _WriteFailed(Exception):
    """An `emit` callback could not write (raised from the ledger's exception)."""


class FileRead(SlotRecord):
    __slots__ = ("segments", "stats", "bytes_read", "reset", "error", "complete")

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.stats = ParseStats()
        self.bytes_read = 0
        self.reset = False
        self.error: str | None = None
        self.complete = True


def read_new_bytes(
    tf: TranscriptFile,
    st: os.stat_result,
    state: FileState | None,
    bulk: bool = False,
    *,
    emit: Callable[[Segment], None] | None = None,
    stop_at: float | None = None,
    commit_every: int = COMMIT_EVERY,
) -> FileRead:
    """Parse what is new in one file since `state`; touches no ledger (runs in worker processes).

    A file whose identity or fingerprints no longer match `state` is read from the start.
    `emit` receives each segment as soon as it is parsed (the hot paths commit it at once);
    without it they collect in `segments`. Reading stops at a line boundary once
    `time.monotonic()` passes `stop_at` (`out.complete` is then False).
    """
    out = FileRead()
    try:
        # O_NONBLOCK: opening a FIFO without a writer must not hang a hook.
        fd = os.open(tf.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            out.error = f"{tf.path}: {exc}"
        return out
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:
        # /dev/zero, a FIFO, a socket, a directory: endless, blocking or unreadable, never a transcript.
        os.close(fd)
        out.error = f"{tf.path}: not a regular file"
        return out
    fh = os.fdopen(fd, "rb")
    try:
        start = 0
        if state is not None:
            dev, ino, _size, _mtime, offset, head, tail = state
            same_file = (dev, ino) == (st.st_dev, st.st_ino) and st.st_size >= offset
            if same_file and (offset == 0 or _fingerprints(fh, offset) == (head, tail)):
                start = offset
            out.reset = start == 0 and offset > 0
        _parse_from(
            tf, fh, start, st, _agent_type_from_meta(tf), out, bulk_decoder() if bulk else None,
            emit or out.segments.append, stop_at, commit_every,
        )  # fmt: skip
    except _WriteFailed:
        raise  # the ledger's problem (locked, full), not this file's: the caller decides
    except Exception as exc:  # one unreadable file must never stop the rest of a batch
        out.error = f"{tf.path}: {exc}" if isinstance(exc, OSError) else f"{tf.path}: {type(exc).__name__}: {exc}"
    finally:
        fh.close()
    return out


def _parse_from(
    tf: TranscriptFile,
    fh: BinaryIO,
    start: int,
    st: os.stat_result,
    agent_type: str | None,
    out: FileRead,
    fast: FastPath | None,
    emit: Callable[[Segment], None],
    stop_at: float | None = None,
    commit_every: int = COMMIT_EVERY,
) -> None:
    # Here rather than at the top: finding a session's files (the hot paths' first step) needs neither.
    from cchooks.ledger.store import record_row
    from cchooks.parsers.transcript import parse_chunk

    # Copies (2.0.x forks keep the original's requestId and timestamp but take the new
    # sessionId) are older than the file they sit in: they never take the original's credit.
    # They are written when the file is made, so only a read from the start meets them.
    born = _first_timestamp_ms(fh) if start == 0 else None
    fh.seek(start)
    offset = start
    pending = b""
    acc: dict[str, UsageRecord] = {}
    stats = out.stats
    bad_before = 0
    since_save = 0
    skipping = False  # inside a line longer than MAX_LINE, dropping bytes up to its newline
    while True:
        chunk = fh.read(READ_CHUNK)
        if not chunk:
            break
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                offset += len(chunk)
                since_save += len(chunk)
                continue
            skipping = False
            offset += nl + 1
            since_save += nl + 1
            chunk = chunk[nl + 1 :]
        data = pending + chunk if pending else chunk
        used = parse_chunk(
            data, acc, stats, project_dir=tf.project_dir, default_session_id=tf.session_id,
            default_agent_type=agent_type, fast=fast,
        )  # fmt: skip
        offset += used
        since_save += used
        if len(data) - used >= MAX_LINE:
            # No newline in MAX_LINE bytes: not a transcript line; skip it (bounded memory).
            stats.too_long += 1
            stats.note("too-long", f"line at byte {offset} is over {MAX_LINE} bytes")
            offset += len(data) - used
            since_save += len(data) - used
            pending, skipping = b"", True
        elif 0 < used < len(data) and len(chunk) == READ_CHUNK:
            # Read the unfinished line again with the next chunk rather than copy this chunk.
            pending = b""
            fh.seek(offset)
        else:
            pending = data[used:]
        if since_save >= commit_every:
            # Large reads commit part-way so a crash (or a time limit) does not redo all of it.
            _mark_copies(acc, born)
            bad = stats.malformed + stats.non_utf8 + stats.invalid_tokens + stats.too_long
            emit(Segment([record_row(r) for r in acc.values()], _position(tf, fh, st, offset, bad - bad_before), since_save))
            acc, since_save, bad_before = {}, 0, bad
        if stop_at is not None and time.monotonic() >= stop_at:
            out.complete = False  # the rest is read by the next call
            break
    out.bytes_read = fh.tell() - start
    _mark_copies(acc, born)
    bad = stats.malformed + stats.non_utf8 + stats.invalid_tokens + stats.too_long
    emit(Segment([record_row(r) for r in acc.values()], _position(tf, fh, st, offset, bad - bad_before), since_save))


def _first_timestamp_ms(fh: BinaryIO) -> int | None:
    """The top-level `timestamp` of the first lines that have one (when the file was begun)."""
    from cchooks.parsers.transcript import parse_timestamp_ms

    fh.seek(0)
    budget = FIRST_LINES_BYTES  # bounded: a file may begin with a huge line (or no newline at all)
    for _ in range(FIRST_LINES):
        line = fh.readline(budget)  # usually a short queue-operation or user line
        budget -= len(line)
        if not line.endswith(b"\n"):
            break  # the end of the file, or of the budget
        if b'"timestamp"' not in line:
            continue
        try:
            obj = json_loads(line)
        except ValueError:
            continue
        ts = parse_timestamp_ms(obj.get("timestamp")) if isinstance(obj, dict) else None
        if ts is not None:
            return ts
    return None


def _mark_copies(acc: dict[str, UsageRecord], born: int | None) -> None:
    if born is None:
        return
    for r in acc.values():
        if r.timestamp_ms < born and r.credit < CREDIT_NAMED:
            r.credit = CREDIT_COPY


def _position(
    tf: TranscriptFile, fh: BinaryIO, st: os.stat_result, offset: int, malformed: int
) -> tuple[object, ...]:
    """The `files` row describing what has been read of this file up to `offset`."""
    resume_at = fh.tell()
    head, tail = _fingerprints(fh, offset)
    fh.seek(resume_at)
    # The stored size must describe the bytes up to `offset`: if the file holds more
    # (an incomplete last line, or growth while reading), the next stat re-reads it.
    size = st.st_size if offset == st.st_size else offset
    return (str(tf.path), st.st_dev, st.st_ino, size, st.st_mtime_ns, offset, head, tail, tf.session_id,
            malformed, int(time.time() * 1000))  # fmt: skip


def bulk_decoder() -> FastPath | None:
    """The fast path for large reads (`cchooks.parsers.bulk`; too slow to import on the
    hot paths), or None where its libraries are missing."""
    try:
        from cchooks.parsers import bulk
    except ImportError:
        return None
    return bulk


def _row_key(row: tuple[object, ...]) -> str:
    return row[0]  # type: ignore[return-value]


class _Batch:
    """Segments of several files, committed together in one transaction.

    A position is only ever committed with the records read before it, so a crash at
    any point leaves the ledger consistent; batching only saves per-commit overhead.
    """

    def __init__(self, ledger: Ledger, limit_bytes: int) -> None:
        self.ledger = ledger
        self.limit_bytes = limit_bytes
        self.rows: list[tuple[object, ...]] = []
        self.stages: list[Stage] = []  # a parallel backfill's rows, in stage files (never mixed with `rows`)
        self.positions: list[tuple[object, ...]] = []
        self.bytes = 0

    def add(self, seg: Segment) -> None:
        if seg.rows and self.stages:
            self.flush()  # a batch is staged or in memory, never both (copies keep their order)
        self.rows.extend(seg.rows)
        self.positions.append(seg.position)
        self.bytes += seg.nbytes
        if self.bytes >= self.limit_bytes:
            self.flush()

    def add_stage(self, stage: Stage) -> None:
        """The stage file holding the rows of the segments `add`ed next (added before them,
        so a flush never commits a position without its rows)."""
        from cchooks.ledger.staging import MAX_STAGES

        if len(self.stages) >= MAX_STAGES or self.rows:
            self.flush()
        self.stages.append(stage)

    def flush(self) -> None:
        if not self.positions:
            return
        if self.stages:
            from cchooks.ledger.staging import merge_stages, read_stage, remove_stages

            stages = self.stages
            if self.ledger.can_merge_staged(all(s.all_named for s in stages)):
                merge_stages(self.ledger, stages, self.positions, _SAVE_POSITION)
                self.stages, self.positions, self.bytes = [], [], 0
                return
            # Rows that may need aliasing or folding: the in-memory way, which knows how.
            self.rows = [row for stage in stages for row in read_stage(stage)]
            self.stages = []
            remove_stages(stages)
        # In key order, the primary-key index is written page by page rather than at random
        # (a stable sort: copies of one response keep their order).
        self.rows.sort(key=_row_key)
        with self.ledger.write():
            self.ledger.upsert_rows(self.rows)
            _fold_unjoined_otlp(self.ledger, self.rows)
            self.ledger.conn.executemany(_SAVE_POSITION, self.positions)
        self.rows, self.positions, self.bytes = [], [], 0


# OTLP-only rows of calls whose event had no request id (2.0.x-2.1.0) have synthetic keys
# 'otlp:<session>:...'; a transcript row read later may be the same call.
_ANY_UNJOINED = "SELECT 1 FROM responses WHERE rkey >= 'otlp:' AND rkey < 'otlp;' LIMIT 1"
_MAY_JOIN = (
    "SELECT 1 FROM responses WHERE session_id = ? AND rkey >= 'otlp:' AND rkey < 'otlp;'"
    " AND input_tokens = ? AND cache_read_tokens = ? AND cache_5m_tokens + cache_1h_tokens = ? LIMIT 1"
)


def _fold_unjoined_otlp(ledger: Ledger, rows: list[tuple[object, ...]]) -> None:
    """Fold such rows into the transcript rows just written, so OTLP that arrived first is not
    counted twice until `reconcile`. Two indexed lookups when nothing applies (the hot path)."""
    if not rows or ledger.conn.execute(_ANY_UNJOINED).fetchone() is None:
        return
    # record_row order: session_id 3, input 6, cache 5m 8, 1h 9, read 10
    sessions = {
        str(r[3]) for r in rows
        if ledger.conn.execute(_MAY_JOIN, (r[3], r[6], r[10], int(r[8]) + int(r[9]))).fetchone()  # type: ignore[call-overload]
    }  # fmt: skip
    if sessions:
        from cchooks.ledger.reconcile import fold_unjoined

        fold_unjoined(ledger, sessions)


_SAVE_POSITION = (
    "INSERT INTO files (path, dev, ino, size, mtime_ns, offset, head_hash, tail_hash, session_id,"
    " malformed, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(path) DO UPDATE SET dev=excluded.dev, ino=excluded.ino, size=excluded.size,"
    " mtime_ns=excluded.mtime_ns, offset=excluded.offset, head_hash=excluded.head_hash,"
    " tail_hash=excluded.tail_hash, malformed=files.malformed + excluded.malformed,"
    " updated_ms=excluded.updated_ms"
)


def _apply(batch: _Batch, fr: FileRead, result: IngestResult) -> None:
    result.files_read += 1 if fr.segments else 0
    result.files_reset += 1 if fr.reset else 0
    result.bytes_read += fr.bytes_read
    result.stats.merge(fr.stats)
    result.complete = result.complete and fr.complete
    if fr.error:
        result.errors.append(fr.error)
        result.failed_files += 1
    for seg in fr.segments:
        result.records += seg.count
        batch.add(seg)


def ingest_file(
    ledger: Ledger,
    tf: TranscriptFile,
    state: FileState | None = None,
    *,
    known: bool = False,
    st: os.stat_result | None = None,
    stop_at: float | None = None,
) -> IngestResult:
    """Read the new bytes of one transcript into the ledger (committed before returning).

    `state` is the stored read position (looked up when not given and not `known`). With
    `stop_at` (a `time.monotonic()` value; the hot paths' budget) every chunk commits with
    its read position as soon as it is parsed and reading stops once that time passes, so a
    backlog of any size is recorded over a bounded number of calls.
    """
    result = IngestResult(files_seen=1)
    key = tf.path
    try:
        st = st or os.stat(key)
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            result.errors.append(f"{key}: {exc}")
            result.failed_files += 1
        return result
    if state is None and not known:
        state = file_state(ledger, key)
    if state is not None and state[:4] == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns):
        return result
    commit_every = COMMIT_EVERY if stop_at is None else HOT_COMMIT_EVERY
    batch = _Batch(ledger, commit_every)
    # A big backlog is worth the decoder's import (~20 ms); ordinary appends are not.
    bulk = st.st_size - (state[4] if state else 0) > BULK_BYTES

    emitted = [0]

    def emit(seg: Segment) -> None:
        emitted[0] += 1
        try:
            batch.add(seg)
        except Exception as exc:
            raise _WriteFailed from exc
        result.records += len(seg.rows)

    try:
        fr = read_new_bytes(tf, st, state, bulk, emit=emit, stop_at=stop_at, commit_every=commit_every)
    except _WriteFailed as exc:
        assert exc.__cause__ is not None
        raise exc.__cause__ from None
    _apply(batch, fr, result)
    result.files_read += 1 if emitted[0] else 0
    batch.flush()
    return result


def ingest_files(
    ledger: Ledger,
    files: Iterable[TranscriptFile],
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    start_method: str | None = None,
) -> IngestResult:
    """Ingest many files; `progress(bytes_done, bytes_total)` is called for long backfills.

    Large backfills parse in worker processes (parsing is pure) while this process
    writes; `workers=1` keeps everything in-process. `start_method` ("fork", "spawn",
    "forkserver"; default CCHOOKS_START_METHOD, else fork where there is one) starts them.
    """
    marks = load_file_marks(ledger)
    todo: list[Changed] = []
    total = IngestResult()
    for tf in files:
        _check(tf, marks, todo, total)
    return _ingest_todo(ledger, todo, total, progress, workers, start_method)


def new_bytes(task: Task) -> int:
    return task[1].st_size - (task[2][4] if task[2] else 0)


def _ingest_todo(
    ledger: Ledger,
    changed: list[Changed],
    total: IngestResult,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    start_method: str | None = None,
) -> IngestResult:
    todo: list[Task] = [(tf, st, None if seen is None else file_state(ledger, tf.path)) for tf, st, seen in changed]
    pending_bytes = sum(new_bytes(t) for t in todo)
    bulk = pending_bytes > BULK_BYTES
    if workers is None:
        # CCHOOKS_WORKERS caps the parse processes of a large backfill (1 = in-process).
        cap = int(os.environ.get("CCHOOKS_WORKERS") or 0) or min(os.cpu_count() or 1, 4)
        workers = cap if pending_bytes > PARALLEL_BYTES and len(todo) > 1 else 1
    from contextlib import nullcontext

    ledger.restore_indexes_if_dropped()  # after a crashed backfill
    ledger.rebuild_rollup_if_stale()
    # With parse workers, committing often keeps the writes in step with the parsing, so
    # little is left to write once the last file is parsed; a backlog of gigabytes commits
    # less often, because every commit rewrites the primary-key pages its random keys touched.
    task_bytes = TASK_BYTES
    if workers > 1:
        from cchooks.ledger.staging import MAX_STAGES

        # The parse processes' rows arrive in stage files (disk, not this process's memory), a
        # batch merges up to MAX_STAGES of them, and every commit rewrites the primary-key pages
        # its random keys touched: a backlog of gigabytes goes in larger tasks, so it commits
        # less often (64 MiB tasks, a commit per 512 MiB, at 6 GB).
        task_bytes = min(MAX_TASK_BYTES, max(TASK_BYTES, pending_bytes // 96))
        commit_every = task_bytes * MAX_STAGES
    else:
        commit_every = BULK_COMMIT_EVERY if bulk else COMMIT_EVERY
    batch = _Batch(ledger, commit_every)
    cache_kib = ledger.cache_kib()
    if bulk:
        # A page cache that holds the primary key's hot pages (bounded: ~1/64 of the new data),
        # for this load only (a long-lived watcher goes back to its own).
        ledger.set_cache_kib(max(cache_kib, min(MAX_BULK_CACHE, pending_bytes // 64) >> 10))
    done = 0
    stage_dir = None
    if workers > 1:
        from cchooks.ledger.staging import make_stage_dir

        try:
            stage_dir = make_stage_dir()
        except OSError:
            stage_dir = None  # no usable temp dir: this process reads everything itself
    try:
        with ledger.deferred_rollup(cold=True) if bulk else nullcontext():
            from cchooks.ledger.parallel import read_all
            from cchooks.ledger.staging import Stage

            method = start_method or os.environ.get("CCHOOKS_START_METHOD")
            for fr in read_all(todo, bulk, workers, method, stage_dir, task_bytes):
                if isinstance(fr, Stage):
                    batch.add_stage(fr)
                    continue
                _apply(batch, fr, total)
                done += fr.bytes_read
                if progress is not None:
                    progress(done, pending_bytes)
            batch.flush()
    finally:
        if bulk:
            ledger.set_cache_kib(cache_kib)
        if stage_dir is not None:
            import shutil

            shutil.rmtree(stage_dir, ignore_errors=True)
    if todo:
        with ledger.write():
            ledger.mark_ingested()
    return total


def ingest_config_dirs(
    ledger: Ledger,
    claude_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Scan every Claude config dir's projects/ and ingest what is new."""
    from cchooks.paths import projects_dirs

    marks = load_file_marks(ledger)
    todo: list[Changed] = []
    total = IngestResult()
    for pdir in projects_dirs(claude_dir):
        _scan(os.fspath(pdir), marks, todo, total)
    return _ingest_todo(ledger, todo, total, progress)


def _scan(projects_dir: str, marks: dict[str, str], todo: list[Changed], total: IngestResult) -> None:
    """`discover` and `_check` in one pass, for the scan before every report: a file the ledger
    has read to its end costs one stat and no objects (ten thousand of them add up)."""
    get = marks.get
    for path, project, session, agent in walk(projects_dir):
        try:
            st = os.stat(path)
        except OSError:
            _check(TranscriptFile(path, project, session, agent), marks, todo, total)  # says why
            continue
        total.files_seen += 1
        if get(path) != stat_mark(st):
            todo.append((TranscriptFile(path, project, session, agent), st, () if path in marks else None))


def _check(tf: TranscriptFile, marks: dict[str, str], todo: list[Changed], total: IngestResult) -> None:
    """Queue `tf` when it has bytes the ledger has not read (one stat when it has none); a file
    that cannot be stat'ed is an error unless it is gone (nothing to read)."""
    try:
        st = os.stat(tf.path)
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            total.errors.append(f"{tf.path}: {exc}")
            total.failed_files += 1
        return
    total.files_seen += 1
    if marks.get(tf.path) != stat_mark(st):
        todo.append((tf, st, () if tf.path in marks else None))


def ingest_session(
    ledger: Ledger,
    transcript_path: str | os.PathLike[str],
    stop_at: float | None = None,
    files: list[TranscriptFile] | None = None,
) -> IngestResult:
    """Hot path: one session's transcript and its subagents, nothing else (see `ingest_file`
    for `stop_at`); `files` when the caller has listed them (`session_files`) already."""
    total = IngestResult()
    for tf in session_files(transcript_path) if files is None else files:
        if stop_at is not None and time.monotonic() >= stop_at:
            total.complete = False
            break
        total.merge(ingest_file(ledger, tf, stop_at=stop_at))
    return total
