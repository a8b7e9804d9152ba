"""Statusline refreshes answered by a running `cchooks serve` (cchooks.statusline.delegate and
cchooks.server.statusline_socket), with the real serve process and the installed command form.

What a served refresh prints must be what the statusline prints without a daemon for the same
ledger, transcript and environment; whenever the daemon cannot serve (another environment, the
daemon killed, arguments it does not serve), the statusline renders the refresh itself.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cchooks import __version__
from cchooks.installers import settings as installed
from cchooks.server.statusline_socket import StatuslineSocket
from cchooks.statusline.delegate import PROTOCOL, SOCKET_SUFFIX, relevant_env, served_argv
from tests.serve_process import Serve
from tests.test_statusline import payload

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "fixtures" / "claude-code-2.1.330" / "config"
# Segments that do not move with the clock, so two refreshes of one state print the same line.
SEGMENTS = '[statusline]\nlines = [["model", "session_cost", "today_cost", "tokens", "context"]]\n'


def _bench_appender() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_statusline", ROOT / "benchmarks" / "bench_statusline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Appender


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.claude = tmp / "claude"
        shutil.copytree(CONFIG, self.claude)
        self.config = tmp / "config.toml"
        self.config.write_text(SEGMENTS)
        self.payload = payload(5, self.claude)
        self.transcript = Path(self.payload["transcript_path"])
        self.ledger = tmp / "ledger.sqlite3"
        self.socket = Path(str(self.ledger.resolve()) + SOCKET_SUFFIX)
        self.appender = _bench_appender()(self.transcript, "served")

    def command(self) -> list[str]:
        words = shlex.split(installed.statusline_command(installed.command_prefix(sys.executable)))
        assert "hot.py" in " ".join(words), words  # the launcher form, which asks the daemon
        return [*words, "--ledger", str(self.ledger), "--config", str(self.config), "--color", "never"]

    def refresh(self, env: dict[str, str]) -> str:
        r = subprocess.run(self.command(), input=json.dumps(self.payload).encode(), capture_output=True,
                           env=env, timeout=60)  # fmt: skip
        assert r.returncode == 0, r.stderr
        return r.stdout.decode()

    def append_response(self) -> None:
        """One new response, now, as Claude Code appends it (the benchmark's own appender)."""
        self.appender()

    def responses(self) -> int:
        with sqlite3.connect(self.ledger) as con:
            return int(con.execute("SELECT count(*) FROM responses").fetchone()[0])


def _status(serve: Serve) -> dict[str, int]:
    doc = serve.json("/api/status")["statusline"]
    assert doc is not None
    return {"served": doc["served"], "declined": doc["declined"]}


def _wait_for(path: Path) -> None:
    for _ in range(200):
        if path.exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear")


def test_a_served_refresh_prints_what_the_statusline_prints_alone(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    serve = Serve(tmp_path, "--no-watch", claude=s.claude)
    try:
        _wait_for(s.socket)
        assert stat.S_IMODE(os.stat(s.socket).st_mode) == 0o600
        first = s.refresh(serve.env)
        assert _status(serve) == {"served": 1, "declined": 0}
        before = s.responses()
        s.append_response()
        served = s.refresh(serve.env)
        assert _status(serve) == {"served": 2, "declined": 0}
        assert s.responses() == before + 1  # the daemon read the new response into the ledger
        assert served != first  # and shows it
    finally:
        serve.stop()
    assert not s.socket.exists()  # removed on stop
    assert s.refresh(serve.env) == served  # the statusline alone, same state: the same line


def test_another_environment_or_a_killed_daemon_means_a_refresh_here(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    s.append_response()
    serve = Serve(tmp_path, "--no-watch", claude=s.claude)
    try:
        _wait_for(s.socket)
        elsewhere = dict(serve.env, TZ="Pacific/Kiritimati")  # UTC+14: "today" differs from the daemon's
        declined = s.refresh(elsewhere)
        assert _status(serve) == {"served": 0, "declined": 1}
        served_utc = s.refresh(serve.env)
        assert _status(serve)["served"] == 1
        serve.proc.send_signal(signal.SIGKILL)
        serve.proc.wait(30)
        assert s.socket.exists()  # left behind by the killed daemon
        assert s.refresh(serve.env) == served_utc  # nobody answers: rendered here, the same
    finally:
        serve.stop()
    assert s.refresh(elsewhere) == declined  # what the statusline alone prints in that zone


def test_only_the_plain_forms_are_handed_over() -> None:
    assert served_argv([]) == ["--color", "auto"]
    assert served_argv(["--ledger", "l.db", "--no-ingest", "--timeout", "2"]) == [
        "--ledger", os.path.abspath("l.db"), "--no-ingest", "--color", "auto", "--timeout", "2.0",
    ]  # fmt: skip
    for argv in (["--chain", "x"], ["--preview"], ["--payload", "p.json"], ["--help"], ["--bogus"]):
        assert served_argv(argv) is None


def _request(argv: list[str], data: bytes, env: dict[str, str] | None = None, version: str = __version__) -> io.BytesIO:
    header = {"v": PROTOCOL, "version": version, "argv": argv,
              "env": relevant_env(os.environ) if env is None else env}  # fmt: skip
    return io.BytesIO(json.dumps(header).encode() + b"\n" + data)


def test_the_daemon_serves_its_own_version_ledger_and_environment_only(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    s.append_response()
    daemon = StatuslineSocket(str(s.ledger))  # not started: `answer` is what each connection runs
    argv = served_argv(["--ledger", str(s.ledger), "--config", str(s.config), "--color", "never"])
    assert argv is not None
    data = json.dumps(s.payload).encode()
    served = daemon.answer(_request(argv, data))
    assert daemon.answer(_request(argv, data, version="0.0.0")) == b"no version\n"
    assert daemon.answer(_request(argv, data, env={"TZ": "Asia/Tokyo"})) == b"no env\n"
    assert daemon.answer(_request([*argv, "--chain", "true"], data)) == b"no args\n"
    assert daemon.answer(_request(["--ledger", str(tmp_path / "other.sqlite3")], data)) == b"no ledger\n"
    assert daemon.answer(io.BytesIO(b'{"v": 0}\n')) == b"no protocol\n"
    alone = subprocess.run(
        [sys.executable, "-m", "cchooks", "statusline", *argv], input=data, capture_output=True, timeout=60
    )
    assert alone.returncode == 0, alone.stderr
    assert served == b"ok\n" + alone.stdout


def test_recover_refuses_while_serve_without_a_watcher_runs(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    serve = Serve(tmp_path, "--no-watch", claude=s.claude)
    try:
        _wait_for(s.socket)
        r = subprocess.run([sys.executable, "-m", "cchooks", "recover", "--force", "--ledger", str(s.ledger)],
                           capture_output=True, text=True, env=serve.env, timeout=120)  # fmt: skip
        assert r.returncode == 1
        assert "`cchooks serve` has" in r.stderr and "stop it first" in r.stderr
        assert not list(tmp_path.glob("ledger.sqlite3.damaged-*"))
    finally:
        serve.stop()
