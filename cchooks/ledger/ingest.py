"""Incremental ingest of transcript files into the ledger.

Per file the ledger keeps device/inode, size, mtime, the byte offset read so far and
two CRC32 fingerprints of the bytes before that offset (the first 4 KiB and the last
4 KiB). An unchanged file costs one stat; an appended file costs its new bytes; a
truncated or replaced file is read again from the start, which is harmless because
writes are idempotent by key. Records and the offset commit in one transaction, so a
crash at any point loses nothing and counts nothing twice.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cchooks.ledger.store import Ledger
from cchooks.parsers.transcript import parse_chunk
from cchooks.records import ParseStats, UsageRecord

FINGERPRINT_BYTES = 4096
READ_CHUNK = 8 << 20  # bytes read per step
COMMIT_EVERY = 32 << 20  # bytes parsed per transaction on big files


@dataclass(slots=True)
class TranscriptFile:
    """A transcript on disk and what its location says about it."""

    path: Path
    project_dir: str
    session_id: str | None  # from the file name (main transcripts) or parent dir (subagents)
    agent_id: str | None = None


@dataclass(slots=True)
class IngestResult:
    files_seen: int = 0
    files_read: int = 0
    files_reset: int = 0  # truncated or replaced, read again from the start
    bytes_read: int = 0
    records: int = 0
    errors: list[str] = field(default_factory=list)
    stats: ParseStats = field(default_factory=ParseStats)

    def merge(self, other: IngestResult) -> None:
        self.files_seen += other.files_seen
        self.files_read += other.files_read
        self.files_reset += other.files_reset
        self.bytes_read += other.bytes_read
        self.records += other.records
        self.errors.extend(other.errors)
        self.stats.merge(other.stats)


def describe(path: Path) -> TranscriptFile:
    """Infer project folder, session and agent from a transcript's path."""
    name = path.name
    if path.parent.name == "subagents":
        session_dir = path.parent.parent
        agent = name[len("agent-") : -len(".jsonl")] if name.startswith("agent-") else None
        return TranscriptFile(path, session_dir.parent.name, session_dir.name, agent)
    return TranscriptFile(path, path.parent.name, name[: -len(".jsonl")] if name.endswith(".jsonl") else None)


def discover(projects_dir: Path) -> Iterator[TranscriptFile]:
    """Every main and subagent transcript under one `projects/` folder."""
    try:
        projects = list(os.scandir(projects_dir))
    except OSError:
        return
    for proj in projects:
        if not proj.is_dir(follow_symlinks=False):
            continue
        try:
            entries = list(os.scandir(proj.path))
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".jsonl") and entry.is_file():
                yield TranscriptFile(Path(entry.path), proj.name, entry.name[:-6])
            elif entry.is_dir(follow_symlinks=False):
                yield from _subagents(Path(entry.path), proj.name)


def _subagents(session_dir: Path, project_dir: str) -> Iterator[TranscriptFile]:
    sub = session_dir / "subagents"
    try:
        entries = list(os.scandir(sub))
    except OSError:
        return
    for entry in entries:
        n = entry.name
        if n.startswith("agent-") and n.endswith(".jsonl") and entry.is_file():
            yield TranscriptFile(Path(entry.path), project_dir, session_dir.name, n[6:-6])


def session_files(transcript_path: str | os.PathLike[str]) -> list[TranscriptFile]:
    """A session's own transcript plus its subagent transcripts (the hook hot path)."""
    p = Path(transcript_path)
    files = [describe(p)]
    if p.name.endswith(".jsonl") and p.parent.name != "subagents":
        files.extend(_subagents(p.with_suffix(""), p.parent.name))
    return files


def _agent_type_from_meta(tf: TranscriptFile) -> str | None:
    if tf.agent_id is None:
        return None
    meta = tf.path.with_name(f"agent-{tf.agent_id}.meta.json")
    try:
        data = json.loads(meta.read_bytes())
    except (OSError, ValueError):
        return None
    value = data.get("agentType") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _crc(data: bytes) -> str:
    return f"{zlib.crc32(data):08x}:{len(data)}"


def _fingerprints(fh: object, offset: int) -> tuple[str, str]:
    read = fh.read  # type: ignore[attr-defined]
    seek = fh.seek  # type: ignore[attr-defined]
    seek(0)
    head = read(min(offset, FINGERPRINT_BYTES))
    tail_start = max(0, offset - FINGERPRINT_BYTES)
    seek(tail_start)
    tail = read(offset - tail_start)
    return _crc(head), _crc(tail)


FileState = tuple[int, int, int, int, int, str | None, str | None]  # dev, ino, size, mtime, offset, head, tail


def load_file_states(ledger: Ledger) -> dict[str, FileState]:
    rows = ledger.conn.execute("SELECT path, dev, ino, size, mtime_ns, offset, head_hash, tail_hash FROM files")
    return {r[0]: tuple(r[1:]) for r in rows}


def _file_state(ledger: Ledger, path: str) -> FileState | None:
    row = ledger.conn.execute(
        "SELECT dev, ino, size, mtime_ns, offset, head_hash, tail_hash FROM files WHERE path = ?", (path,)
    ).fetchone()
    return None if row is None else tuple(row)


