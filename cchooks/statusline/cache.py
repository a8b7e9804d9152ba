"""The statusline's last lines per session, printed again while nothing they depend on changed.

Claude Code re-runs the statusline on every update of its screen, often with nothing new to
show. A refresh whose inputs equal those of a render made less than FRESH_MS ago, within the
same minute, prints that render again without opening the ledger (or importing SQLite). The
inputs are: the payload's fields, the command line, the environment variables cchooks reads,
cchooks' version, the config file, and the stats of the session's transcripts, of the ledger
file and of its write-ahead log (with the log's header, whose salts change when it restarts).
Every commit to the ledger, by any process, changes the log's size or header, so a reused
line never hides new data; only the clock ages it, by less than FRESH_MS.

The key is taken before the ledger is opened: a write by anyone during the render (our own
ingest included) changes the ledger's stats, so that render is never reused. The cache file
(`<ledger>.statusline`) holds at most MAX_SESSIONS entries; a missing or broken one is a miss.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.statusline.payload import StatusPayload

SUFFIX = ".statusline"
FRESH_MS = 5_000
MAX_SESSIONS = 16
_ENV_PREFIXES = ("CCHOOKS_", "CLAUDE", "XDG_", "LC_")
_ENV_NAMES = frozenset({"NO_COLOR", "TZ", "HOME", "LANG", "COLUMNS", "TERM"})


def _stat(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _wal_header(ledger_file: str) -> str:
    try:
        with open(ledger_file + "-wal", "rb") as fh:
            return fh.read(32).hex()
    except OSError:
        return "-"


def make_key(
    payload: StatusPayload, argv: list[str], ledger_file: str, config_file: str, transcripts: list[str]
) -> str:
    """Everything a render depends on besides the clock, as one string."""
    from cchooks import __version__

    fields = [repr(getattr(payload, name)) for name in payload.__slots__ if name != "rate_limits"]
    fields.extend(
        f"{k}={lim.window},{lim.used_percentage!r},{lim.resets_at_ms}" for k, lim in sorted(payload.rate_limits.items())
    )
    env = sorted(
        (k, v) for k, v in os.environ.items() if k in _ENV_NAMES or k.startswith(_ENV_PREFIXES)
    )
    parts = [
        __version__, repr(argv), repr(env), "|".join(fields), config_file, _stat(config_file),
        _stat(ledger_file), _stat(ledger_file + "-wal"), _wal_header(ledger_file),
        *(f"{p}={_stat(p)}" for p in transcripts),
    ]  # fmt: skip
    return "\n".join(parts)


def _load(ledger_file: str) -> dict[str, list[object]]:
    from cchooks.sidecar import read_json

    data = read_json(ledger_file + SUFFIX)
    return data if isinstance(data, dict) else {}


def lookup(ledger_file: str, session: str, key: str, now_ms: int) -> list[str] | None:
    """The lines rendered for `key` within FRESH_MS and the same minute, else None."""
    entry = _load(ledger_file).get(session)
    if not isinstance(entry, list) or len(entry) != 3:
        return None
    at, cached_key, lines = entry
    if cached_key != key or not isinstance(at, int) or not isinstance(lines, list):
        return None
    if not 0 <= now_ms - at < FRESH_MS or now_ms // 60_000 != at // 60_000:
        return None
    return [str(line) for line in lines]


def store(ledger_file: str, session: str, key: str, now_ms: int, lines: list[str]) -> None:
    """Remember `lines` for `key` (never raises: it is only a cache)."""
    from _json import encode_basestring_ascii as quote

    entries = _load(ledger_file)
    entries.pop(session, None)
    entries[session] = [now_ms, key, lines]
    items = list(entries.items())[-MAX_SESSIONS:]
    # By hand with the C string encoder: `import json` would cost ~7 ms on every refresh.
    body = ",".join(
        f"{quote(str(s))}:[{int(e[0]) if isinstance(e[0], int) else 0},{quote(str(e[1]))},"
        f"[{','.join(quote(str(x)) for x in e[2])}]]"
        for s, e in items
        if isinstance(e, list) and len(e) == 3 and isinstance(e[2], list)
    )
    from cchooks.sidecar import write_atomic

    write_atomic(ledger_file + SUFFIX, "{" + body + "}")
