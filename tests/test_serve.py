"""`cchooks serve`, its JSON API and manual entries, over a real server process and real SQLite files."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cchooks.cli import main
from cchooks.ledger.schema import MIGRATIONS
from cchooks.ledger.store import Ledger
from tests.test_json_vocabulary import _check

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp / "home"), TZ="UTC")
    env.pop("CCHOOKS_OTLP_TOKEN", None)
    return env


@pytest.fixture()
def server(tmp_path: Path, claude_dir: Path) -> Iterator[dict[str, Any]]:
    port_file = tmp_path / "port"
    ledger = tmp_path / "l.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cchooks", "serve", "--port", "0", "--port-file", str(port_file), "--ledger",
         str(ledger), "--claude-dir", str(claude_dir)],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    for _ in range(400):
        if port_file.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert port_file.exists(), proc.stderr.read() if proc.stderr else ""
    port = int(port_file.read_text())
    # The watcher's catch-up ingest runs on start; wait until the fixtures are in.
    for _ in range(200):
        with Ledger.open(ledger) as led:
            if led.response_count() >= 27:
                break
        time.sleep(0.05)
    yield {"port": port, "ledger": ledger, "proc": proc, "claude": claude_dir}
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err, err


def _req(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, data, {**h, **(headers or {})})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw
    finally:
        conn.close()


def _cli(capsys: Any, *argv: str) -> Any:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_api_equals_cli_and_serves_the_page(server: dict[str, Any], capsys: Any) -> None:
    port, ledger = server["port"], str(server["ledger"])
    for group in ("daily", "weekly", "monthly", "session", "project", "model", "agent"):
        status, api = _req(port, "GET", f"/api/report/{group}?tz=UTC&since=2026-11-01&breakdown=1")
        assert status == 200
        cli = _cli(capsys, "report", group, "--json", "--no-ingest", "--ledger", ledger, "--tz", "UTC",
                   "--since", "2026-11-01", "--breakdown")  # fmt: skip
        assert api == cli, group
        _check(api)
    status, limits = _req(port, "GET", "/api/limits?tz=UTC")
    assert status == 200 and set(limits) >= {"five_hour", "week", "month", "plan"}
    _check(limits)
    assert _req(port, "GET", "/api/report/nope")[0] == 404
    assert _req(port, "GET", "/api/report/daily?tz=Mars/Olympus")[0] == 400
    assert _req(port, "GET", "/api/report/daily?since=yesterday")[0] == 400
    sid = _req(port, "GET", "/api/report/session")[1]["rows"][0]["session_id"]
    status, detail = _req(port, "GET", f"/api/sessions/{sid}")
    assert status == 200 and detail["session_id"] == sid and detail["responses"]
    assert sum(r["input_tokens"] for r in detail["responses"]) == detail["totals"]["input_tokens"]
    assert detail["main"]["total_tokens"] + sum(a["total_tokens"] for a in detail["subagents"]) == detail["totals"]["total_tokens"]
    assert _req(port, "GET", "/api/sessions/no-such-session")[0] == 404
    status, page = _req(port, "GET", "/")
    assert status == 200 and b"cchooks" in page and b"https://" not in page  # nothing from a CDN
    for asset in ("/static/app.js", "/static/app.css", "/static/vendor/chart.umd.min.js"):
        assert _req(port, "GET", asset)[0] == 200
    status, health = _req(port, "GET", "/healthz")
    assert status == 200 and health["dashboard"] is True and health["ledger"] == "l.db"


def test_manual_entries_over_the_api_are_their_own_source(server: dict[str, Any], capsys: Any) -> None:
    port, ledger = server["port"], str(server["ledger"])
    before = _cli(capsys, "report", "daily", "--json", "--no-ingest", "--ledger", ledger)
    status, e = _req(port, "POST", "/api/entries", {"input_tokens": 1000, "output_tokens": 200,
                                                     "model": "claude-opus-5-5", "note": "chat"})  # fmt: skip
    assert status == 201 and e["source"] == "manual"
    assert _req(port, "POST", "/api/entries", {"input_tokens": -1, "output_tokens": 2})[0] == 400
    assert _req(port, "POST", "/api/entries", {"input_tokens": 1.5, "output_tokens": 2})[0] == 400
    assert _req(port, "POST", "/api/entries", [1, 2])[0] == 400
    assert _req(port, "PUT", f"/api/entries/{e['id']}", {"note": "chat, edited", "output_tokens": 300})[0] == 200
    assert _req(port, "PUT", "/api/entries/999", {"note": "x"})[0] == 404
    after = _cli(capsys, "report", "daily", "--json", "--no-ingest", "--ledger", ledger)
    _check(after)
    assert after["totals"] == before["totals"] and after["rows"] == before["rows"]
    assert after["manual"]["entries"] == 1 and after["manual"]["totals"]["output_tokens"] == 300
    assert after["manual"]["totals"]["cost_usd"] > 0
    assert after["totals_with_manual"]["input_tokens"] == before["totals"]["input_tokens"] + 1000
    # A session or project filter leaves manual entries out (they have neither).
    assert "manual" not in _cli(capsys, "report", "session", "--json", "--no-ingest", "--ledger", ledger,
                                "--project", "/x")  # fmt: skip
    assert _req(port, "DELETE", f"/api/entries/{e['id']}")[0] == 200
    assert _req(port, "DELETE", f"/api/entries/{e['id']}")[0] == 404
    assert "manual" not in _cli(capsys, "report", "daily", "--json", "--no-ingest", "--ledger", ledger)
    audit = _req(port, "GET", "/api/entries/audit")[1]["audit"]
    assert [(a["action"], a["origin"]) for a in audit] == [("delete", "dashboard"), ("edit", "dashboard"),
                                                             ("add", "dashboard")]  # fmt: skip
    assert audit[1]["before"]["output_tokens"] == 200 and audit[1]["after"]["output_tokens"] == 300


def test_cross_site_and_host_checks(server: dict[str, Any]) -> None:
    port = server["port"]
    body = {"input_tokens": 1, "output_tokens": 1}
    assert _req(port, "POST", "/api/entries", body, {"Origin": "https://evil.example"})[0] == 403
    assert _req(port, "POST", "/api/entries", body, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert _req(port, "POST", "/api/entries", body, {"Sec-Fetch-Site": "same-site"})[0] == 403
    assert _req(port, "DELETE", "/api/entries/1", None, {"Origin": "null"})[0] == 403
    # Same origin is fine; so is a non-browser client (no Origin, no Sec-Fetch-Site).
    ok = _req(port, "POST", "/api/entries", body, {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"})
    assert ok[0] == 201
    assert _req(port, "DELETE", f"/api/entries/{ok[1]['id']}")[0] == 200
    # A form post (text/plain) cannot carry JSON.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/entries", b'{"input_tokens":1,"output_tokens":1}', {"Content-Type": "text/plain"})
    assert conn.getresponse().status == 415
    conn.close()
    # DNS rebinding: a foreign Host never reaches the API of a token-less server.
    assert _req(port, "GET", "/api/report/daily", None, {"Host": "evil.example"})[0] == 403
    assert _req(port, "GET", "/api/report/daily", None, {"Host": f"localhost:{port}"})[0] == 200
    # OTLP exporters post as before.
    status, out = _req(port, "POST", "/v1/logs", {"resourceLogs": []})
    assert status == 200 and out == {}


def test_events_announce_a_ledger_change(server: dict[str, Any]) -> None:
    port = server["port"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/events")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("content-type", "").startswith("text/event-stream")
    assert b"event: hello" in resp.readline() + resp.readline() + resp.readline()
    t0 = time.monotonic()
    assert _req(port, "POST", "/api/entries", {"input_tokens": 1, "output_tokens": 1})[0] == 201
    seen = b""
    while b"event: change" not in seen:
        seen += resp.readline()
    assert time.monotonic() - t0 < 2.0
    conn.close()


def test_dashboard_command_starts_serve_once(tmp_path: Path, claude_dir: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(tmp_path)
    argv = [sys.executable, "-m", "cchooks", "dashboard", "--no-browser", "--port", str(port), "--ledger",
            str(tmp_path / "l.db"), "--claude-dir", str(claude_dir)]  # fmt: skip
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    try:
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == f"http://127.0.0.1:{port}/" and "started" in first.stderr
        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0 and "started" not in second.stderr
    finally:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            pid = json.loads(resp.read())["pid"]
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)


def test_serve_refuses_bad_arguments_in_one_line(tmp_path: Path) -> None:
    for args in (["--port", "70000"], ["--otlp-port", "-2"], ["--host", "0.0.0.0"]):
        r = subprocess.run([sys.executable, "-m", "cchooks", "serve", *args, "--ledger", str(tmp_path / "l.db")],
                           env=_env(tmp_path), capture_output=True, text=True, timeout=60)  # fmt: skip
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_entries_command(tmp_path: Path, capsys: Any) -> None:
    led = str(tmp_path / "l.db")
    added = _cli(capsys, "entries", "add", "1,000", "250", "--model", "claude-opus-5-5", "--note", "n",
                 "--at", "2026-11-20", "--tz", "UTC", "--json", "--ledger", led)["entry"]  # fmt: skip
    assert added["input_tokens"] == 1000 and added["at"] == "2026-11-20T00:00:00.000Z"
    rows = _cli(capsys, "entries", "list", "--json", "--ledger", led)["entries"]
    assert [r["id"] for r in rows] == [added["id"]]
    assert _cli(capsys, "entries", "list", "--since", "2026-11-21", "--json", "--ledger", led)["entries"] == []
    _cli(capsys, "entries", "edit", str(added["id"]), "--note", "changed", "--json", "--ledger", led)
    rep = _cli(capsys, "report", "monthly", "--json", "--no-ingest", "--ledger", led, "--tz", "UTC")
    assert rep["rows"] == [] and rep["manual"]["rows"][0]["month"] == "2026-11"
    _check(rep)
    assert main(["entries", "add", "x", "1", "--ledger", led]) == 2
    assert main(["entries", "add", "1", "1", "--at", "not a day", "--ledger", led]) == 2
    assert main(["entries", "delete", "99", "--ledger", led]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no manual entry 99" in err
    assert main(["entries", "delete", str(added["id"]), "--ledger", led]) == 0
    capsys.readouterr()
    audit = _cli(capsys, "entries", "audit", "--json", "--ledger", led)["audit"]
    assert [a["action"] for a in audit] == ["delete", "edit", "add"]
    _check(audit and {"schema_version": 1, "audit": audit})


def test_entries_migration_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    Ledger.open(path).close()
    db = sqlite3.connect(path)
    MIGRATIONS[-1](db)  # again, on a ledger that has it: nothing breaks, nothing is lost
    db.execute("INSERT INTO manual_entries (ts_ms, input_tokens, output_tokens, created_ms, updated_ms) VALUES (1,2,3,4,5)")
    MIGRATIONS[-1](db)
    assert db.execute("SELECT count(*) FROM manual_entries").fetchone()[0] == 1
    db.close()


def test_metrics_route_is_mounted_only_when_the_module_exists() -> None:
    import importlib.util

    from cchooks.server.app import metrics_route

    route = metrics_route(None, None)
    assert (route is None) == (importlib.util.find_spec("cchooks.server.metrics") is None)


def test_token_protects_everything_but_nothing_leaks(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cchooks", "serve", "--port", "0", "--port-file", str(port_file), "--ledger",
         str(tmp_path / "l.db"), "--no-watch", "--token", "tok"],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(400):
            if port_file.exists():
                break
            time.sleep(0.05)
        port = int(port_file.read_text())
        for path in ("/", "/api/limits", "/api/events", "/healthz", "/static/app.css"):
            assert _req(port, "GET", path)[0] == 401, path
        assert _req(port, "POST", "/v1/logs", {"resourceLogs": []})[0] == 401
        assert _req(port, "GET", "/api/limits", None, {"Authorization": "Bearer tok"})[0] == 200
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/?token=tok")
        resp = conn.getresponse()
        assert resp.status == 303 and resp.getheader("location") == "/"
        cookie = resp.getheader("set-cookie", "")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        conn.close()
        assert _req(port, "GET", "/api/limits", None, {"Cookie": cookie.split(";")[0]})[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_document_worker_answers_recovers_and_stops(tmp_path: Path) -> None:
    from cchooks.server.dashboard import _Worker

    led = str(tmp_path / "l.db")
    Ledger.open(led).close()
    w = _Worker()
    status, body = w.run("report", led, None, {"group": "daily", "tz": "UTC"})
    assert status == 200 and json.loads(body)["group"] == "daily"
    assert w.run("report", led, None, {"group": "nope"})[0] == 404
    assert w.run("report", led, None, {"group": "daily", "tz": "Nowhere/City"})[0] == 400
    assert w.run("nope", led, None, {})[0] == 404
    assert w._proc is not None
    w._proc.kill()  # the worker dies: the next document starts a new one
    w._proc.wait()
    assert w.run("entries", led, None, {})[0] == 200
    w.stop_if_idle(3600.0)
    assert w.running  # not idle long enough
    w.stop_if_idle(0.0)
    assert not w.running
