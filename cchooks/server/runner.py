"""Run an ASGI app with uvicorn on sockets bound beforehand, in a thread, and stop it cleanly.

The sockets are bound before serving so the caller knows the port (`--port 0`) and a bind error
is reported before any thread starts. uvicorn runs on its own thread, so it installs no signal
handlers of its own; `run_until_signal` waits on the main thread for SIGTERM/SIGINT/SIGHUP and
then stops it: uvicorn stops accepting, lets requests in flight finish and closes idle
keep-alive connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
IDLE_TIMEOUT_S = 120.0  # a connection with no request in progress is closed after this


def _protocol_class(header_deadline: float) -> Any:
    """uvicorn's httptools protocol plus two deadlines it lacks: a request's line and headers must
    arrive within `header_deadline` of its first byte (slow clients cannot hold connections; the
    body's deadline is the app's), and a new connection must start a request within IDLE_TIMEOUT_S.
    Falls back to uvicorn's choice when httptools (or the hooks used here) are not there."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "auto"
    hooks = ("connection_made", "connection_lost", "on_message_begin", "on_headers_complete")
    if not all(hasattr(HttpToolsProtocol, h) for h in hooks):
        return "auto"

    class DeadlineProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm(IDLE_TIMEOUT_S)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm(header_deadline)

        def on_headers_complete(self) -> None:
            self._disarm()  # uvicorn's keep-alive timer takes over after the response
            super().on_headers_complete()

    return DeadlineProtocol


def bind_socket(host: str, port: int) -> socket.socket:
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)  # connections made before uvicorn runs wait in the backlog
    except BaseException:
        sock.close()
        raise
    return sock


class AppServer:
    """An ASGI app on bound sockets: `serve_forever()` (blocks), `shutdown()` from another thread."""

    def __init__(self, app: Any, sockets: list[socket.socket], *, verbose: bool = False,
                 header_deadline: float = 30.0) -> None:  # fmt: skip
        self.sockets = sockets
        self.stopping = threading.Event()  # long-lived responses (server-sent events) end when set
        self._done = threading.Event()
        self._started = threading.Event()
        self.uvicorn = uvicorn.Server(
            uvicorn.Config(
                app,
                lifespan="off",
                http=_protocol_class(header_deadline),
                log_level="info" if verbose else "warning",
                access_log=verbose,
                server_header=False,
                date_header=False,
                backlog=1024,
                timeout_keep_alive=int(IDLE_TIMEOUT_S),  # idle keep-alive connections are closed after this
                timeout_graceful_shutdown=5,
            )
        )
        if not verbose:
            # A client that hangs up or sends garbage is not our error.
            logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)

    @property
    def port(self) -> int:
        return int(self.sockets[0].getsockname()[1])

    @property
    def ports(self) -> list[int]:
        return [int(s.getsockname()[1]) for s in self.sockets]

    def serve_forever(self, poll_interval: float = 0.1) -> None:  # noqa: ARG002 - the old server's signature
        self._started.set()
        try:
            self.uvicorn.run(sockets=self.sockets)
        finally:
            self._done.set()

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.serve_forever, name="cchooks-http", daemon=True)
        t.start()
        return t

    def shutdown(self, grace: float = 5.0) -> None:
        """Stop serving and wait (up to `grace` plus uvicorn's own drain time) until it has."""
        self.stopping.set()
        self.uvicorn.should_exit = True
        if self._started.is_set():
            self._done.wait(grace + 6.0)
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()

    @property
    def serving(self) -> bool:
        return bool(self.uvicorn.started) and not self._done.is_set()


def run_until_signal(server: AppServer, ready: Callable[[Any], None] | None = None) -> None:
    """Serve on a thread until a stop signal (or the server ends by itself); `ready(server)` once up."""
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    old = {s: signal.signal(s, _stop) for s in _SIGNALS}
    try:
        thread = server.start()
        while not server.uvicorn.started and thread.is_alive() and not stop.is_set():
            stop.wait(0.01)
        if ready is not None and thread.is_alive():
            ready(server)
        while thread.is_alive() and not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        for s, h in old.items():
            signal.signal(s, h)
