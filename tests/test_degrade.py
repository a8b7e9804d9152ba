"""Issue #10, item 2: when the ledger cannot be written, views still show what it holds; a damaged
ledger is detected, said so, and recovered with a copy of the old file kept."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cchooks.api import ingest, open_ledger

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT / "benchmarks" / "gen_corpus.py"


def cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    e = dict(os.environ, **(env or {}))
    e.pop("CCHOOKS_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "cchooks", *args], capture_output=True, text=True, env=e, input=stdin, timeout=120, **kw
    )


def one_line(err: str) -> str:
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def filled(claude_dir: Path, tmp_path: Path) -> tuple[Path, Path, int]:
    """A ledger holding the fixture's 27 responses, and a second config dir with ~2,000 more responses to read."""
    led = tmp_path / "ledger.sqlite3"
    with open_ledger(led) as ledger:
        ingest(ledger, claude_dir)
    more = tmp_path / "more"
    subprocess.run([sys.executable, str(GEN), "--out", str(more), "--size-mb", "12", "--density", "dense", "--seed", "3"], check=True,
                   capture_output=True)  # fmt: skip
    return led, more, 27


def _daily_total(out: str) -> int:
    return int(json.loads(out)["totals"]["responses"])


def test_disk_full_view_shows_what_the_ledger_holds(filled: tuple[Path, Path, int], claude_dir: Path) -> None:
    led, more, n = filled
    limit = os.path.getsize(led) + 64 * 1024  # room for the WAL index and first pages, not for 2,000 rows

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    r = cli("report", "daily", "--json", "--ledger", str(led), "--claude-dir", f"{claude_dir},{more}",
            preexec_fn=small_disk)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert _daily_total(r.stdout) == n  # what the ledger held before
    line = one_line(r.stderr)
    assert "could not update the ledger" in line and "free some space" in line


