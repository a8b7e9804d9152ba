"""What is new in one transcript, parsed: the part of an ingest that touches no ledger.

`read_new_bytes` compares a file with what was read of it before (its identity and two CRC32
fingerprints of the bytes before the stored offset: the first and the last 4 KiB), reads the
new bytes in chunks and parses their complete lines into `Segment`s: ledger rows plus the read
position after them. It runs in the calling process (hooks, the statusline, small ingests) or
in parse processes (cchooks.ledger.parallel); cchooks.ledger.ingest writes what it returns.
"""

from __future__ import annotations

import os
import stat
import time

from cchooks.fastjson import loads as json_loads
from cchooks.records import CREDIT_COPY, CREDIT_NAMED, ParseStats, SlotRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from io import BufferedReader  # what os.fdopen(fd, "rb") returns

    from cchooks.ledger.ingest import FileState
    from cchooks.ledger.transcripts import TranscriptFile
    from cchooks.parsers.transcript import FastPath
    from cchooks.records import UsageRecord

FINGERPRINT_BYTES = 4096
READ_CHUNK = 8 << 20  # bytes read per step
COMMIT_EVERY = 32 << 20  # bytes parsed per segment when the caller does not say
MAX_LINE = 64 << 20  # a "line" without a newline in this many bytes is skipped (counted as too long)
FIRST_LINES, FIRST_LINES_BYTES = 20, 256 << 10  # where a file's first timestamp is looked for


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


def _fingerprints(fh: BufferedReader, offset: int) -> tuple[str, str]:
    fh.seek(0)
    head = fh.read(min(offset, FINGERPRINT_BYTES))
    tail_start = max(0, offset - FINGERPRINT_BYTES)
    fh.seek(tail_start)
    tail = fh.read(offset - tail_start)
    return _crc(head), _crc(tail)


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
    fh: BufferedReader,
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
    # Inside a line longer than MAX_LINE, dropping bytes up to its newline. A read position is
    # always just after a newline, unless the last call stopped (its time limit, or the end of
    # the file) while dropping such a line: then this call goes on dropping it, however few of
    # its bytes are left (fewer than MAX_LINE would otherwise wait as an unfinished line).
    skipping = False
    if start > 0:
        fh.seek(start - 1)
        skipping = fh.read(1) != b"\n"
    fh.seek(start)
    offset = start
    pending = b""
    acc: dict[str, UsageRecord] = {}
    stats = out.stats
    bad_before = 0
    since_save = 0
    while True:
        if skipping:
            skipped, ended = _skip_line(fh, stop_at)
            offset += skipped
            since_save += skipped
            if ended == "time":
                # The time limit holds while skipping too: the next call goes on from here
                # (inside the over-long line, which it skips the same way).
                out.complete = False
                break
            if ended == "eof":
                break
            skipping = False
        chunk = fh.read(READ_CHUNK)
        if not chunk:
            break
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


def _skip_line(fh: BufferedReader, stop_at: float | None) -> tuple[int, str]:
    """Drop bytes up to and including the next newline; returns (bytes dropped, why it ended:
    "newline", "eof" or "time"). One reused buffer: no allocation per chunk, about twice the
    speed of `read`, which matters when a hook must get through a 1 GB line in a few calls."""
    buf = bytearray(READ_CHUNK)
    skipped = 0
    while True:
        n = fh.readinto(buf)
        if not n:
            return skipped, "eof"
        nl = buf.find(b"\n", 0, n)
        if nl >= 0:
            fh.seek(nl + 1 - n, os.SEEK_CUR)  # the next read begins on the line after
            return skipped + nl + 1, "newline"
        skipped += n
        if stop_at is not None and time.monotonic() >= stop_at:
            return skipped, "time"


def _first_timestamp_ms(fh: BufferedReader) -> int | None:
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
    tf: TranscriptFile, fh: BufferedReader, st: os.stat_result, offset: int, malformed: int
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
