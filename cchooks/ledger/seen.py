"""Which transcripts the ledger has read to their end, as file stats, in a small file beside it.

The hot paths record here, after they ingest a session, the stat mark (`transcripts.stat_mark`: size,
mtime, inode, device) of each of its files whose read position in the ledger equals the file as it is,
which is exactly when the next ingest would skip the file. A hook whose session files all
still match then has nothing to read and finishes without importing SQLite (the statusline
usually read those bytes a moment before). It is only a shortcut: a missing, unreadable or
stale `<ledger>.seen` (or one written for another ledger file) is ignored, and the ledger's
own read positions decide, as always.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from cchooks.ledger.store import Ledger

SUFFIX = ".seen"
MAX_FILES = 512  # the most recently read files are kept; older ones just take the ledger's path


def _ledger_key(ledger_file: str) -> list[int] | None:
    try:
        st = os.stat(ledger_file)
    except OSError:
        return None
    return [st.st_dev, st.st_ino]


def _load(ledger_file: str) -> dict[str, str]:
    from cchooks.sidecar import read_json

    data = read_json(ledger_file + SUFFIX)
    if not isinstance(data, dict) or data.get("ledger") != _ledger_key(ledger_file):
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def all_read(ledger_file: str, paths: Iterable[str]) -> bool:
    """True when every one of `paths` is recorded as read to its current end."""
    from cchooks.ledger.transcripts import stat_mark

    files = _load(ledger_file)
    if not files:
        return False
    for path in paths:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue  # nothing to read (ingest skips it the same way)
        except OSError:
            return False
        if files.get(path) != stat_mark(st):
            return False
    return True


def record(ledger: Ledger, paths: Iterable[str]) -> None:
    """Record those of `paths` whose read position in `ledger` is their current end. Never raises
    for the file itself (it is a cache); the caller's ledger is only read."""
    from cchooks.ledger.ingest import file_mark
    from cchooks.ledger.transcripts import stat_mark

    ledger_file = ledger.path_str
    done: dict[str, str] = {}
    for path in paths:
        try:
            mark = stat_mark(os.stat(path))
        except OSError:
            continue
        if file_mark(ledger, path) == mark:
            done[path] = mark
    if not done:
        return
    ledger_key = _ledger_key(ledger_file)
    if ledger_key is None:
        return
    files = _load(ledger_file)
    if all(files.get(p) == v for p, v in done.items()):
        return  # already recorded: no rewrite on every refresh
    for path in done:
        files.pop(path, None)  # re-inserted last: the dict keeps the most recent at the end
    files.update(done)
    if len(files) > MAX_FILES:
        files = dict(list(files.items())[-MAX_FILES:])
    from cchooks.sidecar import overwrite

    # In place, not renamed over: a torn read is no JSON or a stale record, both only a miss.
    overwrite(ledger_file + SUFFIX, _encode(ledger_key, files))


def _encode(ledger_key: list[int], files: dict[str, str]) -> str:
    # By hand with the C string encoder: `import json` would cost the hot path ~7 ms.
    from _json import encode_basestring_ascii as quote

    body = ",".join(f"{quote(p)}:{quote(m)}" for p, m in files.items())
    return f'{{"ledger":[{ledger_key[0]},{ledger_key[1]}],"files":{{{body}}}}}'