def ingest_file(
    ledger: Ledger,
    tf: TranscriptFile,
    state: FileState | None = None,
    *,
    known: bool = False,
    st: os.stat_result | None = None,
) -> IngestResult:
    """Read the new bytes of one transcript into the ledger.

    `state` is the stored read position (looked up when not given and not `known`).
    """
    result = IngestResult(files_seen=1)
    key = str(tf.path)
    try:
        st = st or os.stat(key)
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            result.errors.append(f"{key}: {exc}")
        return result
    if state is None and not known:
        state = _file_state(ledger, key)
    if state is not None:
        dev, ino, size, mtime, _offset, _h, _t = state
        if (dev, ino, size, mtime) == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns):
            return result
    try:
        fh = open(key, "rb")  # noqa: SIM115 - closed in finally; a context manager hides the flow here
    except OSError as exc:
        result.errors.append(f"{key}: {exc}")
        return result
    try:
        start = 0
        if state is not None:
            dev, ino, _size, _mtime, offset, head, tail = state
            same_file = (dev, ino) == (st.st_dev, st.st_ino) and st.st_size >= offset
            if same_file and (offset == 0 or _fingerprints(fh, offset) == (head, tail)):
                start = offset
            if start == 0 and offset > 0:
                result.files_reset = 1
        agent_type = _agent_type_from_meta(tf)
        _read_from(ledger, tf, fh, start, st, agent_type, result)
    finally:
        fh.close()
    return result


def _read_from(
    ledger: Ledger,
    tf: TranscriptFile,
    fh: object,
    start: int,
    st: os.stat_result,
    agent_type: str | None,
    result: IngestResult,
) -> None:
    key = str(tf.path)
    read = fh.read  # type: ignore[attr-defined]
    fh.seek(start)  # type: ignore[attr-defined]
    offset = start
    pending = b""
    acc: dict[str, UsageRecord] = {}
    parsed_since_commit = 0
    stats = result.stats
    malformed_before = stats.malformed + stats.non_utf8
    touched = False
    while True:
        chunk = read(READ_CHUNK)
        if not chunk:
            break
        data = pending + chunk if pending else chunk
        used = parse_chunk(
            data, acc, stats, project_dir=tf.project_dir, default_session_id=tf.session_id,
            default_agent_type=agent_type,
        )  # fmt: skip
        pending = data[used:]
        offset += used
        parsed_since_commit += used
        result.bytes_read += len(chunk)
        if parsed_since_commit >= COMMIT_EVERY:
            _commit(ledger, key, acc, offset, st, fh, stats.malformed + stats.non_utf8 - malformed_before, tf)
            result.records += len(acc)
            acc = {}
            parsed_since_commit = 0
            touched = True
    if acc or not touched or offset != start:
        _commit(ledger, key, acc, offset, st, fh, stats.malformed + stats.non_utf8 - malformed_before, tf)
        result.records += len(acc)
    result.files_read = 1


def _commit(
    ledger: Ledger,
    key: str,
    acc: dict[str, UsageRecord],
    offset: int,
    st: os.stat_result,
    fh: object,
    malformed: int,
    tf: TranscriptFile,
) -> None:
    resume_at = fh.tell()  # type: ignore[attr-defined]
    head, tail = _fingerprints(fh, offset)
    fh.seek(resume_at)  # type: ignore[attr-defined]
    # The stored size/mtime must describe the bytes up to `offset`; if the file grew
    # past what we consumed, store the consumed size so the next stat re-reads.
    size = st.st_size if offset == st.st_size else offset
    with ledger.write():
        ledger.upsert_records(acc.values())
        ledger.conn.execute(
            "INSERT INTO files (path, dev, ino, size, mtime_ns, offset, head_hash, tail_hash, session_id,"
            " malformed, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(path) DO UPDATE SET dev=excluded.dev, ino=excluded.ino, size=excluded.size,"
            " mtime_ns=excluded.mtime_ns, offset=excluded.offset, head_hash=excluded.head_hash,"
            " tail_hash=excluded.tail_hash, malformed=files.malformed + excluded.malformed,"
            " updated_ms=excluded.updated_ms",
            (key, st.st_dev, st.st_ino, size, st.st_mtime_ns, offset, head, tail, tf.session_id, malformed,
             int(time.time() * 1000)),
        )  # fmt: skip


def ingest_files(
    ledger: Ledger,
    files: Iterable[TranscriptFile],
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Ingest many files; `progress(bytes_done, bytes_total)` is called for long backfills."""
    states = load_file_states(ledger)
    todo: list[tuple[TranscriptFile, os.stat_result, FileState | None]] = []
    total = IngestResult()
    for tf in files:
        key = str(tf.path)
        try:
            st = os.stat(key)
        except OSError:
            continue
        state = states.get(key)
        total.files_seen += 1
        if state is not None and state[:4] == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns):
            continue
        todo.append((tf, st, state))
    pending_bytes = sum(st.st_size - (s[4] if s else 0) for _, st, s in todo)
    done = 0
    for tf, st, state in todo:
        r = ingest_file(ledger, tf, state, known=True, st=st)
        r.files_seen = 0
        total.merge(r)
        done += r.bytes_read
        if progress is not None:
            progress(done, pending_bytes)
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

    files: list[TranscriptFile] = []
    for pdir in projects_dirs(claude_dir):
        files.extend(discover(pdir))
    return ingest_files(ledger, files, progress)


def ingest_session(ledger: Ledger, transcript_path: str | os.PathLike[str]) -> IngestResult:
    """Hot path: one session's transcript and its subagents, nothing else."""
    total = IngestResult()
    for tf in session_files(transcript_path):
        total.merge(ingest_file(ledger, tf))
    return total
