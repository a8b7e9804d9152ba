"""The dashboard's routes: the page, its static files, the JSON API (docs/api.md) and live events.

Every figure comes from the builders the CLI uses (`cchooks.reports.query`), so a number on the
page is the number `cchooks report ... --json` prints. Documents are built on a small worker pool
(two threads, each with its own ledger connection: SQLite connections are not shared between
threads, and more threads would only add memory) and cached per URL until the ledger or the
config file changes. A warmer thread rebuilds the documents the open pages use as soon as the
ledger changes, and only then tells the pages (server-sent `change`), so their re-fetch is a
cache hit: the page stays fast on a year of data.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cchooks.config import ConfigError
from cchooks.ledger.store import Ledger

STATIC = Path(__file__).resolve().parent / "static"
CACHE_BYTES = 8 << 20  # cached answers, all together (a year's session list is ~250 KB)
HOT_URLS = 8  # the warmer keeps at most this many recently requested documents fresh
READ_CACHE_KIB = 1024  # SQLite page cache of each reading connection (the OS caches the file too)
WORKERS = 2
EVENT_POLL_S = 0.25  # how often the warmer and the event streams look for a change
HEARTBEAT_S = 15.0
HOT_S = 600.0  # a URL requested within this long is rebuilt by the warmer after a change
LIMITS_MAX_AGE_S = 300.0  # the windows move with the clock: rebuilt after this long even unchanged
SLOW_BUILD_S = 0.02  # after a build this slow, give freed memory back to the OS (glibc)
DEFAULT_DAYS = 30  # the page's default range (app.js: preset "30")


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


def _malloc_trim() -> Callable[[], None]:
    """glibc's malloc_trim(0): big reports leave freed arenas that RSS would otherwise keep."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return lambda: None

    def run() -> None:
        trim(0)

    return run


_trim = _malloc_trim()
Builder = Callable[[], Any]


