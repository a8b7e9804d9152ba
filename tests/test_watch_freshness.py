"""Views skip their scan only while a running watcher has read everything (cchooks.watch.freshness).

The end-to-end test runs the real `cchooks watch` and `cchooks report` as processes: a report is
spared the scan while the watcher is idle, scans again the moment a transcript changes (before the
watcher's debounce has passed), and scans when the watcher was killed (its state file left behind).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cchooks.watch import InstanceLock
from cchooks.watch.freshness import publish, state_path, vouching_watcher, withdraw
from tests.test_watch import Corpus, append, wait_for_ledger, watching
from tests.transcript_factory import totals

REPO = Path(__file__).resolve().parent.parent
NOT_SCANNING = "has read every transcript; not scanning"


def _report(ledger: Path, claude: Path) -> tuple[dict[str, int], str]:
    p = subprocess.run(
        [sys.executable, "-m", "cchooks", "report", "daily", "--json", "--verbose",
         "--claude-dir", str(claude), "--ledger", str(ledger)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["rows"]
    got = {
        "responses": sum(r["responses"] for r in rows),
        "input": sum(r["input_tokens"] for r in rows),
        "output": sum(r["output_tokens"] for r in rows),
        "cr": sum(r["cache_read_tokens"] for r in rows),
    }
    return got, p.stderr


def _want(c: Corpus) -> dict[str, int]:
    t = totals(list(c.expected.values()))
    return {k: t[k] for k in ("responses", "input", "output", "cr")}


def _wait(cond: object, what: str, timeout: float = 10.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"not {what} after {timeout} s")


def test_a_report_trusts_an_idle_watcher_and_scans_whenever_it_cannot(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    ledger = tmp_path / "ledger.sqlite3"
    transcript = claude / "projects" / "-p" / "s.jsonl"
    c = Corpus()
    append(transcript, c.lines("s", 3))
    state = Path(state_path(ledger))
    # A long debounce: the watcher holds each change for 3 s before reading it.
    with watching(ledger, claude, tmp_path, "--debounce", "3000", "--max-delay", "3000") as w:
        wait_for_ledger(ledger, c, "catch-up")
        _wait(state.exists, "idle")
        got, err = _report(ledger, claude)
        assert NOT_SCANNING in err
        assert got == _want(c)

        # A change: the watcher stops vouching at once, long before it reads the change itself.
        append(transcript, c.lines("s", 2))
        _wait(lambda: not state.exists(), "busy", timeout=2.0)
        got, err = _report(ledger, claude)
        assert NOT_SCANNING not in err
        assert got == _want(c)  # the report read the new lines itself

        # Read (by the report, then by the watcher, which finds nothing new): idle again.
        _wait(state.exists, "idle again", timeout=10.0)
        got, err = _report(ledger, claude)
        assert NOT_SCANNING in err
        assert got == _want(c)

        # Killed: its state file stays behind, saying idle, but its lock is gone with it.
        w.stop(signal.SIGKILL)
        assert state.exists()
        append(transcript, c.lines("s", 2))
        got, err = _report(ledger, claude)
        assert NOT_SCANNING not in err
        assert got == _want(c)


def test_a_watcher_vouches_only_when_every_condition_holds(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    roots = [tmp_path / "a" / "projects", tmp_path / "b" / "projects"]
    publish(ledger, roots, "native", idle=True)
    assert vouching_watcher(ledger, roots) is None  # nobody holds the lock
    with InstanceLock(ledger):
        pid = os.getpid()
        assert vouching_watcher(ledger, roots) == pid
        assert vouching_watcher(ledger, roots[:1]) == pid  # a view of fewer folders
        assert vouching_watcher(ledger, [*roots, tmp_path / "c" / "projects"]) is None  # one not watched
        publish(ledger, roots, "native", idle=False)
        assert vouching_watcher(ledger, roots) is None
        publish(ledger, roots, "polling", idle=True)
        assert vouching_watcher(ledger, roots) is None
        Path(state_path(ledger)).write_text(json.dumps({"pid": pid + 1, "roots": [str(r) for r in roots],
                                                  "mode": "native", "idle": True}))  # fmt: skip
        assert vouching_watcher(ledger, roots) is None  # another process's state
        for garbage in ("", "{", "[]", '{"pid": "1", "roots": [], "mode": "native", "idle": true}'):
            Path(state_path(ledger)).write_text(garbage)
            assert vouching_watcher(ledger, roots) is None
        withdraw(ledger)
        withdraw(ledger)  # nothing to remove: fine
        assert vouching_watcher(ledger, roots) is None


def test_recover_refuses_while_a_watcher_keeps_the_ledger_open(tmp_path: Path) -> None:
    # `recover` moves the damaged file aside; a watcher's connection would go on writing there.
    claude = tmp_path / "claude"
    ledger = tmp_path / "ledger.sqlite3"
    c = Corpus()
    append(claude / "projects" / "-p" / "s.jsonl", c.lines("s", 2))

    def recover() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cchooks", "recover", "--force", "--ledger", str(ledger), "--claude-dir", str(claude)],
            capture_output=True, text=True, cwd=REPO, timeout=120,
        )  # fmt: skip

    with watching(ledger, claude, tmp_path) as w:
        wait_for_ledger(ledger, c, "catch-up")
        r = recover()
        assert r.returncode == 1
        assert f"(pid {w.proc.pid}) has {ledger} open; stop it first" in r.stderr
        assert "Traceback" not in r.stderr
        assert not list(tmp_path.glob("ledger.sqlite3.damaged-*"))  # nothing moved
    r = recover()
    assert r.returncode == 0, r.stderr
    assert list(tmp_path.glob("ledger.sqlite3.damaged-*"))
    got, _err = _report(ledger, claude)
    assert got == _want(c)
