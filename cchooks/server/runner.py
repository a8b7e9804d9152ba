"""Run an ASGI app with uvicorn on sockets bound beforehand, in a thread, and stop it cleanly.

The sockets are bound before serving so the caller knows the port (`--port 0`) and a bind error
is reported before any thread starts. uvicorn runs on its own thread, so it installs no signal
handlers of its own; `run_until_signal` waits on the main thread for SIGTERM/SIGINT/SIGHUP and
then stops it: uvicorn stops accepting, lets requests in flight finish and closes idle
keep-alive connections.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


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

    def __init__(self, app: Any, sockets: list[socket.socket], *, verbose: bool = False) -> None:
        self.sockets = sockets
        self.stopping = threading.Event()  # long-lived responses (server-sent events) end when set
        self._done = threading.Event()
        self._started = threading.Event()
        self.uvicorn = uvicorn.Server(
            uvicorn.Config(
                app,
                lifespan="off",
                log_level="info" if verbose else "warning",
                access_log=verbose,
                server_header=False,
                date_header=False,
                backlog=1024,
                timeout_keep_alive=120,  # idle keep-alive connections are closed after this
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