class _Cached:
    __slots__ = ("stamp", "at", "body")

    def __init__(self, stamp: tuple[int, ...], at: float, body: bytes) -> None:
        self.stamp = stamp
        self.at = at
        self.body = body


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
        self.generation = 0  # bumped after the warmer rebuilt what changed; the event streams watch it
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="cchooks-api")
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._hot: dict[str, tuple[float, Builder, float | None]] = {}  # url -> (last used, build, max age)
        self._lock = threading.Lock()
        self._cached_bytes = 0
        self._config: tuple[tuple[int, ...], Any] | None = None
        self._warmer: threading.Thread | None = None
        self._page: bytes | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Build the page's default documents now and keep the open pages' documents warm."""
        (limits, limits_age), (daily, _) = self._default_urls()
        now = time.monotonic()
        self._hot[limits] = (now, self._limits_builder({}), limits_age)
        self._hot[daily] = (now, self._report_builder("daily", {"since": daily.split("=", 1)[1]}), None)
        self._warmer = threading.Thread(target=self._warm_loop, name="cchooks-warmer", daemon=True)
        self._warmer.start()

    def close(self) -> None:
        self.stopping.set()
        if self._warmer is not None:
            self._warmer.join(10)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- plumbing -------------------------------------------------------------------------
    def ledger(self) -> Ledger:
        led: Ledger | None = getattr(self._local, "ledger", None)
        if led is None:
            led = Ledger.open(self.ledger_path)
            led.conn.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
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

    def stamp(self) -> tuple[int, ...]:
        """What a cached document depends on: the ledger and the config file (prices, zone, plan)."""
        return change_token(self.ledger_path) + self._config_stamp()

    def _build(self, url: str, stamp: tuple[int, ...], build: Builder, cache: bool) -> tuple[bytes, int]:
        """Run a builder (on a worker or the warmer thread); errors are answers, never cached."""
        t0 = time.perf_counter()
        try:
            doc = build()
        except ApiError as exc:
            return json.dumps({"error": exc.message}).encode(), exc.status
        except ValueError as exc:  # bad zone, bound or plan
            return json.dumps({"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}).encode(), 400
        except ConfigError as exc:
            return json.dumps({"error": str(exc).splitlines()[0]}).encode(), 500
        body = json.dumps(doc, separators=(",", ":")).encode()
        del doc
        if cache:
            with self._lock:
                old = self._cache.pop(url, None)
                self._cached_bytes += len(body) - (len(old.body) if old else 0)
                self._cache[url] = _Cached(stamp, time.monotonic(), body)
                while self._cached_bytes > CACHE_BYTES and len(self._cache) > 1:
                    self._cached_bytes -= len(self._cache.popitem(last=False)[1].body)
        if time.perf_counter() - t0 > SLOW_BUILD_S:
            _trim()
        return body, 200

    def _fresh(self, url: str, stamp: tuple[int, ...], max_age: float | None) -> bytes | None:
        with self._lock:
            c = self._cache.get(url)
        if c is None or c.stamp != stamp or (max_age is not None and time.monotonic() - c.at > max_age):
            return None
        return c.body

    async def _answer(self, request: Request, build: Builder, *, max_age: float | None = None,
                      cache: bool = True) -> Response:  # fmt: skip
        url = request.url.path + "?" + request.url.query
        stamp = self.stamp()
        if cache:
            with self._lock:
                self._hot[url] = (time.monotonic(), build, max_age)
                if len(self._hot) > HOT_URLS:
                    del self._hot[min(self._hot, key=lambda u: self._hot[u][0])]
            body = self._fresh(url, stamp, max_age)
            if body is not None:
                return Response(body, 200, media_type="application/json")
        loop = asyncio.get_running_loop()
        body, status = await loop.run_in_executor(self._pool, self._build, url, stamp, build, cache)
        return Response(body, status, media_type="application/json")

    async def _run(self, fn: Callable[..., Response], *args: Any) -> Response:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _warm_loop(self) -> None:
        last: tuple[int, ...] | None = None
        while not self.stopping.is_set():
            stamp = self.stamp()
            changed = stamp != last
            now = time.monotonic()
            with self._lock:
                hot = sorted(self._hot.items(), key=lambda kv: -kv[1][0])
            for url, (used, build, max_age) in hot:
                if now - used > HOT_S:
                    with self._lock:
                        self._hot.pop(url, None)
                    continue
                # Unchanged documents are rebuilt only when about to expire (the limits' clock).
                if changed or (max_age is not None and self._fresh(url, stamp, max_age - 30) is None):
                    if self.stopping.is_set():
                        return
                    with contextlib.suppress(Exception):  # a build error is the request's to report
                        self._build(url, stamp, build, True)
            if changed:
                last = stamp
                self.generation += 1
                if hot:
                    gc.collect()  # the builds' garbage, then give the freed memory back
                    _trim()
            self.stopping.wait(EVENT_POLL_S)

    @staticmethod
    def _params(request: Request) -> dict[str, str]:
        return {k: v for k, v in request.query_params.items() if v}

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

    def _template(self) -> bytes:
        """index.html with app.css and app.js inlined: the page is one request (read once)."""
        if self._page is None:
            html = (STATIC / "index.html").read_text("utf-8")
            css = (STATIC / "app.css").read_text("utf-8")
            js = (STATIC / "app.js").read_text("utf-8").replace("</script", "<\\/script")
            html = html.replace('<link rel="stylesheet" href="/static/app.css">', f"<style>\n{css}</style>")
            html = html.replace('<script src="/static/app.js"></script>', f"<script>\n{js}</script>")
            self._page = html.encode("utf-8")
        return self._page

    def index(self, _request: Request) -> Response:
        """The page, with the default view's documents when the cache has them fresh (no round trip)."""
        stamp = self.stamp()
        preload: list[bytes] = []
        for url, max_age in self._default_urls():
            body = self._fresh(url, stamp, max_age)
            if body is not None:
                # "</" cannot end the script early once escaped ("\/" is the same string in JSON).
                preload.append(json.dumps(url).encode() + b":" + body.replace(b"</", b"<\\/"))
        script = b"<script>window.CCHOOKS_PRELOAD={" + b",".join(preload) + b"};</script>" if preload else b""
        page = self._template().replace(b"<!--preload-->", script, 1)
        return Response(page, 200, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})

    @staticmethod
    def _default_urls() -> list[tuple[str, float | None]]:
        """The URLs app.js asks for on a plain `/` (range: the last DEFAULT_DAYS days)."""
        since = (date.today() - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        return [("/api/limits?", LIMITS_MAX_AGE_S), (f"/api/report/daily?since={since}", None)]

    def _report_builder(self, group: str, q: Mapping[str, str]) -> Builder:
        def build() -> Any:
            from cchooks.reports.query import GROUPS, Blocks, report_document

            if group == "blocks":
                from cchooks.monitor.data import ViewContext

                led = self.ledger()
                ctx = ViewContext.load(led, tz=q.get("tz"), config=self.config_path)
                return Blocks(led, ctx, q.get("since"), q.get("until"), q.get("active") in ("1", "true")).to_json()
            if group not in GROUPS:
                raise ApiError(404, f"unknown report {group!r}; one of {', '.join((*GROUPS, 'blocks'))}")
            return report_document(
                self.ledger(), self.config(), group, breakdown=q.get("breakdown") in ("1", "true"),
                tz=q.get("tz"), since=q.get("since"), until=q.get("until"), session=q.get("session"),
                project=q.get("project"),
            )  # fmt: skip

        return build

    async def report(self, request: Request) -> Response:
        group = request.path_params["group"]
        # Blocks carry "now" and the active block's remaining time: short-lived like the limits.
        max_age = LIMITS_MAX_AGE_S if group == "blocks" else None
        return await self._answer(request, self._report_builder(group, self._params(request)), max_age=max_age)

    def _limits_builder(self, q: Mapping[str, str]) -> Builder:
        def build() -> Any:
            from cchooks.monitor.data import ViewContext
            from cchooks.reports.query import limits_document

            led = self.ledger()
            ctx = ViewContext.load(led, plan=q.get("plan"), tz=q.get("tz"), config=self.config_path)
            return limits_document(led, ctx)

        return build

    async def limits(self, request: Request) -> Response:
        # The windows move with the clock: a cached answer is at most LIMITS_MAX_AGE_S old (the page
        # counts the time to reset from `reset_at_ms` itself).
        return await self._answer(request, self._limits_builder(self._params(request)), max_age=LIMITS_MAX_AGE_S)

    async def session(self, request: Request) -> Response:
        sid = request.path_params["session_id"]

        def build() -> Any:
            from cchooks.api import price_table
            from cchooks.reports.session import session_document

            led = self.ledger()
            doc = session_document(led, sid, price_table(led, self.config().price_overrides()))
            if doc is None:
                raise ApiError(404, f"no session {sid[:100]!r} in the ledger")
            return doc

        return await self._answer(request, build)

    async def entries(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            if isinstance(body, Response):
                return body
            return await self._run(self._add_entry, body)
        q = self._params(request)

        def build() -> Any:
            from cchooks.ledger.entries import list_entries
            from cchooks.timezones import parse_day_bound, resolve_tz
            from cchooks.totals import SCHEMA_VERSION

            zone = resolve_tz(q.get("tz") or self.config().report.timezone)
            since, until = q.get("since"), q.get("until")
            rows = list_entries(
                self.ledger(), parse_day_bound(since, zone) if since else None,
                parse_day_bound(until, zone, end=True) if until else None,
            )  # fmt: skip
            return {"schema_version": SCHEMA_VERSION, "entries": [e.to_json() for e in rows]}

        return await self._answer(request, build)

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
        return await self._run(self._entry, request.method, entry_id, body)

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

    async def audit(self, request: Request) -> Response:
        eid = request.query_params.get("entry")

        def build() -> Any:
            from cchooks.ledger.entries import audit_trail
            from cchooks.totals import SCHEMA_VERSION

            return {"schema_version": SCHEMA_VERSION,
                    "audit": audit_trail(self.ledger(), int(eid) if eid and eid.isdigit() else None)}  # fmt: skip

        return await self._answer(request, build)

    async def api_status(self, request: Request) -> Response:
        def build() -> Any:
            return {"change": list(change_token(self.ledger_path)), "generation": self.generation, **self.status()}

        return await self._answer(request, build, cache=False)

    async def events(self, request: Request) -> Response:
        """Server-sent events: `change` once the warmer has rebuilt what a ledger commit changed."""

        async def stream() -> AsyncIterator[bytes]:
            last = self.generation
            yield b"retry: 1000\nevent: hello\ndata: {}\n\n"
            idle = 0.0
            while not self.stopping.is_set():
                await asyncio.sleep(EVENT_POLL_S)
                if await request.is_disconnected():
                    return
                if self.generation != last:
                    last = self.generation
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
