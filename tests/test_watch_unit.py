"""The watcher in-process: path classification, debounce, retries after errors, the instance lock."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest

from cchooks.ledger import Ledger
from cchooks.watch import InstanceLock, LockHeld, Watcher, WatchOptions, lock_holder
from cchooks.watch import observer as obs_mod
from cchooks.watch.targets import desired_targets, transcript_kind, transcripts_under, translate
from tests.test_watch import Corpus, append, ledger_totals, wait_for_ledger


def test_desired_targets_walk_down_as_dirs_appear(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "projects"
    [t] = desired_targets([root])
    assert (t.shown_path, t.recursive) == (str(tmp_path), False)
    (tmp_path / "a" / "b").mkdir(parents=True)
    [t] = desired_targets([root])
    assert (t.shown_path, t.recursive) == (str(tmp_path / "a" / "b"), False)
    root.mkdir()
    [t] = desired_targets([root])
    assert (t.shown_path, t.recursive) == (str(root), True)
    # Two roots waiting on the same ancestor share one watch.
    other = tmp_path / "a" / "c" / "projects"
    assert len(desired_targets([root, other, tmp_path / "a" / "d" / "projects"])) == 2


def test_symlinked_projects_dir_is_watched_at_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "cfg").mkdir()
    link = tmp_path / "cfg" / "projects"
    link.symlink_to(real)
    [t] = desired_targets([link])
    assert t.watch_path == str(real) and t.shown_path == str(link) and t.recursive
    assert translate(str(real / "p" / "s.jsonl"), [t]) == str(link / "p" / "s.jsonl")
    assert translate("/elsewhere/x.jsonl", [t]) == "/elsewhere/x.jsonl"


def test_transcript_paths(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    roots = [root]
    assert transcript_kind(str(root / "p" / "s.jsonl"), roots) == root
    assert transcript_kind(str(root / "p" / "s" / "subagents" / "agent-x.jsonl"), roots) == root
    assert transcript_kind(str(root / "p" / "s" / "subagents" / "agent-x.meta.json"), roots) is None
    assert transcript_kind(str(root / "p" / "s" / "other" / "agent-x.jsonl"), roots) is None
    assert transcript_kind(str(root / "s.jsonl"), roots) is None
    assert transcript_kind(str(root / "p" / ".s.jsonl.tmp"), roots) is None
    assert transcript_kind(str(tmp_path / "elsewhere" / "p" / "s.jsonl"), roots) is None
    files = [root / "p" / "a.jsonl", root / "p" / "a" / "subagents" / "agent-1.jsonl", root / "q" / "b.jsonl"]
    for f in files + [root / "p" / "a" / "deep" / "x" / "c.jsonl", root / "p" / "notes.txt"]:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("")
    assert sorted(transcripts_under(root, root)) == sorted(files)
    assert sorted(transcripts_under(root / "p", root)) == sorted(files[:2])
    assert list(transcripts_under(root / "p" / "a", root)) == [files[1]]


@pytest.fixture
def watcher(tmp_path: Path):  # type: ignore[no-untyped-def]
    made: list[Watcher] = []

    def make(claude: Path, **kw: object) -> Watcher:
        w = Watcher(WatchOptions(tmp_path / "ledger.sqlite3", str(claude), **kw))  # type: ignore[arg-type]
        w.start()
        assert w.ready.wait(10)
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop()


def test_burst_is_debounced_into_few_ingests(
    tmp_path: Path, watcher, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    calls: list[float] = []
    real = obs_mod.ingest_file

    def counting(ledger: Ledger, tf, *a, **kw):  # type: ignore[no-untyped-def]
        calls.append(time.monotonic())
        return real(ledger, tf, *a, **kw)

    monkeypatch.setattr(obs_mod, "ingest_file", counting)
    claude = tmp_path / "claude"
    (claude / "projects" / "p").mkdir(parents=True)
    (claude / "projects" / "p" / "s.jsonl").write_text("")
    w = watcher(claude, debounce_ms=200, max_delay_ms=500)
    c = Corpus()
    t0 = time.monotonic()
    for _ in range(60):  # 60 appends over ~1.2 s: never quiet for 200 ms
        append(claude / "projects" / "p" / "s.jsonl", c.lines("s", 1))
        time.sleep(0.02)
    wait_for_ledger(tmp_path / "ledger.sqlite3", c, "burst")
    # The max-delay bound forces a pass every ~0.5 s while the writes go on; quiet time ends the burst.
    assert 2 <= len(calls) <= 6, len(calls)
    assert calls[0] - t0 <= 0.5 + 0.15
    assert w.stats.errors == 0


def test_errors_are_logged_and_retried(
    tmp_path: Path,
    watcher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    real = obs_mod.ingest_file
    failures = {"left": 2}

    def flaky(ledger: Ledger, tf, *a, **kw):  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return real(ledger, tf, *a, **kw)

    monkeypatch.setattr(obs_mod, "ingest_file", flaky)
    claude = tmp_path / "claude"
    (claude / "projects" / "p").mkdir(parents=True)
    (claude / "projects" / "p" / "s.jsonl").write_text("")
    w = watcher(claude)
    c = Corpus()
    with caplog.at_level(logging.INFO, logger="cchooks.watch"):
        append(claude / "projects" / "p" / "s.jsonl", c.lines("s", 2))
        wait_for_ledger(tmp_path / "ledger.sqlite3", c, "after two failures", deadline=6.0)
    assert w.stats.errors == 2
    assert sum("database is locked" in r.getMessage() for r in caplog.records) == 2
    # And it keeps working afterwards.
    append(claude / "projects" / "p" / "s.jsonl", c.lines("s", 1))
    wait_for_ledger(tmp_path / "ledger.sqlite3", c, "after recovery")


def test_native_failure_falls_back_to_polling(
    tmp_path: Path, watcher, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    real = Watcher._schedule

    def no_watches(self: Watcher, t):  # type: ignore[no-untyped-def]
        if self.mode == "native":
            raise obs_mod.NativeObserverUnavailable("inotify watch limit reached (simulated)")
        return real(self, t)

    monkeypatch.setattr(Watcher, "_schedule", no_watches)
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    monkeypatch.setattr(obs_mod, "FALLBACK_POLL_SECONDS", 0.2)
    w = watcher(claude)
    assert w.mode == "polling"
    c = Corpus()
    append(claude / "projects" / "p" / "s.jsonl", c.lines("s", 2))
    wait_for_ledger(tmp_path / "ledger.sqlite3", c, "polling fallback")


def test_stop_flushes_and_closes(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    (claude / "projects" / "p").mkdir(parents=True)
    w = Watcher(WatchOptions(tmp_path / "l.sqlite3", str(claude), debounce_ms=10_000, max_delay_ms=10_000))
    w.start()
    assert w.ready.wait(10)
    c = Corpus()
    append(claude / "projects" / "p" / "s.jsonl", c.lines("s", 3))
    time.sleep(0.3)
    assert ledger_totals(tmp_path / "l.sqlite3")["responses"] == 0
    w.stop()
    assert ledger_totals(tmp_path / "l.sqlite3")["responses"] == 3
    assert w.failure is None


def test_instance_lock(tmp_path: Path) -> None:
    ledger = tmp_path / "l.sqlite3"
    assert lock_holder(ledger) is None
    with InstanceLock(ledger):
        assert lock_holder(ledger) == os.getpid()
        with pytest.raises(LockHeld) as info:
            InstanceLock(ledger).acquire()
        assert info.value.pid == os.getpid()
        assert "already watching" in str(info.value)
    assert lock_holder(ledger) is None
    InstanceLock(ledger).acquire().release()


@pytest.mark.skipif(not Path("/proc/sys/fs/inotify").exists(), reason="inotify")
def test_exhausted_inotify_watches_fall_back_to_polling(
    tmp_path: Path, watcher, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """watchdog skips subdirectories it cannot watch without a word; the watcher notices and polls."""
    import errno

    from watchdog.observers import inotify_c

    real = inotify_c.InotifyFD.add_callback

    def limited(self, path, *a, **kw):  # type: ignore[no-untyped-def]
        if b"limited" in os.fsencode(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *a, **kw)

    monkeypatch.setattr(inotify_c.InotifyFD, "add_callback", limited)
    monkeypatch.setattr(obs_mod, "FALLBACK_POLL_SECONDS", 0.2)
    ledger = tmp_path / "ledger.sqlite3"
    c = Corpus()

    # At start: a directory that cannot be watched.
    claude = tmp_path / "claude"
    (claude / "projects" / "-limited-a").mkdir(parents=True)
    w = watcher(claude)
    assert w.mode == "polling"
    append(claude / "projects" / "-limited-a" / "s.jsonl", c.lines("s", 2))
    wait_for_ledger(ledger, c, "polling after a failed watch at start", deadline=3)
    w.stop()

    # Later: a new directory that cannot be watched.
    claude2 = tmp_path / "claude2"
    (claude2 / "projects" / "-ok").mkdir(parents=True)
    w2 = watcher(claude2)
    assert w2.mode == "native"
    append(claude2 / "projects" / "-limited-b" / "t.jsonl", c.lines("t", 1))
    wait_for_ledger(ledger, c, "new unwatchable directory", deadline=3)
    assert w2.mode == "polling"
    append(claude2 / "projects" / "-limited-b" / "t.jsonl", c.lines("t", 1))
    wait_for_ledger(ledger, c, "appends there, by polling", deadline=3)


def test_lost_events_trigger_a_rescan(tmp_path: Path, watcher, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    claude = tmp_path / "claude"
    (claude / "projects" / "p").mkdir(parents=True)
    w = watcher(claude)
    monkeypatch.setattr(Watcher, "_classify", lambda self, event: None)  # every event is lost
    c = Corpus()
    append(claude / "projects" / "p" / "s.jsonl", c.lines("s", 2))
    time.sleep(0.5)
    assert ledger_totals(tmp_path / "ledger.sqlite3")["responses"] == 0
    # What watchdog logs when the kernel's queue overflowed.
    logging.getLogger("watchdog.observers.inotify").warning(
        "Inotify queue overflowed; reconciling recursive watches below %r", str(claude)
    )
    wait_for_ledger(tmp_path / "ledger.sqlite3", c, "rescan after overflow")
    # The scan's responses commit before the watcher thread counts the scan: wait for the count too.
    deadline = time.monotonic() + 5
    while w.stats.scans < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert w.stats.scans >= 1
