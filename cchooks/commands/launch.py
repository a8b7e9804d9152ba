"""`cchooks launch [-- CLAUDE ARGS]`: run `claude` with its telemetry sent to a cchooks receiver.

- A cchooks receiver already answering on the port (GET /healthz) is reused and left running.
- Otherwise one is started (`cchooks otlp serve`, in its own session so a terminal Ctrl-C
  does not reach it) and stopped when claude exits. If the port is taken by something
  else, the receiver binds a free port instead and claude is pointed there.
- A receiver that dies while claude runs is restarted on the same port (claude's exporter
  retries), at most a few times; claude itself keeps running whatever the receiver does.
- Ctrl-C: claude shares our process group, so the terminal delivers it to claude itself;
  we ignore it (and stay around to clean up). SIGINT/SIGTERM/SIGHUP sent to this process
  by something else are forwarded to claude. The exit status is claude's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

READY_TIMEOUT = 15.0
MAX_RESTARTS = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cchooks.commands.common import LEDGER_HELP

    parser.add_argument("--port", type=int, default=4318, help="receiver port (default 4318)")
    parser.add_argument("--ledger", metavar="PATH", help=LEDGER_HELP)
    parser.add_argument(
        "--protocol", choices=("http/protobuf", "http/json"), default="http/protobuf",
        help="OTLP protocol claude uses (default http/protobuf)",
    )  # fmt: skip
    parser.add_argument(
        "--claude", default=os.environ.get("CCHOOKS_CLAUDE", "claude"),
        help="the claude executable (default: $CCHOOKS_CLAUDE or `claude` on PATH)",
    )  # fmt: skip
    parser.add_argument("--quiet", "-q", action="store_true", help="no status lines on stderr")
    parser.add_argument("claude_args", nargs=argparse.REMAINDER, help="arguments for claude, after --")


def _say(args: argparse.Namespace, msg: str) -> None:
    if not args.quiet:
        print(f"cchooks launch: {msg}", file=sys.stderr, flush=True)


def probe(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> tuple[str, dict[str, Any] | None]:
    """'cchooks' (with its /healthz), 'other' (something else listens) or 'free'."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=timeout) as resp:
            data = json.loads(resp.read(65536))
        if isinstance(data, dict) and data.get("service") == "cchooks-otlp":
            return "cchooks", data
        return "other", None
    except Exception:
        pass
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return "other", None
    except OSError:
        return "free", None


def _same_path(a: str | None, b: str | os.PathLike[str]) -> bool:
    if not a:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


class Receiver:
    """A `cchooks otlp serve` child process, restarted on the same port if it dies."""

    def __init__(self, ledger: str | None, args: argparse.Namespace) -> None:
        self.ledger = ledger
        self.args = args
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._tmp = tempfile.mkdtemp(prefix="cchooks-launch-")
        self.log_path = self._log_path()

    def _log_path(self) -> Path:
        try:
            from cchooks.paths import log_dir

            d = log_dir()
            d.mkdir(parents=True, exist_ok=True)
            return d / "otlp-receiver.log"
        except Exception:
            return Path(self._tmp) / "otlp-receiver.log"

    def _spawn(self, port: int) -> int | None:
        port_file = Path(self._tmp) / "port"
        port_file.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "cchooks",
            "otlp",
            "serve",
            "--port",
            str(port),
            "--port-file",
            str(port_file),
        ]
        if self.ledger:
            cmd += ["--ledger", self.ledger]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        end = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < end:
            if port_file.exists():
                try:
                    return int(port_file.read_text())
                except ValueError:
                    pass
            if self.proc.poll() is not None:
                return None
            time.sleep(0.05)
        self._kill()
        return None

    def start(self, port: int, port_busy: bool) -> int | None:
        bound = None if port_busy else self._spawn(port)
        if bound is None:
            bound = self._spawn(0)  # taken by something else (or lost a race): any free port
        self.port = bound
        if bound is not None:
            threading.Thread(target=self._watch, name="cchooks-launch-watch", daemon=True).start()
        return bound

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            proc = self.proc
            if proc is None or proc.poll() is None or self.port is None:
                continue
            if self.restarts >= MAX_RESTARTS:
                _say(self.args, f"receiver exited ({proc.returncode}) too often; see {self.log_path}")
                return
            self.restarts += 1
            _say(self.args, f"receiver exited ({proc.returncode}); restarting it on port {self.port}")
            if self._spawn(self.port) is None:
                _say(self.args, f"could not restart the receiver; see {self.log_path}")

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # drains its queue and commits before exiting
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _terminal_delivers_sigint() -> bool:
    """True when a Ctrl-C from the terminal reaches our whole process group (and so claude)."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
            if os.isatty(fd):
                return os.tcgetpgrp(fd) == os.getpgrp()
        except (OSError, ValueError, AttributeError):
            continue
    return False


def run(args: argparse.Namespace) -> int:
    from cchooks.commands.telemetry import env_for
    from cchooks.paths import default_ledger_path

    claude_args = list(args.claude_args)
    if claude_args[:1] == ["--"]:
        claude_args = claude_args[1:]
    exe = shutil.which(args.claude)
    if exe is None:
        print(f"cchooks launch: {args.claude!r} not found (set --claude or $CCHOOKS_CLAUDE)", file=sys.stderr)
        return 127
    ledger = str(Path(args.ledger).expanduser()) if args.ledger else None
    wanted_ledger = ledger or str(default_ledger_path())

    receiver: Receiver | None = None
    state, health = probe(args.port)
    port: int | None = args.port
    from cchooks.server.otlp_http import ledger_id

    # /healthz names the ledger by an id, not its path (issue 10: no paths on the wire).
    if state == "cchooks" and health is not None and health.get("ledger_id") == ledger_id(wanted_ledger):
        _say(args, f"using the cchooks receiver already on port {args.port}")
    else:
        if state == "cchooks":
            _say(
                args,
                f"the receiver on port {args.port} writes to {health and health.get('ledger')}; starting another",
            )
        elif state == "other":
            _say(args, f"port {args.port} is in use by something else; picking a free port")
        receiver = Receiver(ledger, args)
        port = receiver.start(args.port, port_busy=state != "free")
        if port is None:
            _say(
                args,
                f"could not start the OTLP receiver (see {receiver.log_path}); running claude without telemetry",
            )
            receiver.stop()
            receiver = None
        else:
            _say(args, f"OTLP receiver on http://127.0.0.1:{port} (stopped when claude exits)")

    env = dict(os.environ)
    if port is not None:
        env.update(env_for(args.protocol, f"http://127.0.0.1:{port}", os.environ.get("CCHOOKS_OTLP_TOKEN")))

    forward_sigint = not _terminal_delivers_sigint()
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: Any) -> None:
        if child is not None and child.poll() is None and (signum != signal.SIGINT or forward_sigint):
            with contextlib.suppress(OSError):
                child.send_signal(signum)

    handled = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    old = {s: signal.signal(s, forward) for s in handled}
    try:
        try:
            child = subprocess.Popen([exe, *claude_args], env=env)
        except OSError as exc:
            print(f"cchooks launch: cannot run {exe}: {exc}", file=sys.stderr)
            return 126
        while True:
            try:
                rc = child.wait()
                break
            except KeyboardInterrupt:  # pragma: no cover - the handler above replaces SIGINT
                continue
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if receiver is not None:
            receiver.stop()
    return 128 - rc if rc < 0 else rc
