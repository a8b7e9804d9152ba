"""The ledger keeps numbers and ids from OTLP events, never prompt text or tool inputs/outputs."""

from __future__ import annotations

import json
from pathlib import Path

from cchooks.ledger import Ledger
from cchooks.ledger.otlp_store import store_batches
from cchooks.parsers.otlp import decode_logs


def _attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def test_prompt_and_tool_content_never_reach_the_ledger(tmp_path: Path) -> None:
    secret = "SECRET-PROMPT-TEXT please refactor /home/me/private.py"
    records = [
        {"timeUnixNano": "1795347894000000000", "body": {"stringValue": "claude_code.user_prompt"},
         "attributes": [_attr("event.name", "user_prompt"), _attr("session.id", "s1"), _attr("prompt", secret),
                        _attr("prompt_length", len(secret)), _attr("event.sequence", 1)]},
        {"timeUnixNano": "1795347895000000000", "body": {"stringValue": "claude_code.tool_result"},
         "attributes": [_attr("event.name", "tool_result"), _attr("session.id", "s1"), _attr("tool_name", "Bash"),
                        _attr("tool_parameters", json.dumps({"command": f"cat {secret}"})),
                        _attr("duration_ms", 12), _attr("event.sequence", 2),
                        _attr("unexpected_field", "x" * 5000)]},
    ]  # fmt: skip
    body = {"resourceLogs": [{"resource": {"attributes": [_attr("service.name", "claude-code")]},
                              "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"},
                                             "logRecords": records}]}]}  # fmt: skip
    batch = decode_logs(json.dumps(body).encode(), "json")
    path = tmp_path / "l.sqlite3"
    with Ledger.open(path) as led:
        store_batches(led, [batch])
        rows = led.conn.execute("SELECT name, body, attributes FROM otlp_events ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == ["user_prompt", "tool_result"]
    kept = [json.loads(r[2]) for r in rows]
    assert kept[0]["prompt_length"] == len(secret) and kept[0]["prompt"] == "<dropped>"
    assert kept[1]["tool_name"] == "Bash" and kept[1]["duration_ms"] == 12
    assert kept[1]["unexpected_field"] == "<dropped: 5000 chars>"
    raw = path.read_bytes() + (Path(str(path) + "-wal").read_bytes() if Path(str(path) + "-wal").exists() else b"")
    assert b"SECRET-PROMPT-TEXT" not in raw
