"""The dashboard's documents, built in a worker process (see `cchooks.server.dashboard`).

`build(kind, ledger_path, config_path, params)` returns `(status, JSON body)`; it calls the
builders the CLI uses, so a document is what the command prints. It runs in a child process
(`python -m cchooks.server.documents`) so the daemon's own memory stays small: a year of records
for the limits is tens of MB that the worker gives back when it exits. The protocol on its stdin
and stdout: one JSON request per line, `{"kind", "ledger", "config", "params"}`; the answer is a line
`STATUS LENGTH` and then LENGTH bytes of JSON. The worker exits at the end of its input (so also
when the daemon dies). Each worker keeps one ledger connection and the parsed config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

_ledgers: dict[str, Any] = {}
_configs: dict[str | None, tuple[tuple[int, ...], Any]] = {}
READ_CACHE_KIB = 1024  # SQLite page cache of the connection (the OS caches the file too)


class DocumentError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _ledger(path: str) -> Any:
    from cchooks.ledger.store import Ledger

    led = _ledgers.get(path)
    if led is None:
        led = Ledger.open(path)
        led.set_cache_kib(READ_CACHE_KIB)
        _ledgers[path] = led
    return led


def config_stamp(config_path: str | None) -> tuple[int, ...]:
    from cchooks.paths import clean_path, config_file_str

    path = clean_path(config_path) if config_path else config_file_str()
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _config(config_path: str | None) -> Any:
    """The config, read again only when its file changes (a daemon must follow edits)."""
    from cchooks.config import load_config

    stamp = config_stamp(config_path)
    cached = _configs.get(config_path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    cfg = load_config(config_path)
    _configs[config_path] = (stamp, cfg)
    return cfg


def _document(kind: str, ledger_path: str, config_path: str | None, q: Mapping[str, str]) -> Any:
    led = _ledger(ledger_path)
    if kind == "report":
        from cchooks.reports.query import GROUPS, Blocks, report_document

        group = q.get("group", "")
        if group == "blocks":
            from cchooks.monitor.data import ViewContext

            ctx = ViewContext.load(led, tz=q.get("tz"), config=config_path)
            return Blocks(led, ctx, q.get("since"), q.get("until"), q.get("active") in ("1", "true")).to_json()
        if group not in GROUPS:
            raise DocumentError(404, f"unknown report {group!r}; one of {', '.join((*GROUPS, 'blocks'))}")
        return report_document(
            led, _config(config_path), group, breakdown=q.get("breakdown") in ("1", "true"), tz=q.get("tz"),
            since=q.get("since"), until=q.get("until"), session=q.get("session"), project=q.get("project"),
        )  # fmt: skip
    if kind == "limits":
        from cchooks.monitor.data import ViewContext
        from cchooks.reports.query import limits_document

        ctx = ViewContext.load(led, plan=q.get("plan"), tz=q.get("tz"), config=config_path)
        return limits_document(led, ctx)
    if kind == "session":
        from cchooks.api import price_table
        from cchooks.reports.session import session_document

        sid = q.get("session_id", "")
        doc = session_document(led, sid, price_table(led, _config(config_path).price_overrides()))
        if doc is None:
            raise DocumentError(404, f"no session {sid[:100]!r} in the ledger")
        return doc
    if kind == "entries":
        from cchooks.ledger.entries import list_entries
        from cchooks.timezones import parse_day_bound, resolve_tz
        from cchooks.totals import SCHEMA_VERSION

        zone = resolve_tz(q.get("tz") or _config(config_path).report.timezone)
        since, until = q.get("since"), q.get("until")
        rows = list_entries(led, parse_day_bound(since, zone) if since else None,
                            parse_day_bound(until, zone, end=True) if until else None)  # fmt: skip
        return {"schema_version": SCHEMA_VERSION, "entries": [e.to_json() for e in rows]}
    if kind == "audit":
        from cchooks.ledger.entries import audit_trail
        from cchooks.totals import SCHEMA_VERSION

        eid = q.get("entry")
        return {"schema_version": SCHEMA_VERSION, "audit": audit_trail(led, int(eid) if eid and eid.isdigit() else None)}
    raise DocumentError(404, f"no such document {kind!r}")


def build(kind: str, ledger_path: str, config_path: str | None, params: Mapping[str, str]) -> tuple[int, bytes]:
    """(HTTP status, JSON body) of one document; a bad argument is a 4xx answer, never an exception."""
    from cchooks.config import ConfigError

    try:
        doc = _document(kind, ledger_path, config_path, params)
    except DocumentError as exc:
        return exc.status, _error(exc.message)
    except ValueError as exc:  # bad zone, bound or plan
        return 400, _error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except ConfigError as exc:
        return 500, _error(str(exc).splitlines()[0])
    return 200, json.dumps(doc, separators=(",", ":")).encode()


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


def main() -> int:
    """The worker loop (see the module docstring)."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is the daemon's to handle
    # Answers go to the real stdout; anything else that prints lands on stderr, not in the protocol.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            status, body = build(str(req["kind"]), str(req["ledger"]), req.get("config"),
                                 {str(k): str(v) for k, v in dict(req.get("params") or {}).items()})  # fmt: skip
        except Exception as exc:  # a bug in a builder is one failed answer, not a dead worker
            status, body = 500, _error(f"{type(exc).__name__}: {exc}"[:500])
        out.write(f"{status} {len(body)}\n".encode() + body)
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
