"""The one Starlette app behind `cchooks serve` and `cchooks otlp serve`.

Routes: the OTLP receiver (`/v1/*`, `/healthz`), and with a `Dashboard` the page (`/`, `/static`),
the JSON API (`/api/*`, docs/api.md) and server-sent events; `GET /metrics` when
`cchooks.server.metrics` is installed. `Guard` (plain ASGI, so it costs the OTLP path almost
nothing) enforces, before any route runs:
- cross-site protection for every state-changing request: a browser's `Sec-Fetch-Site` must be
  same-origin (or none: typed by the user), and an `Origin`, when sent, must be this server;
- the token (when set) for the page and the API: `Authorization: Bearer`, or the HttpOnly
  SameSite=Strict cookie that `/?token=...` sets once (the URL `cchooks serve` prints);
- without a token (loopback only), a `Host` that names the loopback, so a page on another site
  cannot reach the API through DNS rebinding.
"""

from __future__ import annotations

import hmac
import importlib.util
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cchooks.server.otlp_http import PATHS, OTLPReceiver, otlp_routes, status_body, token_ok

if TYPE_CHECKING:
    from cchooks.server.dashboard import Dashboard

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "cchooks_token"
_SAFE = {"GET", "HEAD", "OPTIONS"}
_OTLP_PREFIX = "/v1/"
_OPEN_PATHS = {"/healthz", "/health"}  # the receiver checks the token itself (OTLP status bodies)
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
OTLP_PATHS = frozenset(PATHS) | frozenset(p + "/" for p in PATHS)


def _host_of(netloc: str) -> str:
    """The host part of a Host header or an origin's netloc, without port or brackets."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1 : netloc.find("]")] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def _is_loopback_name(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard:
    """Cross-site, token and Host checks in front of every route (see the module docstring)."""

    def __init__(self, app: ASGIApp, token: str | None, *, dashboard: bool,
                 receiver: OTLPReceiver | None = None, insecure: bool = False) -> None:  # fmt: skip
        self.app = app
        self.token = token
        self.dashboard = dashboard
        self.receiver = receiver
        self.insecure = insecure  # --insecure: anyone who can reach it, under any Host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        # The receiver's own paths check the token themselves (answering in OTLP's status format);
        # everything else (the page, the API, /metrics) is checked here.
        otlp = path.startswith(_OTLP_PREFIX) or path in _OPEN_PATHS or (not self.dashboard and path != "/metrics")
        if method == "POST" and otlp and not _has_browser_headers(scope):
            # OTLP exporters send no browser headers: their hot path skips the checks below (the
            # receiver checks the token itself) and, for the export paths, Starlette's routing.
            if self.receiver is not None and path in OTLP_PATHS:
                response = await self.receiver.endpoint(Request(scope, receive))
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if method not in _SAFE:
            why = _cross_site(headers)
            if why:
                await _deny(send, 403, why, otlp)
                return
        if otlp:
            await self.app(scope, receive, send)
            return
        if not self.token:
            if not self.insecure and not _is_loopback_name(_host_of(headers.get("host", ""))):
                await _deny(send, 403, "this server answers only to a loopback Host", False)
                return
            await self.app(scope, receive, send)
            return
        if self._authorized(headers):
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [""])[0]
        if path == "/" and given and hmac.compare_digest(given.encode(), self.token.encode()):
            # Trade the token in the URL for a cookie, and drop it from the address bar.
            resp = Response(status_code=303, headers={"Location": "/", "Cache-Control": "no-store"})
            resp.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            await resp(scope, receive, send)
            return
        await _deny(send, 401, "missing or wrong token: open the URL `cchooks serve` printed", False)

    def _authorized(self, headers: dict[str, str]) -> bool:
        assert self.token
        if headers.get("authorization") and token_ok(headers["authorization"], self.token):
            return True
        raw = headers.get("cookie")
        if not raw:
            return False
        try:
            jar = SimpleCookie(raw)
        except Exception:
            return False
        morsel = jar.get(COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), self.token.encode())


def _has_browser_headers(scope: Scope) -> bool:
    return any(k in (b"origin", b"sec-fetch-site", b"cookie") for k, _v in scope["headers"])


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


def _cross_site(headers: dict[str, str]) -> str | None:
    """Why a state-changing request is refused as cross-site, or None."""
    site = headers.get("sec-fetch-site")
    if site and site not in ("same-origin", "none"):
        return f"cross-site request refused (Sec-Fetch-Site: {site[:40]})"
    origin = headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or parts.netloc.lower() != headers.get("host", "").lower():
            return "cross-site request refused (Origin is not this server)"
    return None


async def _deny(send: Send, status: int, message: str, otlp: bool) -> None:
    body = status_body(7 if status == 403 else 16, message, "json") if otlp else json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def metrics_route(ledger_path: str | None, config_path: str | None,
                  team: Callable[[], dict[str, Any]] | None = None) -> Route | None:  # fmt: skip
    """`GET /metrics` (Prometheus) when `cchooks.server.metrics` is installed; with `team` (the
    daemon's in-memory team view) also the per-host team families."""
    if importlib.util.find_spec("cchooks.server.metrics") is None:
        return None

    def metrics(_request: Request) -> Response:
        m: Any = importlib.import_module("cchooks.server.metrics")
        body, content_type = m.exposition(ledger_path, config_path, team=team)
        return Response(body, 200, media_type=content_type)

    return Route("/metrics", metrics, methods=["GET"])


def build_app(
    *,
    receiver: OTLPReceiver | None = None,
    dashboard: Dashboard | None = None,
    token: str | None = None,
    ledger_path: str | None = None,
    config_path: str | None = None,
    insecure: bool = False,
    team: Callable[[], dict[str, Any]] | None = None,
) -> Guard:
    routes: list[BaseRoute] = []
    if receiver is not None:
        routes += otlp_routes(receiver)
        health_paths = ["/healthz", "/health"] + ([] if dashboard is not None else ["/"])
        routes += [Route(p, receiver.healthz, methods=["GET", "HEAD"]) for p in health_paths]
    metrics = metrics_route(ledger_path, config_path, team)
    if metrics is not None:
        routes.append(metrics)
    if dashboard is not None:
        routes += dashboard.routes()

    async def not_found(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 404)
        if code == 405:
            return Response(status_body(12, "method not allowed", "json"), 405, media_type="application/json")
        return Response(status_body(5, f"no such path {request.url.path[:200]}", "json"), 404,
                        media_type="application/json")  # fmt: skip

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    return Guard(app, token, dashboard=dashboard is not None, receiver=receiver, insecure=insecure)
