"""The example hooks run as real processes, fed real Claude Code 2.1.330 payloads on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "fixtures" / "hooks"


def run_script(script: Path, payload: bytes, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env)
    return subprocess.run(
        [sys.executable, str(script)],
        input=payload.decode(),
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tmp_path,
        timeout=120,
    )


def payload(name: str, **changes: object) -> bytes:
    data = json.loads((FIXTURES / name).read_bytes())
    for key, value in changes.items():
        data["tool_input"][key] = value
    return json.dumps(data).encode()


def test_guard_lets_a_harmless_command_through(tmp_path: Path) -> None:
    raw = (FIXTURES / "interactive" / "0003-PreToolUse.json").read_bytes()
    result = run_script(EXAMPLES / "pretooluse_guard.py", raw, tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_guard_denies_recursive_delete(tmp_path: Path) -> None:
    raw = payload("p-json/0004-PreToolUse.json", command="rm -rf /tmp/x")
    result = run_script(EXAMPLES / "pretooluse_guard.py", raw, tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "recursive deletes are not allowed here: 'rm -rf /tmp/x'",
        }
    }


def test_guard_blocks_env_files_with_exit_2(tmp_path: Path) -> None:
    raw = payload("interactive/0014-PreToolUse.json", file_path="/tmp/ccwork/proj/.env")
    result = run_script(EXAMPLES / "pretooluse_guard.py", raw, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert (
        result.stderr == "/tmp/ccwork/proj/.env holds secrets; ask the user to share what you need from it\n"
    )


def test_guard_ignores_other_events(tmp_path: Path) -> None:
    raw = (FIXTURES / "interactive" / "0015-Stop.json").read_bytes()
    result = run_script(EXAMPLES / "pretooluse_guard.py", raw, tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(
    "name",
    [
        "interactive/0007-PostToolUse.json",
        "interactive/0017-PostToolUse.json",
        "p-slow/0005-PostToolUse.json",
    ],
)
def test_logger_appends_one_line(tmp_path: Path, name: str) -> None:
    log = tmp_path / "logs" / "tools.jsonl"
    raw = (FIXTURES / name).read_bytes()
    for _ in range(2):
        result = run_script(EXAMPLES / "posttooluse_logger.py", raw, tmp_path, TOOL_LOG=str(log))
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    data = json.loads(raw)
    assert len(lines) == 2
    assert lines[0]["tool"] == data["tool_name"] and lines[0]["duration_ms"] == data["duration_ms"]
    assert lines[0]["session_id"] == data["session_id"]
    assert lines[0]["agent_id"] == data.get("agent_id")


def test_logger_failure_is_non_blocking(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    raw = (FIXTURES / "interactive" / "0007-PostToolUse.json").read_bytes()
    result = run_script(EXAMPLES / "posttooluse_logger.py", raw, tmp_path, TOOL_LOG=str(blocker / "x.jsonl"))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "non-blocking" in result.stderr and "Error" in result.stderr


def test_broken_stdin_is_a_non_blocking_error(tmp_path: Path) -> None:
    result = run_script(EXAMPLES / "pretooluse_guard.py", b"{truncated", tmp_path)
    assert result.returncode == 1 and "cannot parse the hook payload" in result.stderr
