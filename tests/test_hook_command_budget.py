"""The budget guard of `cchooks hook`: warn once per crossing and session, deny over the hard limit."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cchooks.ledger.store import Ledger
from cchooks.records import RateLimitSnapshot, UsageRecord

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / "fixtures" / "hooks"
CAPTURE_HOME = "/tmp/ccwork/home/.claude"


def fixture(scenario: str, event: str) -> Path:
    """The last real `event` payload of a scenario (fixtures/hooks)."""
    base = HOOKS / scenario
    return sorted(base.glob(f"*-{event}.json"))[-1]


def payload(scenario: str, event: str, claude_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture(scenario, event).read_bytes())
    data["transcript_path"] = data["transcript_path"].replace(CAPTURE_HOME, str(claude_dir))
    return data


def hook(data: dict[str, Any], ledger: Path, config: Path) -> dict[str, Any] | None:
    r = subprocess.run(
        [sys.executable, "-m", "cchooks", "hook", data["hook_event_name"], "--ledger", str(ledger)],
        input=json.dumps(data).encode(), capture_output=True, timeout=60,
        env={**os.environ, "CCHOOKS_CONFIG": str(config)},
    )  # fmt: skip
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    return json.loads(r.stdout) if r.stdout.strip() else None


def write_config(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def add_records(
    ledger: Path, session: str, n: int, ts_ms: int, model: str = "claude-opus-5-5", out: int = 100_000
) -> None:
    """n responses of `out` output tokens each ($2.00 each at Opus 5.5's $20/M output)."""
    with Ledger.open(ledger) as led, led.write():
        led.upsert_records(
            UsageRecord(f"msg_{session}_{ts_ms}_{i}", f"req_{session}_{ts_ms}_{i}", session, ts_ms + i, model,
                        output_tokens=out)
            for i in range(n)
        )  # fmt: skip


def test_session_budget_warns_once_per_session(claude_dir: Path, ledger_path: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.toml", "[budget]\nsession_usd = 0.05\n")
    stop = payload("p-json", "Stop", claude_dir)
    out = hook(stop, ledger_path, cfg)
    assert out is not None and set(out) == {"systemMessage"}
    msg = out["systemMessage"]
    assert "session budget of $0.05" in msg and "this session's spend $" in msg
    # Again, and on the next prompt: already warned for this session.
    assert hook(stop, ledger_path, cfg) is None
    assert hook(payload("p-json", "UserPromptSubmit", claude_dir), ledger_path, cfg) is None
    # Another session crossing its own threshold is warned separately.
    other = hook(payload("p-protobuf", "Stop", claude_dir), ledger_path, cfg)
    assert other is not None and "session budget" in other["systemMessage"]
    with sqlite3.connect(ledger_path) as db:
        keys = {k for (k,) in db.execute("SELECT key FROM meta WHERE key LIKE 'budget_warned:%'")}
    assert keys == {f"budget_warned:{stop['session_id']}:session", f"budget_warned:{other_sid()}:session"}


def other_sid() -> str:
    return "34534eda-4836-4ea6-9a3a-ea7842558eba"


def test_below_threshold_and_other_events_print_nothing(
    claude_dir: Path, ledger_path: Path, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "c.toml", "[budget]\nsession_usd = 1000\ndaily_usd = 1000\nblock = true\n")
    for event in ("Stop", "UserPromptSubmit", "PreToolUse", "PostToolUse", "SessionEnd"):
        assert hook(payload("p-json", event, claude_dir), ledger_path, cfg) is None, event
    cfg.write_text("[budget]\nsession_usd = 0.01\n")  # crossed, but these events never warn
    for event in ("PostToolUse", "SessionStart", "SessionEnd", "PreToolUse"):
        assert hook(payload("p-json", event, claude_dir), ledger_path, cfg) is None, event


def test_daily_budget_warns_on_prompt_and_tells_claude_when_asked(ledger_path: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.toml", "[budget]\ndaily_usd = 3\ninform_model = true\n")
    now = int(time.time() * 1000)
    add_records(ledger_path, "sess-a", 1, now - 60_000)  # $2.00 today
    prompt = {"session_id": "sess-b", "hook_event_name": "UserPromptSubmit", "prompt": "hi"}
    assert hook(prompt, ledger_path, cfg) is None
    add_records(ledger_path, "sess-a", 1, now - 30_000)  # $4.00 today, from another session
    out = hook(prompt, ledger_path, cfg)
    assert out is not None
    assert "today's spend $4.00" in out["systemMessage"] and "daily budget of $3.00" in out["systemMessage"]
    assert out["hookSpecificOutput"] == {
        "hookEventName": "UserPromptSubmit",
        "additionalContext": out["systemMessage"],
    }
    assert hook(prompt, ledger_path, cfg) is None
    # A new day (period) that crosses again warns again.
    with sqlite3.connect(ledger_path) as db:
        db.execute("UPDATE meta SET value = 'day:0' WHERE key = 'budget_warned:sess-b:daily'")
    assert hook(prompt, ledger_path, cfg) is not None


def test_block_denies_every_tool_call_over_the_hard_limit(
    claude_dir: Path, ledger_path: Path, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "c.toml", "[budget]\nsession_usd = 0.05\nblock = true\n")
    pre = payload("p-json", "PreToolUse", claude_dir)
    for _ in range(2):
        out = hook(pre, ledger_path, cfg)
        assert out is not None
        spec = out["hookSpecificOutput"]
        assert spec["hookEventName"] == "PreToolUse" and spec["permissionDecision"] == "deny"
        assert "over the hard limit of $0.05" in spec["permissionDecisionReason"]
    # hard_limit_factor lifts the hard limit above the warning threshold.
    cfg.write_text("[budget]\nsession_usd = 0.05\nblock = true\nhard_limit_factor = 100\n")
    assert hook(pre, ledger_path, cfg) is None
    cfg.write_text("[budget]\nsession_usd = 0.05\nblock = false\n")
    assert hook(pre, ledger_path, cfg) is None


def test_five_hour_budget_uses_the_official_window(ledger_path: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.toml", "[budget]\nfive_hour_usd = 3\n")
    now = int(time.time() * 1000)
    resets = now + 2 * 3_600_000
    add_records(ledger_path, "s", 1, now - 4 * 3_600_000)  # before the official window began
    add_records(ledger_path, "s", 1, now - 2 * 3_600_000)
    with Ledger.open(ledger_path) as led, led.write():
        led.add_rate_limit_snapshot(RateLimitSnapshot(now - 60_000, "five_hour", 40.0, resets, "s"))
    stop = {"session_id": "s", "hook_event_name": "Stop"}
    assert hook(stop, ledger_path, cfg) is None  # $2 inside [resets - 5 h, now)
    add_records(ledger_path, "s", 1, now - 1000)
    out = hook(stop, ledger_path, cfg)
    assert out is not None and "5-hour window's spend $4.00" in out["systemMessage"]
    with sqlite3.connect(ledger_path) as db:
        (period,) = db.execute("SELECT value FROM meta WHERE key = 'budget_warned:s:five_hour'").fetchone()
    assert period == f"official:{resets}"


def test_unpriced_spend_is_named_not_counted_as_free(ledger_path: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.toml", "[budget]\nsession_usd = 1\nblock = true\n")
    now = int(time.time() * 1000)
    add_records(ledger_path, "s", 1, now, model="claude-imaginary-9")
    pre = {"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "Bash"}
    assert hook(pre, ledger_path, cfg) is None  # unknown price: not over any dollar limit
    add_records(ledger_path, "s", 1, now + 10)
    out = hook(pre, ledger_path, cfg)
    assert out is not None
    assert "plus 100,000 tokens of unpriced models" in out["hookSpecificOutput"]["permissionDecisionReason"]


def test_bad_config_never_breaks_the_hook(claude_dir: Path, ledger_path: Path, tmp_path: Path) -> None:
    stop = payload("p-json", "Stop", claude_dir)
    bad = write_config(tmp_path / "bad.toml", "[budget\nsession_usd = ")
    assert hook(stop, ledger_path, bad) is None
    with sqlite3.connect(ledger_path) as db:
        assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == 8  # the ledger is still kept
    wrong = write_config(
        tmp_path / "wrong.toml", '[budget]\nsession_usd = "lots"\ndaily_usd = -1\nblock = "yes"\n'
    )
    assert hook(stop, ledger_path, wrong) is None  # an invalid file is rejected whole: the guard is off
    half = write_config(tmp_path / "half.toml", '[budget]\nsession_usd = 0.05\nblock = "yes"\n')
    assert hook(stop, ledger_path, half) is None  # rejected as every command rejects it
    good = write_config(tmp_path / "good.toml", "[budget]\nsession_usd = 0.05\n")
    out = hook(stop, ledger_path, good)
    assert out is not None and "session budget of $0.05" in out["systemMessage"]
    log = (Path(os.environ["CCHOOKS_LOG_DIR"]) / "cchooks.log").read_text()
    assert "not valid TOML" in log
    assert "[budget] session_usd" in log and "[budget] block" in log


def add_agent_records(ledger: Path, session: str, agent_type: str | None, n: int, agent_id: str = "a1") -> None:
    """n subagent responses of 100k output tokens ($2.00 each on Opus 5.5)."""
    now = int(time.time() * 1000)
    with Ledger.open(ledger) as led, led.write():
        led.upsert_records(
            UsageRecord(f"m_{agent_id}_{i}", f"r_{agent_id}_{i}", session, now - 1000 + i, "claude-opus-5-5",
                        output_tokens=100_000, agent_id=agent_id, agent_type=agent_type)
            for i in range(n)
        )  # fmt: skip


def test_per_agent_budget_warns_once_and_blocks_only_that_agent_type(ledger_path: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.toml", '[budget]\nblock = true\n[budget.agents]\ngeneral-purpose = 3.0\n')
    add_agent_records(ledger_path, "sess-g", "general-purpose", 1)  # $2.00: below
    stop = {"session_id": "sess-g", "hook_event_name": "SubagentStop", "agent_id": "a1", "agent_type": "general-purpose"}
    assert hook(stop, ledger_path, cfg) is None
    add_agent_records(ledger_path, "sess-g", "general-purpose", 2, "a2")  # $6.00
    out = hook(stop, ledger_path, cfg)
    assert out is not None
    msg = out["systemMessage"]
    assert "general-purpose agents' spend $6.00" in msg and '[budget.agents] "general-purpose"' in msg
    assert hook({**stop, "hook_event_name": "Stop"}, ledger_path, cfg) is None  # once per session and type
    pre = {"session_id": "sess-g", "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {}}
    assert hook(pre, ledger_path, cfg) is None  # the main thread's tool calls go on
    denied = hook({**pre, "agent_id": "a2", "agent_type": "general-purpose"}, ledger_path, cfg)
    assert denied is not None
    assert denied["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "general-purpose" in denied["hookSpecificOutput"]["permissionDecisionReason"]


def test_subagent_stop_names_the_type_of_untyped_responses(ledger_path: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.toml", "")
    add_agent_records(ledger_path, "sess-u", None, 2, "a9")
    stop = {"session_id": "sess-u", "hook_event_name": "SubagentStop", "agent_id": "a9", "agent_type": "Explore"}
    assert hook(stop, ledger_path, cfg) is None
    with sqlite3.connect(ledger_path) as db:
        assert {t for (t,) in db.execute("SELECT agent_type FROM responses WHERE session_id = 'sess-u'")} == {"Explore"}
