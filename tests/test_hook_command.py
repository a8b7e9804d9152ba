"""`cchooks hook <Event>` as Claude Code runs it: real subprocesses, real payloads, real SQLite files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOOK_FIXTURES = ROOT / "fixtures" / "hooks"
CAPTURE_HOME = "/tmp/ccwork/home/.claude"
SCENARIOS = ("p-json", "p-protobuf", "p-resume", "p-continue", "p-fork", "p-slow", "interactive")


def payload_files(scenario: str) -> list[Path]:
    """The exact stdin of every hook call of a scenario, in order (copied into fixtures/hooks)."""
    files = sorted((HOOK_FIXTURES / scenario).glob("*.json"))
    assert files, f"fixtures/hooks/{scenario} is missing"
    return files


def rewrite(payload_file: Path, claude_dir: Path) -> bytes:
    """The payload with its transcript paths pointing into the test's copy of the config dir."""
    data = json.loads(payload_file.read_bytes())
    for key in ("transcript_path", "agent_transcript_path"):
        if isinstance(data.get(key), str):
            data[key] = data[key].replace(CAPTURE_HOME, str(claude_dir))
    return json.dumps(data).encode()


def run_hook(
    stdin: bytes,
    *args: str,
    ledger: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    cmd = [sys.executable, "-m", "cchooks", "hook", *args]
    if ledger is not None:
        cmd += ["--ledger", str(ledger)]
    return subprocess.run(
        cmd, input=stdin, capture_output=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def ledger_rows(ledger: Path) -> dict[str, tuple[object, ...]]:
    with sqlite3.connect(ledger) as db:
        return {
            r[0]: r[1:]
            for r in db.execute(
                "SELECT request_id, session_id, input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens,"
                " cache_read_tokens, agent_id FROM responses"
            )
        }


def log_text() -> str:
    log = Path(os.environ["CCHOOKS_LOG_DIR"]) / "cchooks.log"
    return log.read_text() if log.exists() else ""


def test_replaying_every_real_hook_call_fills_the_ledger_exactly(
    claude_dir: Path, ledger_path: Path, ground_truth: dict[str, Any]
) -> None:
    calls = 0
    for scenario in SCENARIOS:
        for f in payload_files(scenario):
            event = f.stem.split("-", 1)[1]
            r = run_hook(rewrite(f, claude_dir), event, ledger=ledger_path)
            assert r.returncode == 0, (f, r.stderr)
            assert r.stdout == b"", (f, r.stdout)  # nothing to act on without a budget
            assert r.stderr == b"", (f, r.stderr)
            calls += 1
    assert calls > 90
    rows = ledger_rows(ledger_path)
    expected = {r["request_id"]: r for r in ground_truth["responses"] if r["step"] != "compact_summary"}
    assert set(rows) == set(expected)
    for rid, exp in expected.items():
        u = exp["usage"]
        assert rows[rid] == (
            exp["session_id"], u["input_tokens"], u["output_tokens"],
            u["cache_creation"]["ephemeral_5m_input_tokens"], u["cache_creation"]["ephemeral_1h_input_tokens"],
            u["cache_read_input_tokens"], exp["agent_id"],
        ), rid  # fmt: skip
    # The compaction agent's SubagentStop names a transcript that was never written: not an error.
    assert "ERROR" not in log_text()


def test_hook_reads_only_new_bytes_as_the_transcript_grows(claude_dir: Path, ledger_path: Path) -> None:
    payload = payload_files("p-json")[-2]  # the Stop after the subagent finished
    assert payload.name.endswith("Stop.json")
    stdin = rewrite(payload, claude_dir)
    transcript = Path(json.loads(stdin)["transcript_path"])
    full = transcript.read_bytes()
    lines = full.splitlines(keepends=True)
    half = b"".join(lines[: len(lines) // 2])
    subagents = transcript.with_suffix("") / "subagents"
    hidden = subagents.rename(subagents.with_name("subagents.hidden"))
    transcript.write_bytes(half + lines[len(lines) // 2][:25])  # ends in a line still being written
    assert run_hook(stdin, "Stop", ledger=ledger_path).returncode == 0
    first = ledger_rows(ledger_path)
    assert 0 < len(first) < 4
    with sqlite3.connect(ledger_path) as db:
        (offset,) = db.execute("SELECT offset FROM files WHERE path = ?", (str(transcript),)).fetchone()
    assert offset == len(half)  # the partial line is left for the next read
    transcript.write_bytes(full)
    hidden.rename(subagents)
    assert run_hook(stdin, "Stop", ledger=ledger_path).returncode == 0
    rows = ledger_rows(ledger_path)
    assert len(rows) == 8 and set(first) <= set(rows)  # the session file also holds the resume/continue
    assert sum(1 for r in rows.values() if r[-1] is not None) == 2  # the subagent's two responses


def test_subagent_stop_reads_agent_transcript_outside_the_session_folder(
    claude_dir: Path, ledger_path: Path, tmp_path: Path
) -> None:
    payload = next(f for f in payload_files("p-json") if f.name.endswith("SubagentStop.json"))
    data = json.loads(rewrite(payload, claude_dir))
    agent = Path(data["agent_transcript_path"])
    elsewhere = tmp_path / "elsewhere" / data["session_id"] / "subagents"
    elsewhere.mkdir(parents=True)
    for f in agent.parent.iterdir():
        f.rename(elsewhere / f.name)
    data["agent_transcript_path"] = str(elsewhere / agent.name)
    data["transcript_path"] = str(tmp_path / "missing.jsonl")
    r = run_hook(json.dumps(data).encode(), "SubagentStop", ledger=ledger_path)
    assert r.returncode == 0 and r.stdout == b""
    rows = ledger_rows(ledger_path)
    assert len(rows) == 2
    assert {r[-1] for r in rows.values()} == {agent.stem.removeprefix("agent-")}


@pytest.mark.parametrize(
    "stdin",
    [
        b"",
        b"not json at all",
        b"[1, 2, 3]",
        b"\xff\xfe\x00garbage",
        b'{"transcript_path": 42}',
        b"{" * 100000,
    ],
    ids=["empty", "text", "array", "binary", "wrong-type", "deep"],
)
def test_garbage_stdin_exits_0_silently(stdin: bytes, ledger_path: Path) -> None:
    r = run_hook(stdin, "Stop", ledger=ledger_path)
    assert r.returncode == 0
    assert r.stdout == b"" and r.stderr == b""


def test_missing_transcript_exits_0_silently(ledger_path: Path, tmp_path: Path) -> None:
    stdin = json.dumps(
        {
            "session_id": "s1",
            "hook_event_name": "PostToolUse",
            "transcript_path": str(tmp_path / "nope.jsonl"),
        }
    ).encode()
    r = run_hook(stdin, "PostToolUse", ledger=ledger_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    assert ledger_rows(ledger_path) == {}


@pytest.mark.parametrize("kind", ["parent-is-a-file", "not-a-database", "is-a-directory"])
def test_unusable_ledger_exits_0_and_logs(kind: str, claude_dir: Path, tmp_path: Path) -> None:
    if kind == "parent-is-a-file":
        (tmp_path / "file").write_text("x")
        ledger = tmp_path / "file" / "ledger.sqlite3"
    elif kind == "not-a-database":
        ledger = tmp_path / "ledger.sqlite3"
        ledger.write_bytes(b"this is not sqlite" * 100)
    else:
        ledger = tmp_path / "ledger.sqlite3"
        ledger.mkdir()
    stdin = rewrite(payload_files("p-json")[-2], claude_dir)
    r = run_hook(stdin, "Stop", ledger=ledger)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    assert "ERROR" in log_text()


def test_error_log_goes_to_the_log_dir_and_rotates(tmp_path: Path) -> None:
    from cchooks.hooks import log as hooklog

    hooklog._logger = None  # the handler is cached per process; this test has its own log dir
    for i in range(6000):
        hooklog.log_error("test", message=f"line {i} " + "x" * 300)
    files = sorted(p.name for p in Path(os.environ["CCHOOKS_LOG_DIR"]).iterdir())
    assert files == ["cchooks.log", "cchooks.log.1", "cchooks.log.2", "cchooks.log.3"]
    assert all((Path(os.environ["CCHOOKS_LOG_DIR"]) / f).stat().st_size <= hooklog.MAX_BYTES for f in files)


def test_hard_time_limit_gives_up_cleanly(claude_dir: Path, ledger_path: Path) -> None:
    """A writer that never lets go: the hook still ends, with exit 0, within its limit."""
    stdin = rewrite(payload_files("p-json")[-2], claude_dir)
    assert run_hook(b"{}", "Stop", ledger=ledger_path).returncode == 0  # create the ledger
    holder = sqlite3.connect(ledger_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        r = run_hook(stdin, "Stop", ledger=ledger_path, env={"CCHOOKS_HOOK_TIMEOUT": "1"})
        elapsed = time.monotonic() - t0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    assert elapsed < 10
    assert "gave up after the 1 s time limit" in log_text()


def test_hot_path_imports_no_pydantic(claude_dir: Path, ledger_path: Path) -> None:
    stdin = rewrite(payload_files("p-json")[-2], claude_dir)
    cmd = [sys.executable, "-X", "importtime", "-m", "cchooks", "hook", "Stop", "--ledger", str(ledger_path)]
    r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)
    assert r.returncode == 0
    modules = {line.split("|")[-1].strip() for line in r.stderr.decode().splitlines() if "|" in line}
    assert "cchooks.hooks.handlers" in modules
    for heavy in ("pydantic", "pydantic_core", "rich", "logging", "subprocess", "zoneinfo", "asyncio"):
        assert heavy not in modules, heavy
