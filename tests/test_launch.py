"""`cchooks launch` with a stand-in `claude`, and `cchooks telemetry env`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cchooks.cli import main as cli_main
from cchooks.ledger.store import Ledger
from tests.test_otlp_common import OTLP_FIXTURES, ROOT

# A stand-in for `claude`: records its environment, exports a scenario's real OTLP bodies to
# $OTEL_EXPORTER_OTLP_ENDPOINT, optionally kills the receiver mid-run, and exits with a given code.
FAKE_CLAUDE = r"""#!{python}
import json, os, signal, sys, time, urllib.request
args = sys.argv[1:]
out = os.environ["FAKE_OUT"]
ep = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
env = {{k: v for k, v in os.environ.items() if k.startswith(("OTEL_", "CLAUDE_CODE_"))}}
json.dump({{"args": args, "env": env}}, open(out + ".env", "w"))
def on_term(signum, frame):
    open(out + ".term", "w").write(str(signum))
    sys.exit(42)
signal.signal(signal.SIGTERM, on_term)

def post_all():
    folder = os.environ["FAKE_BODIES"]
    for line in open(os.path.join(folder, "index.jsonl")):
        e = json.loads(line)
        body = open(os.path.join(folder, e["file"]), "rb").read()
        for attempt in range(100):  # an exporter retries
            try:
                req = urllib.request.Request(ep + e["path"], data=body, headers={{"Content-Type": e["content_type"]}})
                urllib.request.urlopen(req, timeout=5).read()
                break
            except Exception:
                time.sleep(0.2)

if ep and "--kill-receiver" in args:
    pid = json.load(urllib.request.urlopen(ep + "/healthz"))["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
if ep:
    post_all()
if "--wait-term" in args:
    open(out + ".ready", "w").write("1")
    time.sleep(60)
sys.exit(int(os.environ.get("FAKE_RC", "0")))
"""


@pytest.fixture()
def fake_claude(tmp_path: Path) -> Path:
    exe = tmp_path / "claude"
    exe.write_text(FAKE_CLAUDE.format(python=sys.executable))
    exe.chmod(0o755)
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(tmp_path: Path, claude: Path, port: int, *claude_args: str, rc: int = 0,
            scenario: str = "p-json") -> subprocess.Popen[bytes]:  # fmt: skip
    env = dict(
        os.environ, PYTHONPATH=str(ROOT), FAKE_OUT=str(tmp_path / "out"), FAKE_RC=str(rc),
        FAKE_BODIES=str(OTLP_FIXTURES / scenario), CCHOOKS_LOG_DIR=str(tmp_path / "logs"),
    )  # fmt: skip
    env.pop("CCHOOKS_OTLP_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "cchooks", "launch", "--port", str(port), "--ledger", str(tmp_path / "l.sqlite3"),
         "--claude", str(claude), "--", *claude_args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _api_count(tmp_path: Path) -> int:
    with Ledger.open(tmp_path / "l.sqlite3") as led:
        return int(led.conn.execute("SELECT count(*) FROM otlp_api_requests").fetchone()[0])


def _port_free(port: int) -> bool:
    """Nothing listens there any more (connection refused)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except OSError:
        return True


def test_launch_starts_and_stops_a_receiver(tmp_path: Path, fake_claude: Path) -> None:
    port = _free_port()
    p = _launch(tmp_path, fake_claude, port, "-p", "hello world", rc=3)
    _out, err = p.communicate(timeout=120)
    assert p.returncode == 3, err
    seen = json.loads((tmp_path / "out.env").read_text())
    assert seen["args"] == ["-p", "hello world"]
    env = seen["env"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{port}"
    assert (
        env["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1" and env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    )
    assert env["OTEL_METRICS_EXPORTER"] == env["OTEL_LOGS_EXPORTER"] == "otlp"
    assert _api_count(tmp_path) == 6
    assert _port_free(port)  # the receiver it started is gone


def test_launch_picks_another_port_when_taken(tmp_path: Path, fake_claude: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        p = _launch(tmp_path, fake_claude, port)
        _out, err = p.communicate(timeout=120)
    finally:
        busy.close()
    assert p.returncode == 0, err
    endpoint = json.loads((tmp_path / "out.env").read_text())["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint != f"http://127.0.0.1:{port}" and endpoint.startswith("http://127.0.0.1:")
    assert b"in use by something else" in err
    assert _api_count(tmp_path) == 6


def test_launch_reuses_a_running_receiver(tmp_path: Path, fake_claude: Path) -> None:
    port = _free_port()
    port_file = tmp_path / "port"
    server = subprocess.Popen(
        [sys.executable, "-m", "cchooks", "otlp", "serve", "--port", str(port), "--port-file", str(port_file),
         "--ledger", str(tmp_path / "l.sqlite3")],
        env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(300):
            if port_file.exists():
                break
            time.sleep(0.05)
        p = _launch(tmp_path, fake_claude, port)
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert b"already on port" in err
        assert server.poll() is None  # not ours to stop
        assert _api_count(tmp_path) == 6
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def test_receiver_crash_does_not_stop_claude(tmp_path: Path, fake_claude: Path) -> None:
    port = _free_port()
    p = _launch(tmp_path, fake_claude, port, "--kill-receiver", rc=0)
    _out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert b"restarting it" in err
    assert _api_count(tmp_path) == 6  # the exporter's retries reached the restarted receiver


def test_sigterm_is_forwarded_to_claude(tmp_path: Path, fake_claude: Path) -> None:
    port = _free_port()
    p = _launch(tmp_path, fake_claude, port, "--wait-term")
    try:
        for _ in range(600):
            if (tmp_path / "out.ready").exists():
                break
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 42
    assert (tmp_path / "out.term").read_text() == str(int(signal.SIGTERM))
    assert _port_free(port)


def test_launch_without_claude(tmp_path: Path) -> None:
    assert cli_main(["launch", "--claude", str(tmp_path / "nope"), "--ledger", str(tmp_path / "l")]) == 127


def test_telemetry_env(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCHOOKS_OTLP_TOKEN", raising=False)
    assert cli_main(["telemetry", "env"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "export CLAUDE_CODE_ENABLE_TELEMETRY=1" in lines
    assert "export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in lines
    assert "export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318" in lines
    assert cli_main(["telemetry", "env", "--protocol", "grpc", "--shell", "fish"]) == 0
    out = capsys.readouterr().out
    assert "set -gx OTEL_EXPORTER_OTLP_ENDPOINT http://127.0.0.1:4317" in out
    assert cli_main(["telemetry", "env", "--protocol", "http/json", "--shell", "powershell", "--endpoint",
                     "http://h:1", "--token", "t'k"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "$env:OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json'" in out
    assert "$env:OTEL_EXPORTER_OTLP_ENDPOINT = 'http://h:1'" in out
    assert "$env:OTEL_EXPORTER_OTLP_HEADERS = 'Authorization=Bearer%20t%27k'" in out
