"""Token counts are validated at every boundary (issue 10): an int in [0, MAX_TOKENS) per field.

Anything else (2**63 and beyond, 2**62, negative, string, float, null, NaN, bool) rejects that
line, event or point under the named reason `invalid-tokens`, and never stops the rest of a batch.
Real components: the CLI in subprocesses, real SQLite files, the real OTLP server.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cchooks.parsers.otlp import decode_logs, decode_metrics
from cchooks.parsers.transcript import parse_bytes
from cchooks.records import MAX_TOKENS
from cchooks.statusline.payload import parse_payload
from tests.transcript_factory import Resp, assistant_line

BAD = [2**63, 2**64, 2**62, MAX_TOKENS, -1, "12", 1.5, 3.0, None, math.nan, True, False, [1], {"a": 1}]
FIELDS = [
    ("input_tokens",), ("output_tokens",), ("cache_creation_input_tokens",), ("cache_read_input_tokens",),
    ("cache_creation", "ephemeral_5m_input_tokens"), ("cache_creation", "ephemeral_1h_input_tokens"),
    ("server_tool_use", "web_search_requests"),
]  # fmt: skip


def _bad_line(n: int, path: tuple[str, ...], value: object, session: str = "s-bad") -> str:
    obj = json.loads(assistant_line(Resp(n, session, 1, 2, 3, 4, 5)))
    target = obj["message"]["usage"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return json.dumps(obj)  # NaN is written as `NaN`, as a broken writer would


def _cli(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cchooks", *args], input=stdin.decode() if stdin else None,
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.parametrize("fast", [False, True], ids=["generic", "bulk"])
def test_every_bad_count_rejects_its_line_and_is_counted(fast: bool) -> None:
    from cchooks.parsers import bulk

    lines = [assistant_line(Resp(1, "s", 1, 2, 3, 4, 5))]
    n = 100
    for path in FIELDS:
        for value in BAD:
            n += 1
            lines.append(_bad_line(n, path, value))
    lines.append(assistant_line(Resp(2, "s", MAX_TOKENS - 1, 0, 0, 0, 0)))  # the largest valid count
    records, stats = parse_bytes(("\n".join(lines) + "\n").encode(), fast=bulk if fast else None)
    assert sorted(r.request_id for r in records) == ["req_1", "req_2"]
    assert stats.invalid_tokens == len(FIELDS) * len(BAD)
    assert any(e.startswith("invalid-tokens") for e in stats.examples)


def _config_dir(base: Path) -> Path:
    """Two sessions: one with poison lines (2**63, 2**62 twice, -1, "7", 1.5, null, NaN, true), one clean."""
    proj = base / "claude" / "projects" / "-tmp-proj"
    proj.mkdir(parents=True)
    poison = [assistant_line(Resp(1, "s-bad", 10, 20, 30, 0, 40))]
    for i, value in enumerate([2**63, 2**62, 2**62, -1, "7", 1.5, None, math.nan, True]):
        poison.append(_bad_line(10 + i, ("input_tokens",), value))
    (proj / "s-bad.jsonl").write_text("\n".join(poison) + "\n")
    good = [assistant_line(Resp(100 + i, "s-good", 1000, 200, 0, 0, 5000)) for i in range(5)]
    (proj / "s-good.jsonl").write_text("\n".join(good) + "\n")
    return base / "claude"


def test_poisoned_transcript_never_stops_the_batch_and_reports_work(tmp_path: Path) -> None:
    claude = _config_dir(tmp_path)
    ledger = tmp_path / "ledger.sqlite3"
    r = _cli("ingest", "--json", "--claude-dir", str(claude), "--ledger", str(ledger))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    summary = json.loads(r.stdout)
    assert summary["invalid_token_lines"] == 9
    assert summary["responses"] == 6  # the clean file and the valid line of the bad one
    verbose = _cli("ingest", "-v", "--claude-dir", str(claude), "--ledger", str(tmp_path / "l2.sqlite3"))
    assert "9 with invalid token counts" in verbose.stdout
    # Every later run and every view keep working (before: OverflowError on each of them).
    again = _cli("ingest", "--claude-dir", str(claude), "--ledger", str(ledger))
    assert again.returncode == 0 and "Traceback" not in again.stderr
    for view in (["report", "daily", "--json"], ["report", "session", "--json"]):
        out = _cli(*view, "--claude-dir", str(claude), "--ledger", str(ledger), "--tz", "UTC")
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["totals"]["input_tokens"] == 5 * 1000 + 10
        assert data["totals"]["cost_usd"] < 1.0  # before: $221 trillion from two 2**62 counts


def test_hook_records_a_session_despite_poison_lines(tmp_path: Path) -> None:
    claude = _config_dir(tmp_path)
    ledger = tmp_path / "ledger.sqlite3"
    transcript = claude / "projects" / "-tmp-proj" / "s-bad.jsonl"
    payload = {"session_id": "s-bad", "transcript_path": str(transcript), "hook_event_name": "Stop"}
    r = _cli("hook", "Stop", "--ledger", str(ledger), stdin=json.dumps(payload).encode())
    assert r.returncode == 0 and r.stdout == ""
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT request_id, input_tokens FROM responses").fetchall() == [("req_1", 10)]
        assert db.execute("SELECT malformed FROM files").fetchone()[0] == 9


def _otlp_event(value: Any) -> dict[str, Any]:
    v = {"stringValue": value} if isinstance(value, str) else (
        {"boolValue": value} if isinstance(value, bool) else
        {"doubleValue": value} if isinstance(value, float) else {"intValue": value})  # fmt: skip
    attrs = {"event.name": {"stringValue": "api_request"}, "session.id": {"stringValue": "s"},
             "model": {"stringValue": "claude-opus-5-5"}, "output_tokens": {"intValue": 3}, "input_tokens": v}
    return {"timeUnixNano": "1000000000", "attributes": [{"key": k, "value": x} for k, x in attrs.items()]}


@pytest.mark.parametrize("value", [2**63 - 1, 2**62, MAX_TOKENS, -1, "x12", 1.5, True])
def test_otlp_event_with_a_bad_count_is_rejected_alone(value: Any) -> None:
    good = _otlp_event(7)
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [good, _otlp_event(value)]}]}]}
    batch = decode_logs(json.dumps(body).encode(), "json")
    assert [a.input_tokens for a in batch.api_requests] == [7]
    assert batch.rejected == 1 and "invalid-tokens" in batch.error_message


@pytest.mark.parametrize("value", [1e13, -5.0, 2.0**63])
def test_otlp_token_point_with_a_bad_value_is_rejected_alone(value: float) -> None:
    def point(v: float) -> dict[str, Any]:
        return {"timeUnixNano": "2000", "startTimeUnixNano": "1000", "asDouble": v,
                "attributes": [{"key": "type", "value": {"stringValue": "input"}}]}

    metric = {"name": "claude_code.token.usage", "sum": {"aggregationTemporality": 1, "isMonotonic": True,
                                                         "dataPoints": [point(12.0), point(value)]}}
    body = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}
    batch = decode_metrics(json.dumps(body).encode(), "json")
    assert [p.value for p in batch.points] == [12.0] and batch.rejected == 1
    assert "invalid-tokens" in batch.error_message


def test_statusline_payload_cannot_draw_an_absurd_context_bar(tmp_path: Path) -> None:
    p = parse_payload(json.dumps({"context_window": {
        "context_window_size": 1, "used_percentage": 2.3e17,
        "current_usage": {"input_tokens": 2**62, "cache_read_input_tokens": 2**62}}}))  # fmt: skip
    assert p.context_used_pct == 100.0 and p.context_tokens is None
    q = parse_payload(json.dumps({"context_window": {"context_window_size": 200000,
                                                      "current_usage": {"input_tokens": 2**63}}}))
    assert q.context_tokens in (None, 0)
    payload = {"session_id": "s", "context_window": {"context_window_size": 10, "current_usage": {
        "input_tokens": 10**11}}, "model": {"id": "claude-opus-5-5", "display_name": "Opus"}}
    cfg = tmp_path / "c.toml"
    cfg.write_text('[statusline]\nsegments = ["context"]\n')
    r = _cli("statusline", "--ledger", str(tmp_path / "l.sqlite3"), "--config", str(cfg), "--color", "never",
             stdin=json.dumps(payload).encode())
    assert r.returncode == 0
    assert "100%" in r.stdout or "100" in r.stdout, r.stdout
    assert not any(len(tok) > 6 and tok.rstrip("%").isdigit() for tok in r.stdout.split())