def test_locked_ledger_view_still_prints(filled: tuple[Path, Path, int], claude_dir: Path) -> None:
    led, more, n = filled
    holder = sqlite3.connect(led, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, holding the lock
    try:
        t0 = time.monotonic()
        r = cli("report", "daily", "--json", "--ledger", str(led), "--claude-dir", f"{claude_dir},{more}")
        took = time.monotonic() - t0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.returncode == 0, r.stderr
    assert _daily_total(r.stdout) == n
    assert "another cchooks is writing" in one_line(r.stderr)
    assert took < 25  # the view's short wait, not the ledger's 30 s


def test_read_only_ledger_view_still_prints(filled: tuple[Path, Path, int], claude_dir: Path, tmp_path: Path) -> None:
    led, more, n = filled
    # The ledger's folder on a read-only mount (a private mount namespace: tests run as root, who
    # could write a file whatever its mode).
    ro = tmp_path / "ro"
    ro.mkdir()
    shutil.copy(led, ro / "ledger.sqlite3")
    script = (
        f"mount --bind {ro} {ro} && mount -o remount,ro,bind {ro} && exec {sys.executable} -m cchooks "
        f"report daily --json --ledger {ro / 'ledger.sqlite3'} --claude-dir {claude_dir},{more}"
    )
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert _daily_total(r.stdout) == n
    assert "read-only" in one_line(r.stderr)


def test_ledger_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    r = cli("report", "daily", "--ledger", str(tmp_path / "f" / "ledger.sqlite3"), "--no-ingest")
    assert r.returncode == 1
    assert "cannot create ledger" in one_line(r.stderr)


def _damage(led: Path) -> None:
    """Overwrite pages in the middle of the file (the rows, not the header)."""
    with open_ledger(led) as ledger:  # fold the WAL into the file first
        ledger.set_busy_timeout(1000)
    con = sqlite3.connect(led)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    size = os.path.getsize(led)
    page = 4096
    with open(led, "r+b") as fh:
        for k in range(2, size // page - 1, 3):
            fh.seek(k * page + 100)
            fh.write(os.urandom(page - 200))


def test_a_damaged_schema_name_that_is_not_utf8_still_says_damaged(tmp_path: Path) -> None:
    """SQLite's message names the damaged schema object, and the driver fails to decode it
    (UnicodeDecodeError, not sqlite3.DatabaseError): still one line that says what to do."""
    led = tmp_path / "ledger.sqlite3"
    with open_ledger(led):
        pass
    c = sqlite3.connect(led)
    c.execute("PRAGMA writable_schema = ON")
    c.execute("UPDATE sqlite_master SET name = CAST(x'41d04142' AS TEXT), sql = 'CREATE TABLE broken(' WHERE name = 'meta'")
    c.commit()
    c.close()
    r = cli("report", "daily", "--json", "--ledger", str(led), "--no-ingest")
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert "damaged" in line and "cchooks recover" in line and "Traceback" not in r.stderr


def test_damaged_ledger_is_detected_and_recovered(claude_dir: Path, tmp_path: Path) -> None:
    led = tmp_path / "ledger.sqlite3"
    more = tmp_path / "more"
    subprocess.run([sys.executable, str(GEN), "--out", str(more), "--size-mb", "2", "--seed", "5"], check=True,
                   capture_output=True)  # fmt: skip
    dirs = f"{claude_dir},{more}"
    assert cli("ingest", "--ledger", str(led), "--claude-dir", dirs).returncode == 0
    expected = json.loads(cli("report", "daily", "--json", "--ledger", str(led), "--no-ingest").stdout)["totals"]
    _damage(led)
    failures = 0
    for group in ("session", "project", "agent", "blocks", "daily"):
        r = cli("report", group, "--json", "--ledger", str(led), "--no-ingest")
        if r.returncode != 0:
            failures += 1
            assert "damaged" in one_line(r.stderr) and "cchooks recover" in r.stderr
    r = cli("limits", "--ledger", str(led), "--no-ingest")
    assert r.returncode == 0 or "cchooks recover" in one_line(r.stderr)
    assert failures > 0  # the damage is real
    status = json.loads(cli("status", "--json", "--ledger", str(led), "--claude-dir", dirs).stdout)
    assert status["ledger"]["quick_check"] != "ok"
    assert any("cchooks recover" in p for p in status["problems"])
    # the statusline says so instead of "no usage data yet"
    payload = json.dumps({"session_id": "x", "model": {"display_name": "Opus"}})
    line = cli("statusline", "--ledger", str(led), "--no-ingest", stdin=payload).stdout
    assert "ledger unreadable" in line and "no usage data yet" not in line
    # recover: a copy of the old file is kept, the new ledger is sound and complete again
    r = cli("recover", "--json", "--ledger", str(led), "--claude-dir", dirs)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert Path(doc["backup"]).exists() and doc["problems_found"]
    after = json.loads(cli("report", "daily", "--json", "--ledger", str(led), "--no-ingest").stdout)["totals"]
    for key in ("responses", "input_tokens", "output_tokens", "cache_read_tokens", "cost_usd"):
        assert after[key] == expected[key], key
    status = json.loads(cli("status", "--json", "--ledger", str(led), "--claude-dir", dirs).stdout)
    assert status["ledger"]["quick_check"] == "ok"


def test_recover_salvages_rows_whose_transcripts_are_gone(claude_dir: Path, tmp_path: Path) -> None:
    led = tmp_path / "ledger.sqlite3"
    with open_ledger(led) as ledger:
        ingest(ledger, claude_dir)
    shutil.rmtree(claude_dir / "projects")  # Claude Code cleaned up its old transcripts
    r = cli("recover", "--force", "--json", "--ledger", str(led), "--claude-dir", str(claude_dir))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["rows_copied"]["responses"] == 27 and doc["responses"] == 27


def test_statusline_with_an_unopenable_ledger_says_so(tmp_path: Path) -> None:
    led = tmp_path / "ledger.sqlite3"
    led.write_bytes(b"this is not a database" * 500)
    payload = json.dumps({"session_id": "x", "model": {"display_name": "Opus"}})
    r = cli("statusline", "--ledger", str(led), stdin=payload)
    assert r.returncode == 0
    assert "ledger unreadable: run cchooks status" in r.stdout
