"""What to watch: each config dir's `projects/` recursively, or its nearest existing ancestor until it exists.

Pure path logic (plus `os.stat`), kept apart from watchdog so it is easy to test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class WatchTarget:
    """One directory to schedule.

    `watch_path` is the real path given to the observer (symlinks resolved, so inotify follows them);
    `shown_path` is the path as configured, which events are translated back to, so the ledger's per-file
    read positions use the same keys as `cchooks ingest`.
    """

    watch_path: str
    shown_path: str
    recursive: bool  # True: a projects/ dir itself; False: an ancestor waiting for it to appear


def nearest_existing_dir(path: Path) -> Path | None:
    """`path` itself or its closest ancestor that is a directory."""
    p = path
    while True:
        if p.is_dir():
            return p
        if p.parent == p:
            return None
        p = p.parent


def desired_targets(roots: Sequence[Path]) -> list[WatchTarget]:
    """The watches that cover every root now, without duplicates, in root order."""
    out: dict[tuple[str, bool], WatchTarget] = {}
    for root in roots:
        base = nearest_existing_dir(root)
        if base is None:
            continue
        recursive = base == root
        target = WatchTarget(os.path.realpath(base), str(base), recursive)
        out.setdefault((target.watch_path, recursive), target)
    return list(out.values())


def translate(path: str, targets: Sequence[WatchTarget]) -> str:
    """An event path under a watch's real path, rewritten under the path as configured."""
    best: WatchTarget | None = None
    for t in targets:
        w = t.watch_path
        if (path == w or path.startswith(w.rstrip(os.sep) + os.sep)) and (
            best is None or len(w) > len(best.watch_path)
        ):
            best = t
    if best is None or best.watch_path == best.shown_path:
        return path
    return best.shown_path + path[len(best.watch_path) :]


def is_within(path: str, root: Path) -> bool:
    r = str(root)
    return path == r or path.startswith(r.rstrip(os.sep) + os.sep)


def on_the_way_to(path: str, roots: Sequence[Path]) -> bool:
    """True when `path` is a root or one of its ancestors (its appearing or vanishing moves a watch)."""
    return any(path == str(r) or is_within(str(r), Path(path)) for r in roots)


def transcript_kind(path: str, roots: Sequence[Path]) -> Path | None:
    """The root whose transcript `path` is (`<root>/<project>/<session>.jsonl` or
    `<root>/<project>/<session>/subagents/agent-<id>.jsonl`), else None."""
    if not path.endswith(".jsonl"):
        return None
    for root in roots:
        if not is_within(path, root):
            continue
        parts = Path(path).relative_to(root).parts
        if len(parts) == 2:
            return root
        if len(parts) == 4 and parts[2] == "subagents" and parts[3].startswith("agent-"):
            return root
    return None


def root_of(path: str, roots: Sequence[Path]) -> Path | None:
    for root in roots:
        if is_within(path, root):
            return root
    return None


def transcripts_under(directory: Path, root: Path) -> Iterator[Path]:
    """Every transcript inside `directory`, which lies inside the projects dir `root`."""
    try:
        depth = len(directory.relative_to(root).parts)
    except ValueError:
        return
    if depth > 3:
        return
    for dirpath, dirnames, filenames in os.walk(directory):
        d = Path(dirpath)
        level = len(d.relative_to(root).parts)
        if level >= 3:
            dirnames[:] = []
        elif level == 2:
            dirnames[:] = [n for n in dirnames if n == "subagents"]
        for name in filenames:
            p = str(d / name)
            if transcript_kind(p, [root]) is not None:
                yield d / name
