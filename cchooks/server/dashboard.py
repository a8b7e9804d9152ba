"""The dashboard's routes: the page, its static files, the JSON API (docs/api.md) and live events.

Every figure comes from the builders the CLI uses (`cchooks.server.documents` calls
`cchooks.reports.query`), so a number on the page is the number `cchooks report ... --json` prints.
Documents are built in one worker process, started when needed and stopped after WORKER_IDLE_S
without work: a year of records is tens of MB that the daemon itself never holds, so it stays small
while idle. Answers are cached per URL until the ledger or the config file changes; a warmer thread
rebuilds the documents open pages use as soon as the ledger changes, and only then tells the pages
(server-sent `change`), so their re-fetch is a cache hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cchooks.ledger.store import Ledger
from cchooks.server.documents import config_stamp

STATIC = Path(__file__).resolve().parent / "static"
CACHE_BYTES = 8 << 20  # cached answers, all together (a year's session list is ~250 KB)
HOT_URLS = 8  # the warmer keeps at most this many recently requested documents fresh
EVENT_POLL_S = 0.25  # how often the warmer and the event streams look for a change
HEARTBEAT_S = 15.0
HOT_S = 600.0  # a URL requested within this long is rebuilt by the warmer after a change
LIMITS_MAX_AGE_S = 300.0  # the windows move with the clock: rebuilt after this long even unchanged
WORKER_IDLE_S = 60.0  # the worker process exits after this long without a document to build
DEFAULT_DAYS = 30  # the page's default range (app.js: preset "30")


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


def _give_back_memory() -> None:
    """After a busy spell: collect garbage and return freed heap to the OS (glibc's malloc_trim)."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


class _Worker:
    """One child process that builds documents (`cchooks.server.documents`), one at a time:
    started when needed, stopped when idle. A plain subprocess, not multiprocessing: nothing else
    (no resource tracker) stays behind when it exits."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._last = time.monotonic()

    def _start(self) -> subprocess.Popen[bytes]:
        # Same interpreter, environment and working directory: the worker imports the same cchooks.
        return subprocess.Popen([sys.executable, "-m", "cchooks.server.documents"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)  # fmt: skip

    def run(self, kind: str, ledger_path: str, config_path: str | None, params: dict[str, str]) -> tuple[int, bytes]:
        request = json.dumps({"kind": kind, "ledger": ledger_path, "config": config_path, "params": params})
        with self._lock:
            for attempt in (1, 2):  # a worker that died is started again once
                if self._proc is None or self._proc.poll() is not None:
                    self._proc = self._start()
                proc = self._proc
                assert proc.stdin is not None and proc.stdout is not None
                try:
                    proc.stdin.write(request.encode() + b"\n")
                    proc.stdin.flush()
                    head = proc.stdout.readline().split()
                    if len(head) == 2:
                        body = proc.stdout.read(int(head[1]))
                        self._last = time.monotonic()
                        return int(head[0]), body
                except (OSError, ValueError):
                    pass
                self._kill()
                if attempt == 2:
                    break
            self._last = time.monotonic()
            return 503, json.dumps({"error": "the document worker failed; try again"}).encode()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait(10)
            for f in (proc.stdin, proc.stdout):
                if f is not None:
                    with contextlib.suppress(OSError):
                        f.close()

    def stop_if_idle(self, idle_s: float) -> None:
        if self._proc is None or time.monotonic() - self._last < idle_s:
            return
        if not self._lock.acquire(timeout=0.01):  # building: not idle
            return
        try:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            assert proc.stdin is not None and proc.stdout is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()  # the worker ends at the end of its input
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            proc.stdout.close()
        finally:
            self._lock.release()
        _give_back_memory()

    @property
    def running(self) -> bool:
        return self._proc is not None


class _Cached:
    __slots__ = ("stamp", "at", "body")

    def __init__(self, stamp: tuple[int, ...], at: float, body: bytes) -> None:
        self.stamp = stamp
        self.at = at
        self.body = body


class _Hot:
    __slots__ = ("used", "kind", "params", "max_age")

    def __init__(self, used: float, kind: str, params: dict[str, str], max_age: float | None) -> None:
        self.used = used
        self.kind = kind
        self.params = params
        self.max_age = max_age


class Dashboard:
    """State shared by the dashboard routes: where the ledger and config are, and what serves them."""

    def __init__(
        self,
        ledger_path: str,
        config_path: str | None = None,
        *,
        stopping: threading.Event | None = None,
        status: Callable[[], dict[str, Any]] | None = None,
        team: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.ledger_path = ledger_path
        self.config_path = config_path
        self.stopping = stopping or threading.Event()
        self.status = status or dict
        # The team view the daemon's sync thread keeps (TeamSync.document); None without a team.
        self.team = team
        self.generation = 0  # bumped after the warmer rebuilt what changed; the event streams watch it
        self._local = threading.local()
        # Threads that wait for the worker (and write entries): they hold no big data.
        self._threads = ThreadPoolExecutor(4, thread_name_prefix="cchooks-api")
        self._worker = _Worker()
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cached_bytes = 0
        self._hot: dict[str, _Hot] = {}
        self._lock = threading.Lock()
        self._warmer: threading.Thread | None = None
        self._page: bytes | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Build the page's default documents now and keep the open pages' documents warm."""
        now = time.monotonic()
        for url, kind, params, max_age in self._default_urls():
            self._hot[url] = _Hot(now, kind, params, max_age)
        self._warmer = threading.Thread(target=self._warm_loop, name="cchooks-warmer", daemon=True)
        self._warmer.start()

    def close(self) -> None:
        self.stopping.set()
        if self._warmer is not None:
            self._warmer.join(10)
        self._threads.shutdown(wait=True, cancel_futures=True)
        self._worker.stop_if_idle(0.0)

    # -- plumbing -------------------------------------------------------------------------
    def ledger(self) -> Ledger:
        """This thread's ledger connection (for writing entries)."""
        led: Ledger | None = getattr(self._local, "ledger", None)
        if led is None:
            led = Ledger.open(self.ledger_path)
            self._local.ledger = led
        return led

    def stamp(self) -> tuple[int, ...]:
        """What a cached document depends on: the ledger and the config file (prices, zone, plan)."""
        return change_token(self.ledger_path) + config_stamp(self.config_path)

    def _build(self, url: str, stamp: tuple[int, ...], kind: str, params: dict[str, str],
               cache: bool = True) -> tuple[int, bytes]:  # fmt: skip
        """Build in the worker (blocking; on a thread or the warmer); errors are answers, never cached."""
        status, body = self._worker.run(kind, self.ledger_path, self.config_path, params)
        if cache and status == 200:
            with self._lock:
                old = self._cache.pop(url, None)
                self._cached_bytes += len(body) - (len(old.body) if old else 0)
                self._cache[url] = _Cached(stamp, time.monotonic(), body)
                while self._cached_bytes > CACHE_BYTES and len(self._cache) > 1:
                    self._cached_bytes -= len(self._cache.popitem(last=False)[1].body)
        return status, body

    def _fresh(self, url: str, stamp: tuple[int, ...], max_age: float | None) -> bytes | None:
        with self._lock:
            c = self._cache.get(url)
        if c is None or c.stamp != stamp or (max_age is not None and time.monotonic() - c.at > max_age):
            return None
        return c.body

    async def _answer(self, request: Request, kind: str, params: dict[str, str], *,
                      max_age: float | None = None) -> Response:  # fmt: skip
        url = request.url.path + "?" + request.url.query
        stamp = self.stamp()
        with self._lock:
            self._hot[url] = _Hot(time.monotonic(), kind, params, max_age)
            if len(self._hot) > HOT_URLS:
                del self._hot[min(self._hot, key=lambda u: self._hot[u].used)]
        body = self._fresh(url, stamp, max_age)
        if body is not None:
            return Response(body, 200, media_type="application/json")
        loop = asyncio.get_running_loop()
        status, body = await loop.run_in_executor(self._threads, self._build, url, stamp, kind, params)
        return Response(body, status, media_type="application/json")

    async def _run(self, fn: Callable[..., Response], *args: Any) -> Response:
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    def _warm_loop(self) -> None:
        last: tuple[int, ...] | None = None
        while not self.stopping.is_set():
            stamp = self.stamp()
            changed = stamp != last
            now = time.monotonic()
            with self._lock:
                hot = sorted(self._hot.items(), key=lambda kv: -kv[1].used)
            for url, h in hot:
                if now - h.used > HOT_S:
                    with self._lock:
                        self._hot.pop(url, None)
                    continue
                # Unchanged documents are rebuilt only when about to expire (the limits' clock).
                if changed or (h.max_age is not None and self._fresh(url, stamp, h.max_age - 30) is None):
                    if self.stopping.is_set():
                        return
                    self._build(url, stamp, h.kind, h.params)
            if changed:
                last = stamp
                self.generation += 1
            self._worker.stop_if_idle(WORKER_IDLE_S)
            self.stopping.wait(EVENT_POLL_S)

    @staticmethod
    def _params(request: Request, **extra: str) -> dict[str, str]:
        out = {k: v for k, v in request.query_params.items() if v}
        out.update(extra)
        return out

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
            Route("/api/team", self.api_team, methods=["GET"]),
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
        for url, _kind, _params, max_age in self._default_urls():
            body = self._fresh(url, stamp, max_age)
            if body is not None:
                # "</" cannot end the script early once escaped ("\/" is the same string in JSON).
                preload.append(json.dumps(url).encode() + b":" + body.replace(b"</", b"<\\/"))
        script = b"<script>window.CCHOOKS_PRELOAD={" + b",".join(preload) + b"};</script>" if preload else b""
        page = self._template().replace(b"<!--preload-->", script, 1)
        return Response(page, 200, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})

    @staticmethod
    def _default_urls() -> list[tuple[str, str, dict[str, str], float | None]]:
        """The URLs app.js asks for on a plain `/` (range: the last DEFAULT_DAYS days)."""
        since = (date.today() - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        return [("/api/limits?", "limits", {}, LIMITS_MAX_AGE_S),
                (f"/api/report/daily?since={since}", "report", {"group": "daily", "since": since}, None)]  # fmt: skip

    async def report(self, request: Request) -> Response:
        group = request.path_params["group"]
        # Blocks carry "now" and the active block's remaining time: short-lived like the limits.
        max_age = LIMITS_MAX_AGE_S if group == "blocks" else None
        return await self._answer(request, "report", self._params(request, group=group), max_age=max_age)

    async def limits(self, request: Request) -> Response:
        # The windows move with the clock: a cached answer is at most LIMITS_MAX_AGE_S old (the page
        # counts the time to reset from `reset_at_ms` itself).
        return await self._answer(request, "limits", self._params(request), max_age=LIMITS_MAX_AGE_S)

    async def session(self, request: Request) -> Response:
        return await self._answer(request, "session", {"session_id": request.path_params["session_id"]})

    async def entries(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            if isinstance(body, Response):
                return body
            return await self._run(self._add_entry, body)
        return await self._answer(request, "entries", self._params(request))

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
        return await self._answer(request, "audit", self._params(request))

    async def api_status(self, _request: Request) -> Response:
        doc = {"change": list(change_token(self.ledger_path)), "generation": self.generation,
               "worker": self._worker.running, **self.status()}  # fmt: skip
        return JSONResponse(doc)

    async def api_team(self, _request: Request) -> Response:
        """The team view from memory (rebuilt by the sync thread after each sync): no PostgreSQL here."""
        if self.team is None:
            from cchooks.totals import SCHEMA_VERSION

            return JSONResponse({"schema_version": SCHEMA_VERSION, "team": None})
        return JSONResponse(self.team(), headers={"Cache-Control": "no-store"})

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
