"""`cchooks status`, the doctor: install state per scope, ledger freshness, problems. Always exit 0."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CAPTURE_HOME = "/tmp/ccwork/home/.claude"
PY = shlex.quote(sys.executable)


def cchooks(*args: str, stdin: bytes = b"", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        [sys.executable, "-m", "cchooks", *args], input=stdin, capture_output=True, timeout=120, cwd=cwd
    )
    assert r.returncode == 0, r.stderr
    return subprocess.CompletedProcess(r.args, 0, r.stdout.decode(), r.stderr.decode())


def status(*args: str, cwd: Path | None = None) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(cchooks("status", "--json", *args, cwd=cwd).stdout)
    return report


HOOK_EVENTS = (
    "PostToolUse",
    "Stop",
    "SubagentStop",
    "SessionStart",
    "SessionEnd",
    "PreCompact",
    "UserPromptSubmit",
)


def settings_with_cchooks(prefix: str, events: tuple[str, ...] = HOOK_EVENTS) -> dict[str, Any]:
    return {
        "hooks": {
            e: [{"hooks": [{"type": "command", "command": f"{prefix} hook {e}", "timeout": 10}]}]
            for e in events
        },
        "statusLine": {
            "type": "command",
            "command": f"{prefix} statusline --chain 'echo mine'",
            "padding": 0,
        },
    }


def test_nothing_installed_and_no_ledger(tmp_path: Path) -> None:
    r = status(
        "--claude-dir",
        str(tmp_path / "claude"),
        "--project-dir",
        str(tmp_path),
        "--ledger",
        str(tmp_path / "l.db"),
    )
    assert [i["scope"] for i in r["install"]] == ["user", "project", "local"]
    assert not any(i["exists"] for i in r["install"])
    assert r["ledger"] == {"path": str(tmp_path / "l.db"), "exists": False}
    assert not (tmp_path / "l.db").exists()  # the doctor never creates the ledger
    assert any("not installed" in p for p in r["problems"])
    assert any("does not exist yet" in p for p in r["problems"])


def test_install_state_per_scope(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    proj = tmp_path / "proj"
    (proj / ".claude").mkdir(parents=True)
    claude.mkdir()
    (claude / "settings.json").write_text(json.dumps(settings_with_cchooks(f"{PY} -m cchooks")))
    local = settings_with_cchooks("/gone/venv/bin/python -m cchooks", ("PreToolUse", "Stop"))
    del local["statusLine"]
    (proj / ".claude" / "settings.local.json").write_text(json.dumps(local))
    (proj / ".claude" / "settings.json").write_text('{"hooks": ')
    r = status("--claude-dir", str(claude), "--project-dir", str(proj), "--ledger", str(tmp_path / "l.db"))
    user, project, loc = r["install"]
    assert user["scope"] == "user" and set(user["hooks"]) >= {"Stop", "PostToolUse", "UserPromptSubmit"}
    assert user["statusline"].endswith("statusline --chain 'echo mine'") and user["chained"] == "echo mine"
    assert user["budget_guard"] is False and user["problems"] == []
    assert project["scope"] == "project" and "error" in project
    assert loc["scope"] == "local" and loc["budget_guard"] is True
    problems = "\n".join(r["problems"])
    assert "project settings: " in problems  # malformed JSON
    assert "/gone/venv/bin/python does not exist" in problems  # the hook's interpreter is missing
    text = cchooks(
        "status", "--claude-dir", str(claude), "--project-dir", str(proj), "--ledger", str(tmp_path / "l.db")
    ).stdout
    assert "statusLine: cchooks (chained: echo mine)" in text
    assert "UNREADABLE" in text and "/gone/venv/bin/python does not exist" in text


def test_ledger_freshness_and_transcripts_not_yet_read(claude_dir: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "l.db"
    hook = json.loads(sorted((ROOT / "fixtures/hooks/p-json").glob("*-Stop.json"))[-1].read_bytes())
    hook["transcript_path"] = hook["transcript_path"].replace(CAPTURE_HOME, str(claude_dir))
    cchooks("hook", "Stop", "--ledger", str(ledger), stdin=json.dumps(hook).encode())
    r = status("--claude-dir", str(claude_dir), "--ledger", str(ledger), "--project-dir", str(tmp_path))
    led = r["ledger"]
    assert led["exists"] and led["responses"] == 8 and led["sessions"] == 1 and led["files_tracked"] == 2
    assert led["size_bytes"] > 0 and led["last_ingest_ms"] and led["newest_response"].startswith("2026-11-22")
    assert led["last_full_scan_ms"] is None
    tr = led["transcripts"]
    assert tr["files"] == 9 and tr["files_with_unread_bytes"] == 7
    assert all("fcfe8de0" not in f["path"] for f in tr["newest_unread"])
    assert any("7 transcript file(s) have" in p and "cchooks ingest" in p for p in r["problems"])
    cchooks("ingest", "--claude-dir", str(claude_dir), "--ledger", str(ledger))
    r = status("--claude-dir", str(claude_dir), "--ledger", str(ledger), "--project-dir", str(tmp_path))
    assert r["ledger"]["transcripts"]["files_with_unread_bytes"] == 0 and r["ledger"]["responses"] == 27
    assert r["ledger"]["last_full_scan_ms"] is not None
    assert not any("transcript file" in p for p in r["problems"])
    text = cchooks("status", "--claude-dir", str(claude_dir), "--ledger", str(ledger)).stdout
    assert "27 responses in 5 sessions" in text and "0 with unread bytes" in text


def test_unreadable_ledger_and_logged_errors_are_problems(tmp_path: Path) -> None:
    ledger = tmp_path / "l.db"
    ledger.write_bytes(b"garbage" * 1000)
    cchooks(
        "hook", "Stop", "--ledger", str(ledger), stdin=b'{"transcript_path": "/nope.jsonl"}'
    )  # logs an error
    r = status("--claude-dir", str(tmp_path), "--ledger", str(ledger), "--project-dir", str(tmp_path))
    problems = "\n".join(r["problems"])
    assert f"ledger {ledger}: damaged" in problems and "cchooks recover" in problems
    assert "1 error(s) in the last 24 h" in problems
    assert r["log"]["path"] == str(Path(os.environ["CCHOOKS_LOG_DIR"]) / "cchooks.log")
    assert "cannot open ledger" in r["log"]["last_error"]


def test_config_is_validated(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[budget]\ndaily_usd = 5\nblock = true\n[statusline]\nicons = true\n")
    r = status("--config", str(cfg), "--ledger", str(tmp_path / "l.db"), "--claude-dir", str(tmp_path))
    assert r["config"]["budget"] == {"daily_usd": 5.0} and r["config"]["budget_block"] is True
    cfg.write_text("[budget]\ndaily_usd = 'five'\n")
    r = status("--config", str(cfg), "--ledger", str(tmp_path / "l.db"), "--claude-dir", str(tmp_path))
    assert any(p.startswith("config: config ") and "[budget] daily_usd" in p for p in r["problems"]), r["problems"]


def test_fallback_reader_agrees_with_the_installer(tmp_path: Path) -> None:
    """`cchooks status` keeps working without cchooks.installers; both readers see the same."""
    from cchooks.commands.status import _entries_dict, _fallback_entries
    from cchooks.installers import settings as st

    path = tmp_path / "settings.json"
    data = settings_with_cchooks("/gone/bin/python -m cchooks", ("PreToolUse", "Stop"))
    data["hooks"]["Stop"][0]["hooks"].append({"type": "command", "command": "echo not ours"})
    path.write_text(json.dumps(data))
    ours = _fallback_entries(path)
    theirs = _entries_dict(st.installed_entries(st.load_settings(path)))
    assert ours["hooks"] == theirs["hooks"] and ours["statusline"] == theirs["statusline"]
    assert ours["budget_guard"] is theirs["budget_guard"] is True
    assert any("/gone/bin/python does not exist" in p for p in ours["problems"])
    path.write_text("{")
    assert "error" in _fallback_entries(path)
