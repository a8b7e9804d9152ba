"""Where Claude Code's transcripts are, and what their paths say (project folder, session, agent).

`<config dir>/projects/<project folder>/<session>.jsonl` is a session's main transcript;
`<session>/subagents/agent-<id>.jsonl` beside it, its subagents' (shared/docs/formats.md).
"""

from __future__ import annotations

import os

from cchooks.paths import clean_path
from cchooks.records import SlotRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator


class TranscriptFile(SlotRecord):
    """A transcript on disk (`path`, a str in pathlib's normal form) and what its location says about it."""

    __slots__ = ("path", "project_dir", "session_id", "agent_id")

    def __init__(
        self, path: str, project_dir: str, session_id: str | None, agent_id: str | None = None
    ) -> None:
        self.path = path
        self.project_dir = project_dir
        # from the file name (main transcripts) or the session folder (subagents)
        self.session_id = session_id
        self.agent_id = agent_id


def describe(path: str | os.PathLike[str]) -> TranscriptFile:
    """Infer project folder, session and agent from a transcript's path."""
    p = clean_path(os.fspath(path))
    parent, name = os.path.split(p)
    if os.path.basename(parent) == "subagents":
        session_dir = os.path.dirname(parent)
        agent = name[len("agent-") : -len(".jsonl")] if name.startswith("agent-") else None
        project_dir = os.path.basename(os.path.dirname(session_dir))
        return TranscriptFile(p, project_dir, os.path.basename(session_dir), agent)
    session = name[: -len(".jsonl")] if name.endswith(".jsonl") else None
    return TranscriptFile(p, os.path.basename(parent), session)


def walk(projects_dir: str | os.PathLike[str]) -> Iterator[tuple[str, str, str, str | None]]:
    """(path, project folder, session, agent) of every main and subagent transcript under one
    `projects/` folder; paths in pathlib's normal form (scandir joins names onto the cleaned root)."""
    try:
        projects = list(os.scandir(clean_path(os.fspath(projects_dir))))
    except OSError:
        return
    for proj in projects:
        if not proj.is_dir(follow_symlinks=False):
            continue
        try:
            entries = list(os.scandir(proj.path))
        except OSError:
            continue
        project = proj.name
        for entry in entries:
            name = entry.name
            if name.endswith(".jsonl") and entry.is_file():
                yield entry.path, project, name[:-6], None
            elif entry.is_dir(follow_symlinks=False):
                # a list, not a nested generator: the scan before every report walks each file once
                for path, agent in _agent_files(entry.path):
                    yield path, project, name, agent


def _agent_files(session_dir: str) -> list[tuple[str, str]]:
    """(path, agent id) of each `<session>/subagents/agent-<id>.jsonl`."""
    try:
        entries = list(os.scandir(os.path.join(session_dir, "subagents")))
    except OSError:
        return []
    return [
        (e.path, n[6:-6]) for e in entries if (n := e.name).startswith("agent-") and n.endswith(".jsonl") and e.is_file()
    ]


def discover(projects_dir: str | os.PathLike[str]) -> Iterator[TranscriptFile]:
    """Every main and subagent transcript under one `projects/` folder."""
    for path, project, session, agent in walk(projects_dir):
        yield TranscriptFile(path, project, session, agent)


def _subagents(session_dir: str, project_dir: str) -> Iterator[TranscriptFile]:
    session = os.path.basename(session_dir)
    for path, agent in _agent_files(session_dir):
        yield TranscriptFile(path, project_dir, session, agent)


def session_files(transcript_path: str | os.PathLike[str]) -> list[TranscriptFile]:
    """A session's own transcript plus its subagent transcripts (the hook hot path)."""
    first = describe(transcript_path)
    files = [first]
    parent, name = os.path.split(first.path)
    if name.endswith(".jsonl") and name != ".jsonl" and os.path.basename(parent) != "subagents":
        files.extend(_subagents(first.path[: -len(".jsonl")], os.path.basename(parent)))
    return files


def stat_mark(st: os.stat_result) -> str:
    """A file's stat as the ledger's read positions are compared (`ingest.load_file_marks`
    builds the same string in SQL): equal exactly when size, mtime, inode and device all are."""
    return f"{st.st_size},{st.st_mtime_ns},{st.st_ino},{st.st_dev}"
