"""The dashboard's routes: the page, its static files, the JSON API (docs/api.md) and live events.

Every figure comes from the builders the CLI uses (`cchooks.reports.query`), so a number on the
page is the number `cchooks report ... --json` prints. Endpoints are plain functions: Starlette
runs them in its worker threads, each with its own ledger connection (SQLite connections are not
shared between threads). Answers are cached per URL until the ledger file changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cchooks.config import ConfigError
from cchooks.ledger.store import Ledger

STATIC = Path(__file__).resolve().parent / "static"
CACHE_SIZE = 128
EVENT_POLL_S = 0.25  # how often an open events stream looks for a ledger change
HEARTBEAT_S = 15.0


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def change_token(path: str) -> tuple[int, ...]:
    """Changes whenever a transaction commits to the ledger (its WAL or main file is written)."""
    out: list[int] = []
    for p in (path, path + "-wal"):
        try:
            st = os.stat(p)
            out += [st.st_mtime_ns, st.st_size]
        except OSError:
            out += [0, 0]
    return tuple(out)


class Dashboard:
    """State shared by the dashboard routes: where the ledger and config are, and what serves them."""

    def __init__(
        self,
        ledger_path: str,
        config_path: str | None = None,
        *,
        stopping: threading.Event | None = None,
        status: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.ledger_path = ledger_path
        self.config_path = config_path
        self.stopping = stopping or threading.Event()
        self.status = status or dict
        self._local = threading.local()
        self._cache: OrderedDict[tuple[str, tuple[int, ...]], bytes] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._config: tuple[tuple[int, ...], Any] | None = None

    # -- plumbing -------------------------------------------------------------------------
    def ledger(self) -> Ledger:
        led: Ledger | None = getattr(self._local, "ledger", None)
        if led is None:
            led = Ledger.open(self.ledger_path)
            self._local.ledger = led
        return led

    def config(self) -> Any:
        """The config, read again only when its file changes (a daemon must follow edits)."""
        from cchooks.config import load_config

        stamp = self._config_stamp()
        cached = self._config
        if cached is not None and cached[0] == stamp:
            return cached[1]
        cfg = load_config(self.config_path)
        self._config = (stamp, cfg)
        return cfg

    def _config_stamp(self) -> tuple[int, ...]:
        from cchooks.paths import clean_path, config_file_str

        path = clean_path(self.config_path) if self.config_path else config_file_str()
        try:
            st = os.stat(path)
        except OSError:
            return ()
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _json(self, request: Request, build: Callable[[], Any], *, cache: bool = True) -> Response:
        # Cached until the ledger or the config file changes (prices, zone and plan live there).
        key = (str(request.url.path) + "?" + str(request.url.query),
               change_token(self.ledger_path) + self._config_stamp())  # fmt: skip
        if cache:
            with self._cache_lock:
                body = self._cache.get(key)
            if body is not None:
                return Response(body, 200, media_type="application/json")
        try:
            doc = build()
        except ApiError as exc:
            return JSONResponse({"error": exc.message}, exc.status)
        except ValueError as exc:  # bad zone, bound or plan
            return JSONResponse({"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}, 400)
        except ConfigError as exc:
            return JSONResponse({"error": str(exc).splitlines()[0]}, 500)
        body = json.dumps(doc, separators=(",", ":")).encode()
        if cache:
            with self._cache_lock:
                self._cache[key] = body
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return Response(body, 200, media_type="application/json")

    @staticmethod
    def _q(request: Request, name: str) -> str | None:
        v = request.query_params.get(name)
        return v if v else None

    # -- routes ---------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.index, methods=["GET", "HEAD"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Route("/api/report/{group}", self.report, methods=["GET"]),
            Route("/api/limits", self.limits, methods=["GET"]),
            Route("/api/sessions/{session_id}", self.session, methods=["GET"]),
            Route("/api/entries", self.entries, methods=["GET", "POST"]),
            Route("/api/entries/audit", self.audit, methods=["GET"]),
            Route("/api/entries/{entry_id:int}", self.entry, methods=["GET", "PUT", "PATCH", "DELETE"]),
            Route("/api/status", self.api_status, methods=["GET"]),
            Route("/api/events", self.events, methods=["GET"]),
        ]

    def index(self, _request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    def report(self, request: Request) -> Response:
        group = request.path_params["group"]

        def build() -> Any:
            from cchooks.reports.query import GROUPS, Blocks, report_document

            if group == "blocks":
                from cchooks.monitor.data import ViewContext

                led = self.ledger()
                ctx = ViewContext.load(led, tz=self._q(request, "tz"), config=self.config_path)
                active = request.query_params.get("active") in ("1", "true")
                return Blocks(led, ctx, self._q(request, "since"), self._q(request, "until"), active).to_json()
            if group not in GROUPS:
                raise ApiError(404, f"unknown report {group!r}; one of {', '.join((*GROUPS, 'blocks'))}")
            return report_document(
                self.ledger(), self.config(), group,
                breakdown=request.query_params.get("breakdown") in ("1", "true"),
                tz=self._q(request, "tz"), since=self._q(request, "since"), until=self._q(request, "until"),
                session=self._q(request, "session"), project=self._q(request, "project"),
            )  # fmt: skip

        return self._json(request, build)

    def limits(self, request: Request) -> Response:
        def build() -> Any:
            from cchooks.monitor.data import ViewContext
            from cchooks.reports.query import limits_document

            led = self.ledger()
            ctx = ViewContext.load(led, plan=self._q(request, "plan"), tz=self._q(request, "tz"),
                                   config=self.config_path)  # fmt: skip
            return limits_document(led, ctx)

        # Not cached: "time to reset" and the window edges move with the clock.
        return self._json(request, build, cache=False)

    def session(self, request: Request) -> Response:
        sid = request.path_params["session_id"]

        def build() -> Any:
            from cchooks.api import price_table
            from cchooks.reports.session import session_document

            led = self.ledger()
            doc = session_document(led, sid, price_table(led, self.config().price_overrides()))
            if doc is None:
                raise ApiError(404, f"no session {sid[:100]!r} in the ledger")
            return doc

        return self._json(request, build)

    async def entries(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            if isinstance(body, Response):
                return body
            return await asyncio.to_thread(self._add_entry, body)
        return await asyncio.to_thread(self._list_entries, request)

    def _list_entries(self, request: Request) -> Response:
        def build() -> Any:
            from cchooks.ledger.entries import list_entries
            from cchooks.timezones import parse_day_bound, resolve_tz
            from cchooks.totals import SCHEMA_VERSION

            zone = resolve_tz(self._q(request, "tz") or self.config().report.timezone)
            since, until = self._q(request, "since"), self._q(request, "until")
            rows = list_entries(
                self.ledger(), parse_day_bound(since, zone) if since else None,
                parse_day_bound(until, zone, end=True) if until else None,
            )  # fmt: skip
            return {"schema_version": SCHEMA_VERSION, "entries": [e.to_json() for e in rows]}

        return self._json(request, build)

    def _add_entry(self, body: dict[str, Any]) -> Response:
        from cchooks.ledger.entries import EntryError, add_entry

        try:
            e = add_entry(
                self.ledger(), body.get("input_tokens"), body.get("output_tokens"), model=body.get("model"),
                note=body.get("note") or "", ts_ms=body.get("ts_ms"), origin="dashboard",
            )  # fmt: skip
        except EntryError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(e.to_json(), 201)

    async def entry(self, request: Request) -> Response:
        entry_id: int = request.path_params["entry_id"]
        body: dict[str, Any] = {}
        if request.method in ("PUT", "PATCH"):
            got = await _json_body(request)
            if isinstance(got, Response):
                return got
            body = got
        return await asyncio.to_thread(self._entry, request.method, entry_id, body)

    def _entry(self, method: str, entry_id: int, body: dict[str, Any]) -> Response:
        from cchooks.ledger.entries import EntryError, delete_entry, get_entry, update_entry

        led = self.ledger()
        try:
            if method == "GET":
                e = get_entry(led, entry_id)
                if e is None:
                    raise KeyError(entry_id)
            elif method == "DELETE":
                e = delete_entry(led, entry_id, origin="dashboard")
            else:
                e = update_entry(led, entry_id, body, origin="dashboard")
        except KeyError:
            return JSONResponse({"error": f"no manual entry {entry_id}"}, 404)
        except EntryError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(e.to_json())

    def audit(self, request: Request) -> Response:
        def build() -> Any:
            from cchooks.ledger.entries import audit_trail
            from cchooks.totals import SCHEMA_VERSION

            eid = self._q(request, "entry")
            return {"schema_version": SCHEMA_VERSION,
                    "audit": audit_trail(self.ledger(), int(eid) if eid and eid.isdigit() else None)}  # fmt: skip

        return self._json(request, build)

    def api_status(self, request: Request) -> Response:
        def build() -> Any:
            return {"change": list(change_token(self.ledger_path)), **self.status()}

        return self._json(request, build, cache=False)

    async def events(self, request: Request) -> Response:
        """Server-sent events: `change` whenever the ledger commits, a comment every HEARTBEAT_S."""

        async def stream() -> AsyncIterator[bytes]:
            last = change_token(self.ledger_path)
            yield b"retry: 1000\nevent: hello\ndata: {}\n\n"
            idle = 0.0
            while not self.stopping.is_set():
                await asyncio.sleep(EVENT_POLL_S)
                if await request.is_disconnected():
                    return
                now = change_token(self.ledger_path)
                if now != last:
                    last = now
                    idle = 0.0
                    yield b"event: change\ndata: {}\n\n"
                else:
                    idle += EVENT_POLL_S
                    if idle >= HEARTBEAT_S:
                        idle = 0.0
                        yield b": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})  # fmt: skip


async def _json_body(request: Request) -> dict[str, Any] | Response:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        # A form cannot send JSON cross-site without a preflight we never answer.
        return JSONResponse({"error": "send Content-Type: application/json"}, 415)
    raw = await request.body()
    if len(raw) > 64 << 10:
        return JSONResponse({"error": "body too large"}, 413)
    try:
        body = json.loads(raw)
    except ValueError:
        return JSONResponse({"error": "body is not JSON"}, 400)
    if not isinstance(body, dict):
        return JSONResponse({"error": "body must be a JSON object"}, 400)
    return body
