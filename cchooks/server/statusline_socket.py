"""`cchooks serve` answering statusline refreshes (the client side is cchooks.statusline.delegate).

`<ledger>.serve.sock` is a Unix socket beside the ledger, open to its user only: it is bound in a
private directory, given mode 0600, then moved into place. Each connection is one refresh: a JSON
line (protocol, the statusline's arguments, the environment variables it reads), then the payload.
The refresh is rendered by `commands.statusline.compose`, the command's own code, one refresh at a
time; the daemon has every module loaded, which is most of what a refresh costs the command. The
answer is `ok` and the lines, or `no <reason>`, and the statusline then renders the refresh itself:
another ledger, another cchooks version, another environment, arguments not served, or any error
(logged).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socketserver
import threading
import time
from typing import Any, BinaryIO

from cchooks.statusline.delegate import (
    MAX_SOCKET_PATH,
    PROTOCOL,
    SERVED_INGEST_S,
    read_payload,
    relevant_env,
    socket_path,
)

log = logging.getLogger("cchooks.serve")
MAX_HEADER = 64 << 10


class _Handler(socketserver.StreamRequestHandler):
    timeout = 5.0  # a client that stops sending mid-request is dropped

    def handle(self) -> None:
        owner: StatuslineSocket = self.server.owner  # type: ignore[attr-defined]
        try:
            reply = owner.answer(self.rfile)
        except Exception as exc:
            log.warning("statusline refresh not served: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
            reply = b"no error\n"
        if reply.startswith(b"ok"):
            owner.served += 1
        else:
            owner.declined += 1
        with contextlib.suppress(OSError):  # the statusline gave up waiting
            self.wfile.write(reply)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    owner: StatuslineSocket


class StatuslineSocket:
    """Serves statusline refreshes for the ledger file `ledger_file` while started."""

    def __init__(self, ledger_file: str) -> None:
        self.ledger_file = os.path.realpath(ledger_file)
        self.path = socket_path(ledger_file)
        self.served = 0
        self.declined = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._inode: int | None = None
        self._lock = threading.Lock()  # one refresh at a time (module-level caches are not shared safely)

    def start(self) -> bool:
        """Listen; False (logged) when the socket path is too long or another process answers there."""
        if len(self.path.encode()) > MAX_SOCKET_PATH:
            log.info("not serving statusline refreshes: the socket path %s is too long", self.path)
            return False
        if os.path.exists(self.path):
            if answers(self.path):
                log.warning("another process answers statusline refreshes on %s; not serving them", self.path)
                return False
            os.unlink(self.path)  # left by a daemon that was killed
        import tempfile

        private = tempfile.mkdtemp(prefix=".cchooks-sock-", dir=os.path.dirname(self.path))  # mode 0700
        bound = os.path.join(private, "s")
        try:
            server = _Server(bound, _Handler)
            try:
                os.chmod(bound, 0o600)
                os.rename(bound, self.path)
            except BaseException:
                server.server_close()
                raise
        finally:
            with contextlib.suppress(OSError):
                os.unlink(bound)  # still there only when something failed
            with contextlib.suppress(OSError):
                os.rmdir(private)
        self._inode = os.stat(self.path).st_ino
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="cchooks-statusline", daemon=True)  # fmt: skip
        self._thread.start()
        return True

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            try:
                if os.stat(self.path).st_ino == self._inode:
                    os.unlink(self.path)
            except OSError:
                pass

    # -- one refresh ----------------------------------------------------------------------------
    def answer(self, rfile: BinaryIO | io.BufferedIOBase) -> bytes:
        request = json.loads(rfile.readline(MAX_HEADER))
        if not isinstance(request, dict) or request.get("v") != PROTOCOL:
            return b"no protocol\n"
        argv, env = request.get("argv"), request.get("env")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv) or not isinstance(env, dict):
            return b"no request\n"
        from cchooks import __version__

        if request.get("version") != __version__:
            return b"no version\n"
        if env != relevant_env(os.environ):
            return b"no env\n"
        from cchooks.commands import statusline as command
        from cchooks.paths import ledger_file

        args = command.fast_args(argv)
        if args is None or args.chain or args.preview or args.payload:
            return b"no args\n"
        if os.path.realpath(ledger_file(args.ledger)) != self.ledger_file:
            return b"no ledger\n"
        data = read_payload(rfile)
        with self._lock:
            lines = self._render(command, args, argv, data)
        return b"ok\n" + ("\n".join(lines) + "\n").encode()

    def _render(self, command: Any, args: Any, argv: list[str], data: bytes) -> list[str]:
        from cchooks.statusline.payload import StatusPayload
        from cchooks.statusline.render import fallback_line

        settings = command.settings_for(args)
        state: dict[str, Any] = {"payload": StatusPayload(), "now": int(time.time() * 1000)}
        timeout = command.time_limit(args, settings)
        # Bounded by the client's wait: a long backlog is read over several refreshes (and by hooks).
        stop_at = time.monotonic() + min(timeout * command.INGEST_SHARE, SERVED_INGEST_S)
        # The ledger is opened and closed for each refresh, exactly as the command does (its locks,
        # its TEMP triggers, a file replaced in between); keeping one open would save about 4 ms.
        lines: list[str] = command.compose(args, settings, data, state, argv, stop_at)
        return lines or [fallback_line()]


def answers(path: str) -> bool:
    """Whether a process accepts connections on the Unix socket `path`."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect(path)
        except OSError:
            return False
    return True
