"""Installer and doctor under faults (issue 10): real files, the real CLI in subprocesses.

Tests run as root in CI, so read-only is made with permission bits (root ignores EACCES) and a
failed write with a directory where the backup must go.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

USER_STATUSLINE = {"type": "command", "command": "echo mine", "padding": 2, "refreshInterval": 5,
                   "futureField": {"x": [1, 2]}}  # fmt: skip
ORIGINAL = json.dumps({"model": "opus", "statusLine": USER_STATUSLINE}, indent=2) + "\n"


def _cli(*args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cchooks", *args], input=stdin.decode() if stdin is not None else None,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def claude(tmp_path: Path) -> Path:
    d = tmp_path / "claude"
    d.mkdir()
    (d / "settings.json").write_text(ORIGINAL)
    return d


def _listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def test_read_only_settings_are_refused_in_one_line(claude: Path) -> None:
    settings = claude / "settings.json"
    settings.chmod(0o444)
    r = _cli("install", "--settings-dir", str(claude), "--statusline-chain")
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "read-only" in r.stderr and "Traceback" not in r.stderr
    assert settings.read_text() == ORIGINAL and stat.S_IMODE(settings.stat().st_mode) == 0o444
    assert _listing(claude) == [".cchooks-install.lock", "settings.json"] or _listing(claude) == ["settings.json"]
    assert not (claude / ".cchooks-install.json").exists()


@pytest.mark.parametrize("command", ["install", "uninstall"])
@pytest.mark.parametrize("below", ["", "sub"])
def test_a_settings_dir_that_is_a_file_is_named_in_one_line(claude: Path, command: str, below: str) -> None:
    settings = claude / "settings.json"
    target = settings / below if below else settings  # the file itself, or a folder under it
    r = _cli(command, "--settings-dir", str(target))
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"cchooks {command}: {settings} is a file, not a directory; settings go in {target / 'settings.json'}"
    )
    assert "Traceback" not in r.stderr and "Errno" not in r.stderr
    assert settings.read_text() == ORIGINAL
    assert sorted(p.name for p in claude.iterdir()) == ["settings.json"]


def test_state_is_not_recorded_when_the_settings_write_fails(claude: Path) -> None:
    # The backup of settings.json is written first; a directory in its place fails that write
    # even for root (as `chattr +i` would).
    (claude / "settings.json.cchooks-bak").mkdir()
    r = _cli("install", "--settings-dir", str(claude), "--statusline-chain")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert (claude / "settings.json").read_text() == ORIGINAL
    assert not (claude / ".cchooks-install.json").exists()
    status = json.loads(_cli("status", "--json", "--claude-dir", str(claude)).stdout)
    assert not any(i.get("hooks") for i in status["install"])


def test_dry_run_writes_nothing_at_all(claude: Path) -> None:
    before = _listing(claude)
    for cmd in (["install"], ["uninstall"]):
        r = _cli(*cmd, "--settings-dir", str(claude), "--dry-run", *(["--statusline-chain"] if cmd == ["install"] else []))
        assert r.returncode == 0, r.stderr
        assert _listing(claude) == before
        assert (claude / "settings.json").read_text() == ORIGINAL


def test_chain_keeps_every_field_and_uninstall_leaves_nothing_behind(claude: Path) -> None:
    r = _cli("install", "--settings-dir", str(claude), "--statusline-chain")
    assert r.returncode == 0, r.stderr
    installed = json.loads((claude / "settings.json").read_text())["statusLine"]
    assert {k: v for k, v in installed.items() if k != "command"} == {
        k: v for k, v in USER_STATUSLINE.items() if k != "command"}  # fmt: skip
    assert "echo mine" in installed["command"]
    r = _cli("uninstall", "--settings-dir", str(claude))
    assert r.returncode == 0, r.stderr
    assert (claude / "settings.json").read_text() == ORIGINAL
    assert _listing(claude) == ["settings.json"]  # no backup, no lock, no state


def test_uninstall_without_the_state_file_still_keeps_the_users_fields(claude: Path) -> None:
    assert _cli("install", "--settings-dir", str(claude), "--statusline-chain").returncode == 0
    (claude / ".cchooks-install.json").unlink()
    assert _cli("uninstall", "--settings-dir", str(claude)).returncode == 0
    assert json.loads((claude / "settings.json").read_text())["statusLine"] == USER_STATUSLINE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat_line = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
    return " Z " not in stat_line  # a zombie is dead


def _statusline(chain: str, tmp_path: Path, chain_timeout: float = 1.0) -> tuple[subprocess.CompletedProcess[str], float]:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[statusline]\nsegments = ["model"]\nchain_timeout = {chain_timeout}\n')
    payload = json.dumps({"session_id": "s", "model": {"id": "claude-opus-5-5", "display_name": "Opus"}})
    t0 = time.monotonic()
    r = _cli("statusline", "--ledger", str(tmp_path / "l.sqlite3"), "--config", str(cfg), "--color", "never",
             "--chain", chain, stdin=payload.encode())  # fmt: skip
    return r, time.monotonic() - t0


def test_chained_commands_background_children_die_with_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    r, took = _statusline(f"sleep 60 & echo $! > {pidfile}; echo mine", tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "Opus | mine" and took < 5
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "the chained command's background child was orphaned"


def test_timed_out_chain_is_killed_with_its_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    r, took = _statusline(f"sleep 60 & echo $! > {pidfile}; sleep 60; echo late", tmp_path, chain_timeout=0.5)
    assert r.returncode == 0 and "late" not in r.stdout and took < 5
    pid = int(pidfile.read_text())
    time.sleep(0.3)
    alive = _alive(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive


def test_chained_output_is_capped(tmp_path: Path) -> None:
    r, took = _statusline(f"{sys.executable} -c \"import sys; sys.stdout.write('x' * 50_000_000)\"", tmp_path)
    assert r.returncode == 0 and took < 5
    assert len(r.stdout) < 100_000


def test_status_reports_every_problem_when_settings_is_a_directory(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    (claude / "settings.json").mkdir(parents=True)
    r = _cli("status", "--json", "--claude-dir", str(claude), "--ledger", str(tmp_path / "missing.sqlite3"))
    assert r.returncode == 0 and "Traceback" not in r.stderr
    report = json.loads(r.stdout)
    problems = "\n".join(report["problems"])
    assert "settings.json" in problems and "directory" in problems.lower()
    assert "does not exist yet" in problems  # the ledger was still checked
    text = _cli("status", "--claude-dir", str(claude), "--ledger", str(tmp_path / "missing.sqlite3"))
    assert "UNREADABLE" in text.stdout and "problems:" in text.stdout


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs /proc")
def test_ingest_exits_non_zero_when_a_file_cannot_be_read(tmp_path: Path) -> None:
    from tests.transcript_factory import Resp, assistant_line

    proj = tmp_path / "claude" / "projects" / "-tmp-p"
    proj.mkdir(parents=True)
    (proj / "good.jsonl").write_text(assistant_line(Resp(1, "good", 1, 2, 3, 4, 5)) + "\n")
    # A regular file whose read fails (EIO) even for root.
    (proj / "bad.jsonl").symlink_to("/proc/self/mem")
    ledger = tmp_path / "l.sqlite3"
    r = _cli("ingest", "--json", "--claude-dir", str(tmp_path / "claude"), "--ledger", str(ledger))
    assert r.returncode == 1, r.stdout + r.stderr
    summary = json.loads(r.stdout)
    assert summary["files_failed"] == 1 and summary["responses"] == 1  # the rest was stored
    assert "bad.jsonl" in r.stderr and "Traceback" not in r.stderr
