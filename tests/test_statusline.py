"""`cchooks statusline` as Claude Code runs it: real subprocesses, real payloads, real SQLite files."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cchooks.ledger.store import Ledger
from cchooks.records import UsageRecord

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ROOT / "fixtures" / "statusline"
CAPTURE_HOME = "/tmp/ccwork/home/.claude"
SESSION = "bbe7d8d4-7b54-40f3-a9b2-45f3ad620b22"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def payload(n: int, claude_dir: Path | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{n:04d}-statusline.json").read_bytes())
    if claude_dir is not None:
        data["transcript_path"] = data["transcript_path"].replace(CAPTURE_HOME, str(claude_dir))
    return data


def statusline(
    stdin: bytes | dict[str, Any], *args: str, ledger: Path | None = None, config: Path | None = None,
    env: dict[str, str] | None = None, color: str = "never",
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    data = json.dumps(stdin).encode() if isinstance(stdin, dict) else stdin
    cmd = [sys.executable, "-m", "cchooks", "statusline", *args]
    if ledger is not None:
        cmd += ["--ledger", str(ledger)]
    if config is not None:
        cmd += ["--config", str(config)]
    if color:
        cmd += ["--color", color]
    r = subprocess.run(
        cmd, input=data, capture_output=True, timeout=60, env={**os.environ, "NO_COLOR": "", **(env or {})}
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == b"", r.stderr
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(), "")


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    lines = r.stdout.split("\n")
    assert lines[-1] == "" and len(lines) == 2, r.stdout
    assert lines[0].strip()
    return lines[0]


def segments(line: str) -> list[str]:
    return line.split(" | ")


def snapshot_rows(ledger: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(ledger) as db:
        return db.execute(
            "SELECT window, used_percentage, resets_at_ms, session_id FROM rate_limit_snapshots ORDER BY observed_ms"
        ).fetchall()


def add_records(ledger: Path, session: str, n: int, ts_ms: int, model: str = "claude-opus-5-5") -> None:
    """n responses of 100,000 output tokens ($2.00 each at Opus 5.5's $20/M)."""
    with Ledger.open(ledger) as led, led.write():
        led.upsert_records(
            UsageRecord(
                f"m{session}{ts_ms}{i}",
                f"r{session}{ts_ms}{i}",
                session,
                ts_ms + i,
                model,
                output_tokens=100_000,
            )
            for i in range(n)
        )


# -- the real payloads ----------------------------------------------------------------------------


def test_real_payloads_render_expected_segments(claude_dir: Path, ledger_path: Path) -> None:
    # 0005: mid-session; Claude Code's own cost and context figures are present.
    line = one_line(statusline(payload(5, claude_dir), ledger=ledger_path))
    seg = segments(line)
    assert seg[0] == "Opus 5.5"
    assert seg[1].startswith("$0.24 session / $") and seg[1].endswith(" today")
    # The ledger read the whole session (the capture's final transcript): 23400+11530+152030+2730 tokens.
    assert "189,690* tok" in seg
    assert seg[-1] == "ctx 4%"
    assert "5h" not in line and "7d" not in line  # an API-key login has no rate_limits; no recent usage

    # 0001: the first refresh: cost 0 and no context figures yet -> the ledger's own, marked `*`.
    line = one_line(statusline(payload(1, claude_dir), ledger=ledger_path))
    seg = segments(line)
    assert seg[0] == "Opus 5.5"
    assert re.match(r"\$0\.\d\d\* session / \$\d+\.\d\d\* today", seg[1]), seg[1]
    assert seg[-1] == "ctx 4%*"  # last main response 6125+1005+34005 of a 1,000,000 window

    # 0006: after /compact: Claude Code's cost includes the compaction call; context back to 0.
    seg = segments(one_line(statusline(payload(6, claude_dir), ledger=ledger_path)))
    assert seg[1].startswith("$0.29 session")
    assert seg[-1] == "ctx 0%"


def test_all_six_payloads_exit_0_with_one_line(claude_dir: Path, ledger_path: Path) -> None:
    for n in range(1, 7):
        line = one_line(statusline(payload(n, claude_dir), ledger=ledger_path))
        assert "$0.00 session" not in line
    with sqlite3.connect(ledger_path) as db:
        assert (
            db.execute("SELECT count(*) FROM responses WHERE session_id = ?", (SESSION,)).fetchone()[0] == 6
        )


# -- official rate limits ---------------------------------------------------------------------------


def test_official_rate_limits_are_shown_and_snapshotted_once(claude_dir: Path, ledger_path: Path) -> None:
    now = int(time.time())
    data = payload(5, claude_dir)
    data["rate_limits"] = {
        "five_hour": {"used_percentage": 62, "resets_at": now + 2 * 3600 + 13 * 60 + 30},
        "seven_day": {"used_percentage": 35.5, "resets_at": now + 3 * 86400 + 4 * 3600 + 30},
    }
    for _ in range(3):
        seg = segments(one_line(statusline(data, ledger=ledger_path)))
        assert re.fullmatch(r"5h 62% 2h1[23]m left", seg[-3]), seg
        assert re.fullmatch(r"7d 36% 3d4h left", seg[-2]), seg
    rows = snapshot_rows(ledger_path)
    assert sorted(r[:3] for r in rows) == [
        ("five_hour", 62.0, (now + 2 * 3600 + 13 * 60 + 30) * 1000),
        ("seven_day", 35.5, (now + 3 * 86400 + 4 * 3600 + 30) * 1000),
    ]
    assert {r[3] for r in rows} == {SESSION}
    data["rate_limits"]["five_hour"]["used_percentage"] = 64
    statusline(data, ledger=ledger_path)
    assert [r[1] for r in snapshot_rows(ledger_path) if r[0] == "five_hour"] == [62.0, 64.0]
    # A payload without rate_limits (first refresh of another session) shows the remembered figure, marked.
    del data["rate_limits"]
    seg = segments(one_line(statusline(data, ledger=ledger_path)))
    assert re.fullmatch(r"5h 64%\* 2h1[23]m left", seg[-3]), seg
    assert seg[-2].startswith("7d 36%* ")
    assert len(snapshot_rows(ledger_path)) == 3


def test_expired_official_window_falls_back_to_the_estimate(ledger_path: Path, tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    add_records(ledger_path, "s", 2, now - 3_600_000)  # $4.00 in the current block
    data = {"session_id": "s", "model": {"id": "claude-opus-5-5", "display_name": "Opus 5.5"},
            "rate_limits": {"five_hour": {"used_percentage": 99, "resets_at": now // 1000 - 60}}}  # fmt: skip
    line = one_line(statusline(data, ledger=ledger_path))
    assert re.search(r"\| 5h ~\$4\.00 3h\d\dm left \|", line), (
        line
    )  # block: the hour of the first response + 5 h
    cfg = tmp_path / "c.toml"
    cfg.write_text("[limits]\nfive_hour_usd = 10\n")
    assert "5h ~40% " in one_line(statusline(data, ledger=ledger_path, config=cfg))
    cfg.write_text('[limits]\nplan = "pro"\n')  # the preset's $18 per 5 hours
    assert "5h ~22% " in one_line(statusline(data, ledger=ledger_path, config=cfg))
    cfg.write_text("[limits]\nfive_hour_tokens = 400000\n")  # input + output tokens
    assert "5h ~50% " in one_line(statusline(data, ledger=ledger_path, config=cfg))


# -- never $0.00 for what has no price --------------------------------------------------------------


def test_unpriced_model_shows_tokens_and_question_mark(claude_dir: Path, ledger_path: Path) -> None:
    transcript = claude_dir / "projects" / "-tmp-ccwork-proj" / f"{SESSION}.jsonl"
    transcript.write_bytes(transcript.read_bytes().replace(b"claude-opus-5-5", b"claude-mystery-1"))
    for sub in (transcript.with_suffix("") / "subagents").glob("*.jsonl"):
        sub.write_bytes(sub.read_bytes().replace(b"claude-opus-5-5", b"claude-mystery-1"))
    data = payload(5, claude_dir)
    data["model"] = {"id": "claude-mystery-1", "display_name": "Mystery 1"}
    del data["cost"]
    line = one_line(statusline(data, ledger=ledger_path))
    seg = segments(line)
    assert "$0.00" not in seg[1].split(" / ")[0]
    assert seg[1].startswith("$?* (189,690 tok) session / ")
    assert "189,690* tok" in seg
    data["cost"] = {"total_cost_usd": 0}  # Claude Code's 0 for responses the ledger holds is not believed
    assert segments(one_line(statusline(data, ledger=ledger_path)))[1].startswith("$?* (189,690 tok) session")


def test_partly_priced_spend_says_so(ledger_path: Path) -> None:
    now = int(time.time() * 1000)
    add_records(ledger_path, "s", 1, now - 1000)
    add_records(ledger_path, "s", 1, now - 500, model="claude-mystery-1")
    line = one_line(statusline({"session_id": "s"}, ledger=ledger_path))
    assert "$2.00+?* session / $2.00+?* today" in line


# -- never breaks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stdin", [b"", b"garbage", b"[]", b"\xff\xfe", b'{"model": 5, "cost": "x"}'])
def test_garbage_stdin_still_prints_a_line(stdin: bytes, ledger_path: Path) -> None:
    assert one_line(statusline(stdin, ledger=ledger_path)) == "$0.00* today"
    now = int(time.time() * 1000)
    add_records(ledger_path, "s", 1, now - 1000)
    line = one_line(statusline(stdin, ledger=ledger_path))
    assert line.startswith("$2.00* today | 100,000* tok/min")


def test_garbage_stdin_and_no_ledger_prints_the_fallback(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    # nothing to show but that the ledger cannot be made, and where to look
    assert one_line(statusline(b"garbage", ledger=tmp_path / "file" / "l.db")) == (
        "⚠ ledger cannot be created: run cchooks status"
    )


def test_missing_transcript_still_prints_payload_figures(ledger_path: Path) -> None:
    data = payload(5)  # points at /tmp/ccwork/..., which does not exist here
    seg = segments(one_line(statusline(data, ledger=ledger_path)))
    assert seg[0] == "Opus 5.5" and seg[1].startswith("$0.24 session") and seg[-1] == "ctx 4%"


@pytest.mark.parametrize("kind", ["parent-is-a-file", "not-a-database"])
def test_unusable_ledger_still_prints_payload_figures(kind: str, claude_dir: Path, tmp_path: Path) -> None:
    if kind == "parent-is-a-file":
        (tmp_path / "file").write_text("x")
        ledger = tmp_path / "file" / "ledger.sqlite3"
    else:
        ledger = tmp_path / "ledger.sqlite3"
        ledger.write_bytes(b"not a database" * 100)
    line = one_line(statusline(payload(5, claude_dir), ledger=ledger))
    problem = "ledger unreadable" if kind == "not-a-database" else "ledger cannot be created"
    assert line == f"Opus 5.5 | $0.24 session | ctx 4% | ⚠ {problem}: run cchooks status"
    assert "ERROR" in (Path(os.environ["CCHOOKS_LOG_DIR"]) / "cchooks.log").read_text()


def test_a_busy_ledger_does_not_slow_the_statusline(claude_dir: Path, ledger_path: Path) -> None:
    statusline(payload(1, claude_dir), ledger=ledger_path)
    holder = sqlite3.connect(ledger_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        line = one_line(statusline(payload(5, claude_dir), ledger=ledger_path))
        elapsed = time.monotonic() - t0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "189,690* tok" in line
    assert elapsed < 2.5  # waits 250 ms for the writer, then shows what the ledger has


def test_hot_path_imports_no_pydantic(claude_dir: Path, ledger_path: Path) -> None:
    cmd = [sys.executable, "-X", "importtime", "-m", "cchooks", "statusline", "--ledger", str(ledger_path)]
    r = subprocess.run(
        cmd, input=json.dumps(payload(5, claude_dir)).encode(), capture_output=True, timeout=60
    )
    assert r.returncode == 0
    modules = {line.split("|")[-1].strip() for line in r.stderr.decode().splitlines() if "|" in line}
    assert "cchooks.statusline.render" in modules
    for heavy in ("pydantic", "pydantic_core", "rich", "logging", "subprocess", "zoneinfo", "asyncio"):
        assert heavy not in modules, heavy


# -- chain, preview, configuration ----------------------------------------------------------------


def test_chain_runs_the_old_statusline_with_the_same_stdin(
    claude_dir: Path, ledger_path: Path, tmp_path: Path
) -> None:
    old = f"{sys.executable} -c \"import sys, json; print('old:' + json.load(sys.stdin)['model']['id'])\""
    line = one_line(statusline(payload(5, claude_dir), "--chain", old, ledger=ledger_path))
    assert line.startswith("Opus 5.5 | ") and line.endswith(" | old:claude-opus-5-5")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[statusline]\nchain_position = "below"\nsegments = ["model"]\n')
    r = statusline(payload(5, claude_dir), "--chain", "printf 'a\\nb\\n'", ledger=ledger_path, config=cfg)
    assert r.stdout == "Opus 5.5\na\nb\n"
    # Garbage for us is still the old command's business.
    assert one_line(statusline(b"x", "--chain", "cat", ledger=ledger_path, config=cfg)) == "x"


def test_slow_chained_command_is_left_out(claude_dir: Path, ledger_path: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[statusline]\nchain_timeout = 0.3\n")
    t0 = time.monotonic()
    line = one_line(
        statusline(payload(5, claude_dir), "--chain", "sleep 20; echo late", ledger=ledger_path, config=cfg)
    )
    assert time.monotonic() - t0 < 5
    assert line.startswith("Opus 5.5 | ") and "late" not in line


def test_preview_renders_the_bundled_sample_and_writes_nothing(ledger_path: Path, tmp_path: Path) -> None:
    line = one_line(statusline(b"", "--preview", ledger=ledger_path))
    seg = segments(line)
    assert seg[0] == "Opus 5.5" and seg[1] == "$0.24 session"
    assert re.fullmatch(r"5h 62% 2h1[23]m left", seg[2]) and re.fullmatch(r"7d 35% 3d4h left", seg[3])
    assert seg[4] == "ctx 4%"
    assert not ledger_path.exists()
    add_records(ledger_path, "s", 1, int(time.time() * 1000) - 1000)
    line = one_line(statusline(b"", "--preview", ledger=ledger_path))
    assert "$2.00* today" in line
    assert snapshot_rows(ledger_path) == []
    f = tmp_path / "p.json"
    f.write_text(json.dumps(payload(3)))
    assert one_line(statusline(b"", "--preview", "--payload", str(f), ledger=ledger_path)).startswith(
        "Opus 5.5 | $0.11"
    )


def test_configured_lines_icons_and_colours(claude_dir: Path, ledger_path: Path, tmp_path: Path) -> None:
    data = payload(5, claude_dir)
    data["rate_limits"] = {"five_hour": {"used_percentage": 62, "resets_at": int(time.time()) + 3600}}
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[statusline]\nlines = [["model", "context"], ["five_hour", "lines", "cwd"]]\nseparator = " · "\n'
        "icons = true\nthresholds = [50, 60]\n"
    )
    r = statusline(data, ledger=ledger_path, config=cfg, color="")
    first, second, end = r.stdout.split("\n")
    assert end == ""
    assert "\x1b[31m62%\x1b[0m" in second  # red: at or over the second threshold
    assert "\x1b[32m4%\x1b[0m" in first  # green
    plain_first, plain_second = ANSI.sub("", first), ANSI.sub("", second)
    assert plain_first == "🤖 Opus 5.5 · 🧠 ctx 4%"
    assert plain_second.startswith("⏳ 5h 62% ") and plain_second.endswith(" · ✏️ +0 -0 · 📁 proj")
    cfg.write_text("[statusline]\ncolors = false\n")
    assert "\x1b[" not in statusline(data, ledger=ledger_path, config=cfg, color="").stdout
    cfg.write_text("[statusline]\ncolors = true\n")
    assert (
        "\x1b["
        not in statusline(data, ledger=ledger_path, config=cfg, color="", env={"NO_COLOR": "1"}).stdout
    )


def test_bad_statusline_config_falls_back_to_defaults(
    claude_dir: Path, ledger_path: Path, tmp_path: Path
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[statusline]\nsegments = ["model", "nonsense"]\nicons = "yes"\nthresholds = [90]\n')
    # rejected whole, as every command rejects it: the defaults, and the error in the log
    assert one_line(statusline(payload(5, claude_dir), ledger=ledger_path, config=cfg)).startswith(
        "Opus 5.5 | $0.24"
    )
    log = (Path(os.environ["CCHOOKS_LOG_DIR"]) / "cchooks.log").read_text()
    assert "[statusline] segments" in log
    cfg.write_text("this is [not toml")
    assert one_line(statusline(payload(5, claude_dir), ledger=ledger_path, config=cfg)).startswith(
        "Opus 5.5 | $0.24"
    )
    log = (Path(os.environ["CCHOOKS_LOG_DIR"]) / "cchooks.log").read_text()
    assert "unknown segment(s) nonsense" in log and "[statusline] icons" in log
    assert "not valid TOML" in log
