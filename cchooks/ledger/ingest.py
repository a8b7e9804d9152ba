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
import time

from cchooks.ledger.reader import COMMIT_EVERY as COMMIT_EVERY  # also importable from here
from cchooks.ledger.reader import READ_CHUNK, _WriteFailed
from cchooks.ledger.reader import FileRead as FileRead
from cchooks.ledger.reader import Segment as Segment
from cchooks.ledger.reader import bulk_decoder as bulk_decoder
from cchooks.ledger.reader import read_new_bytes as read_new_bytes
from cchooks.ledger.transcripts import TranscriptFile as TranscriptFile  # also importable from here
from cchooks.ledger.transcripts import describe as describe
from cchooks.ledger.transcripts import discover as discover
from cchooks.ledger.transcripts import session_files as session_files
from cchooks.ledger.transcripts import stat_mark as stat_mark
from cchooks.ledger.transcripts import walk
from cchooks.records import ParseStats, SlotRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from cchooks.ledger.staging import Stage
    from cchooks.ledger.store import Ledger

    # dev, ino, size, mtime, offset, head, tail
    FileState = tuple[int, int, int, int, int, str | None, str | None]
    # a file found changed, and whether the ledger has read it before (None: never; the state
    # itself is read by `_ingest_todo`, for changed files only)
    Changed = tuple[TranscriptFile, os.stat_result, object]
    # a file to read: where it is, its stat now, what was read of it before
    Task = tuple[TranscriptFile, os.stat_result, FileState | None]

BULK_COMMIT_EVERY = 128 << 20  # in-process backfills: fewer commits, still bounded rework after a crash
BULK_BYTES = 4 << 20  # above this much new data, use the msgspec decoder
PARALLEL_BYTES = 64 << 20  # above this much new data, parse in worker processes
TASK_BYTES = 8 << 20  # new data per task of a parse process
MAX_TASK_BYTES = 64 << 20  # tasks grow with the backlog (see _ingest_todo), up to this
MAX_BULK_CACHE = 64 << 20  # bytes of SQLite page cache at most while backfilling
HOT_COMMIT_EVERY = READ_CHUNK  # hooks and the statusline commit every chunk: progress under a time limit


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


_MARK = "size || ',' || mtime_ns || ',' || ino || ',' || dev"  # what `stat_mark` writes

# A file's (size, mtime_ns, ino, dev): equal exactly when `stat_mark` is. The scan before every
# report compares one per transcript; tuples beat the strings there (2 µs a file less at 20,000
# files: no four ints formatted per stat).
FileKey = tuple[int, int, int, int]


def load_file_marks(ledger: Ledger) -> dict[str, FileKey]:
    """path -> `stat_key` of what was read so far."""
    return {r[0]: r[1:] for r in ledger.conn.execute("SELECT path, size, mtime_ns, ino, dev FROM files")}


def stat_key(st: os.stat_result) -> FileKey:
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def file_mark(ledger: Ledger, path: str) -> str | None:
    """`load_file_marks` for one file (None when the ledger has not read it)."""
    row = ledger.conn.execute(f"SELECT {_MARK} FROM files WHERE path = ?", (path,)).fetchone()
    return None if row is None else row[0]



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
        with self.ledger.write(lazy=True):
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

    if ledger.meta_get("indexes_dropped") is not None:  # a backfill was killed before its end
        from cchooks.ledger.bulk_load import restore_indexes_if_dropped

        restore_indexes_if_dropped(ledger)
    ledger.rebuild_rollup_if_stale()
    if not todo:
        return total  # the usual view: nothing new (and nothing of the backfill machinery imported)
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
            if bulk:
                # Back to the usual cache before the end of the load: SQLite sizes each index
                # build's sort buffer by it, and a bulk-sized one would sit beside a full cache.
                ledger.set_cache_kib(cache_kib)
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
    from cchooks.paths import projects_dir_strs

    marks = load_file_marks(ledger)
    todo: list[Changed] = []
    total = IngestResult()
    for pdir in projects_dir_strs(claude_dir):
        _scan(pdir, marks, todo, total)
    return _ingest_todo(ledger, todo, total, progress)


def _scan(projects_dir: str, marks: dict[str, FileKey], todo: list[Changed], total: IngestResult) -> None:
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
        if get(path) != (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev):  # stat_key, inlined
            todo.append((TranscriptFile(path, project, session, agent), st, () if path in marks else None))


def _check(tf: TranscriptFile, marks: dict[str, FileKey], todo: list[Changed], total: IngestResult) -> None:
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
    if marks.get(tf.path) != stat_key(st):
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
