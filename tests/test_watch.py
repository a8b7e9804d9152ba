"""`cchooks watch` as a real subprocess: every kind of change reaches the ledger within 2 s.

Each step changes the Claude config dir the way Claude Code (or a person) would and then polls the ledger
until its totals equal what was written; a step that takes longer than 2 s fails.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.transcript_factory import Resp, assistant_line, noise_lines, totals

DEADLINE = 2.0


def _ts(offset_s: float = 0.0) -> str:
    return datetime.fromtimestamp(time.time() + offset_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Corpus:
    """What has been written so far: the responses the ledger must end up holding."""

    def __init__(self) -> None:
        self.expected: dict[str, Resp] = {}
        self.n = 0

    def resp(self, session: str, agent: str | None = None) -> Resp:
        self.n += 1
        n = self.n
        r = Resp(n, session, 100 + n, 10 + n, n, 2 * n, 1000 + n, ts=_ts(), agent=agent)
        self.expected[r.rid] = r
        return r

    def lines(self, session: str, count: int, agent: str | None = None) -> str:
        out = []
        for _ in range(count):
            r = self.resp(session, agent)
            # Several lines per response (one per content block), as Claude Code writes them.
            out.append(assistant_line(r, block=0))
            out.append(assistant_line(r, block=1))
            out.extend(noise_lines(r)[:2])
        return "\n".join(out) + "\n"


def ledger_totals(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return {}
    try:
        row = con.execute(
            "SELECT count(*), coalesce(sum(input_tokens),0), coalesce(sum(output_tokens),0),"
            " coalesce(sum(cache_5m_tokens),0), coalesce(sum(cache_1h_tokens),0),"
            " coalesce(sum(cache_read_tokens),0) FROM responses"
        ).fetchone()
    except sqlite3.Error:
        return {}
    finally:
        con.close()
    return dict(zip(("responses", "input", "output", "c5", "c1", "cr"), row, strict=True))


def wait_for_ledger(path: Path, corpus: Corpus, what: str, deadline: float = DEADLINE) -> float:
    want = totals(list(corpus.expected.values()))
    t0 = time.monotonic()
    got: dict[str, int] = {}
    while time.monotonic() - t0 < deadline:
        got = ledger_totals(path)
        if got == want:
            return time.monotonic() - t0
        time.sleep(0.02)
    raise AssertionError(f"{what}: ledger not current after {deadline} s: want {want}, got {got}")


class WatchProcess:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout: float = 15.0) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if needle in self.text():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"watch exited {self.proc.returncode}:\n{self.text()}")
            time.sleep(0.02)
        raise AssertionError(f"no {needle!r} in the watch log after {timeout} s:\n{self.text()}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


@contextmanager
def watching(ledger: Path, claude_dir: Path, tmp_path: Path, *extra: str) -> Iterator[WatchProcess]:
    log = tmp_path / f"watch-{time.monotonic_ns()}.stderr"
    cmd = [sys.executable, "-m", "cchooks", "watch", "--ledger", str(ledger), "--claude-dir", str(claude_dir),
           "-v", *extra]  # fmt: skip
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=Path(__file__).parent.parent)
    w = WatchProcess(proc, log)
    try:
        w.wait_for_log("catch-up:")
        yield w
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def append(path: Path, text: str, *, chunks: int = 1) -> None:
    """Append like a streaming writer: in a few separate writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    step = max(1, len(text) // chunks)
    with open(path, "a", encoding="utf-8") as fh:
        for i in range(0, len(text), step):
            fh.write(text[i : i + step])
            fh.flush()


def test_watch_follows_every_kind_of_change(tmp_path: Path) -> None:
    claude = tmp_path / "later" / "claude"  # neither it nor its parent exists at start
    ledger = tmp_path / "ledger.sqlite3"
    c = Corpus()
    latencies: dict[str, float] = {}
    with watching(ledger, claude, tmp_path) as w:
        assert "does not exist yet" in w.text()

        # 1. The config dir, projects/ and a first session appear after the start.
        proj_a = claude / "projects" / "-tmp-a"
        append(proj_a / "s1.jsonl", c.lines("s1", 2))
        latencies["config dir created"] = wait_for_ledger(ledger, c, "config dir created after start")

        # 2. Appends to an existing transcript, in several writes each.
        for i in range(3):
            append(proj_a / "s1.jsonl", c.lines("s1", 2), chunks=4)
            latencies[f"append {i}"] = wait_for_ledger(ledger, c, f"append {i}")

        # 3. A new project folder with a new session.
        append(claude / "projects" / "-tmp-b" / "s2.jsonl", c.lines("s2", 3))
        latencies["new project"] = wait_for_ledger(ledger, c, "new project dir")

        # 4. A new session in an existing project.
        append(proj_a / "s3.jsonl", c.lines("s3", 1))
        latencies["new session"] = wait_for_ledger(ledger, c, "new session")

        # 5. A subagent transcript (with its meta file) inside a new session directory.
        sub = proj_a / "s1" / "subagents"
        sub.mkdir(parents=True)
        (sub / "agent-a1.meta.json").write_text('{"agentType": "general-purpose"}')
        append(sub / "agent-a1.jsonl", c.lines("s1", 2, agent="a1"))
        latencies["subagent"] = wait_for_ledger(ledger, c, "subagent file")
        append(sub / "agent-a1.jsonl", c.lines("s1", 1, agent="a1"))
        latencies["subagent append"] = wait_for_ledger(ledger, c, "subagent append")

        # 6. A deleted transcript: its responses stay in the ledger (it is history); the watcher goes on.
        (proj_a / "s3.jsonl").unlink()
        append(proj_a / "s1.jsonl", c.lines("s1", 1))
        latencies["after delete"] = wait_for_ledger(ledger, c, "append after a delete")

        # 7. A transcript replaced atomically (write elsewhere, rename over it) with different content.
        s2 = claude / "projects" / "-tmp-b" / "s2.jsonl"
        tmp = claude / "projects" / "-tmp-b" / ".s2.jsonl.tmp"
        tmp.write_text(s2.read_text() + c.lines("s2", 2))
        os.replace(tmp, s2)
        latencies["replaced"] = wait_for_ledger(ledger, c, "replaced file")

        # 8. A transcript truncated and rewritten in place (shorter than what was read).
        s1_text = (proj_a / "s1.jsonl").read_text()
        (proj_a / "s1.jsonl").write_text(c.lines("s1", 1))
        latencies["rewritten"] = wait_for_ledger(ledger, c, "truncated and rewritten")
        assert s1_text  # the old responses stay counted: the ledger keeps history

        # 9. A burst of appends is ingested in few passes, and completely.
        before = w.text().count("ingested ")
        for _ in range(40):
            append(proj_a / "s1.jsonl", c.lines("s1", 1))
            time.sleep(0.005)
        latencies["burst"] = wait_for_ledger(ledger, c, "burst of appends")
        time.sleep(0.3)
        passes = w.text().count("ingested ") - before
        assert 1 <= passes <= 6, passes

        # 10. The whole config dir deleted and created again.
        import shutil

        shutil.rmtree(claude)
        time.sleep(0.2)
        append(claude / "projects" / "-tmp-c" / "s4.jsonl", c.lines("s4", 2))
        latencies["recreated config dir"] = wait_for_ledger(ledger, c, "config dir deleted and recreated")

        rc = w.stop(signal.SIGINT)
        log = w.text()
    assert rc == 0, log
    assert "received SIGINT" in log and "stopped:" in log
    assert "Traceback" not in log
    print("latencies", {k: round(v, 3) for k, v in latencies.items()})
    assert max(latencies.values()) < DEADLINE, latencies
    assert (Path(os.environ["CCHOOKS_LOG_DIR"]) / "watch.log").read_text().count("catch-up:") == 1


def test_catch_up_on_start_and_sigterm_flushes_pending(tmp_path: Path, claude_dir: Path) -> None:
    """Existing transcripts are read on start; SIGTERM ingests what is still waiting for its debounce."""
    ledger = tmp_path / "ledger.sqlite3"
    with watching(ledger, claude_dir, tmp_path, "--debounce", "5000", "--max-delay", "5000") as w:
        base = ledger_totals(ledger)
        assert base["responses"] > 0  # the fixture's real transcripts
        c = Corpus()
        append(claude_dir / "projects" / "-tmp-late" / "late.jsonl", c.lines("late", 3))
        time.sleep(0.4)  # the event has arrived; the 5 s debounce has not passed
        assert ledger_totals(ledger) == base
        assert w.stop(signal.SIGTERM) == 0, w.text()
    got = ledger_totals(ledger)
    assert got["responses"] == base["responses"] + 3, w.text()


def test_second_instance_on_same_ledger_exits_1(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    with watching(ledger, claude, tmp_path) as w:
        p = subprocess.run(
            [sys.executable, "-m", "cchooks", "watch", "--ledger", str(ledger), "--claude-dir", str(claude)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert p.returncode == 1
        assert "already watching" in p.stderr and str(w.proc.pid) in p.stderr
        # Another ledger is fine: the lock is per ledger.
        with watching(tmp_path / "other.sqlite3", claude, tmp_path) as w2:
            assert w2.proc.poll() is None
        assert w.proc.poll() is None
    # After the first one stopped, the lock is free again.
    with watching(ledger, claude, tmp_path) as w3:
        assert w3.proc.poll() is None


def test_polling_mode(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    c = Corpus()
    with watching(ledger, claude, tmp_path, "--poll", "0.2") as w:
        assert "polling observer" in w.text()
        append(claude / "projects" / "-p" / "s.jsonl", c.lines("s", 2))
        wait_for_ledger(ledger, c, "polling: new project")
        append(claude / "projects" / "-p" / "s.jsonl", c.lines("s", 2))
        wait_for_ledger(ledger, c, "polling: append")
        assert w.stop() == 0


def test_bad_arguments(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "cchooks", "watch", "--ledger", str(tmp_path / "l.db"), "--poll", "-1"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert p.returncode == 2 and "poll" in p.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="inotify")
def test_idle_watcher_sleeps(tmp_path: Path, claude_dir: Path) -> None:
    """No polling loop of ours: over 1.5 idle seconds the process uses (almost) no CPU."""
    ledger = tmp_path / "ledger.sqlite3"
    with watching(ledger, claude_dir, tmp_path) as w:
        time.sleep(0.5)

        def cpu() -> float:
            fields = Path(f"/proc/{w.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        t0 = cpu()
        time.sleep(1.5)
        assert cpu() - t0 <= 0.02
