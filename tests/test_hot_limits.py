"""Hard time limits on the hot paths, with progress (issue 10).

`cchooks hook` and `cchooks statusline`, run as Claude Code runs them (`python -S hot.py`,
real subprocesses), end within their limit + 0.5 s whatever `transcript_path` is: /dev/zero,
a FIFO nobody writes, a 1 GB file without a newline, a 1 GB backlog. They commit what they
parsed chunk by chunk, so a backlog of any size is recorded after a bounded number of calls.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.transcript_factory import Resp, assistant_line

HOT = Path(__file__).resolve().parent.parent / "cchooks" / "hot.py"
HOOK_LIMIT = 2.5  # shortened (default 5 s) so the tests are quick; the rule is the same
STATUS_LIMIT = 2.0


def _hot(kind: str, payload: dict[str, object], ledger: Path, stdin: bytes | None = None) -> float:
    """Run the hot command as installed; returns its wall time (and checks exit 0, no traceback)."""
    args = ["hook", "Stop", "--timeout", str(HOOK_LIMIT)] if kind == "hook" else [
        "statusline", "--timeout", str(STATUS_LIMIT)]  # fmt: skip
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-S", str(HOT), *args, "--ledger", str(ledger)],
        input=json.dumps(payload).encode() if stdin is None else stdin, capture_output=True, timeout=60,
        env={**os.environ, "CCHOOKS_SYS_PATH": os.pathsep.join(p for p in sys.path if p)},
    )  # fmt: skip
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert b"Traceback" not in r.stderr
    return took


def _limit(kind: str) -> float:
    return (HOOK_LIMIT if kind == "hook" else STATUS_LIMIT) + 0.5


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "s.jsonl"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind", ["hook", "statusline"])
@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "zeros-1g"])
def test_endless_or_blocking_transcripts_end_within_the_limit(
    kind: str, target: str, tmp_path: Path, fifo: Path
) -> None:
    if target == "fifo":
        path = str(fifo)
    elif target == "zeros-1g":
        sparse = tmp_path / "proj" / "z.jsonl"
        sparse.parent.mkdir()
        with open(sparse, "wb") as fh:  # 1 GB of NUL bytes, no newline (sparse: costs no disk)
            fh.truncate(1 << 30)
        path = str(sparse)
    else:
        path = target
    payload = {"session_id": "s", "transcript_path": path, "hook_event_name": "Stop"}
    ledger = tmp_path / "l.sqlite3"
    took = _hot(kind, payload, ledger)
    assert took < _limit(kind), f"{kind} on {target} took {took:.2f} s"
    if target == "zeros-1g" and kind == "hook":
        # The "line" is skipped as too long (bounded memory) and the position moves on: every
        # call gets further (at least a chunk), so a bounded number of calls reaches the end
        # however slow the machine (1 GB / 8 MB chunks = 128 calls at the very worst).
        def offset() -> int:
            with sqlite3.connect(ledger) as db:
                row = db.execute("SELECT offset FROM files").fetchone()
            return int(row[0]) if row else 0

        calls, before = 1, offset()
        while before < 1 << 30 and calls < 128:
            assert _hot(kind, payload, ledger) < _limit(kind)
            calls, after = calls + 1, offset()
            assert after > before, f"call {calls} made no progress at byte {before}"
            before = after
        assert before == 1 << 30, f"{calls} calls reached byte {before}"


def test_endless_stdin_ends_within_the_limit(tmp_path: Path) -> None:
    for kind in ("hook", "statusline"):
        with open("/dev/zero", "rb") as zero:
            t0 = time.monotonic()
            r = subprocess.run(
                [sys.executable, "-S", str(HOT), kind, *(["Stop"] if kind == "hook" else []),
                 "--ledger", str(tmp_path / "l.sqlite3")],
                stdin=zero, capture_output=True, timeout=60,
                env={**os.environ, "CCHOOKS_SYS_PATH": os.pathsep.join(p for p in sys.path if p)},
            )  # fmt: skip
        assert r.returncode == 0 and time.monotonic() - t0 < 5.5


def test_closed_stdin_is_one_log_line_not_a_traceback(tmp_path: Path) -> None:
    # Started with fd 0 closed (sys.stdin is None): exit 0, and the log says so in one line.
    for kind in ("hook", "statusline"):
        logs = tmp_path / kind
        r = subprocess.run(
            [sys.executable, "-S", str(HOT), kind, *(["Stop"] if kind == "hook" else []),
             "--ledger", str(tmp_path / "l.sqlite3")],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
            preexec_fn=lambda: os.close(0),
            env={**os.environ, "CCHOOKS_LOG_DIR": str(logs),
                 "CCHOOKS_SYS_PATH": os.pathsep.join(p for p in sys.path if p)},
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        text = "".join(p.read_text() for p in logs.glob("*.log"))
        assert "stdin" in text and "Traceback" not in text, text
        if kind == "statusline":
            assert r.stdout.strip()  # still a line for Claude Code


def _backlog(path: Path, target_bytes: int) -> int:
    """A transcript of `target_bytes`, dense with responses; returns how many responses."""
    pad = json.dumps({"type": "user", "message": {"content": "x" * 3000}})
    block_lines = []
    n = 0
    size = 0
    with open(path, "w") as fh:
        while size < target_bytes:
            n += 1
            block_lines.append(assistant_line(Resp(n, "s1", 10, 20, 30, 0, 40)))
            block_lines.append(pad)
            if len(block_lines) >= 2000:
                text = "\n".join(block_lines) + "\n"
                fh.write(text)
                size += len(text)
                block_lines = []
        if block_lines:
            fh.write("\n".join(block_lines) + "\n")
    return n


@pytest.fixture(scope="module")
def backlog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    proj = tmp_path_factory.mktemp("backlog") / "projects" / "-tmp-proj"
    proj.mkdir(parents=True)
    transcript = proj / "s1.jsonl"
    return transcript, _backlog(transcript, 1 << 30)


@pytest.mark.parametrize("kind", ["hook", "statusline"])
def test_a_1gb_backlog_is_recorded_after_a_bounded_number_of_calls(
    kind: str, tmp_path: Path, backlog: tuple[Path, int]
) -> None:
    transcript, expected = backlog
    ledger = tmp_path / "l.sqlite3"
    payload = {"session_id": "s1", "transcript_path": str(transcript), "hook_event_name": "Stop"}
    calls, stored = 0, 0
    while stored < expected:
        calls += 1
        took = _hot(kind, payload, ledger)
        assert took < _limit(kind), f"call {calls} took {took:.2f} s"
        with sqlite3.connect(ledger) as db:
            now = db.execute("SELECT count(*) FROM responses").fetchone()[0]
        assert now > stored, f"call {calls} made no progress"
        stored = now
        assert calls <= 40
    assert stored == expected
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT offset FROM files").fetchone()[0] == transcript.stat().st_size
        assert db.execute("SELECT sum(input_tokens) FROM responses").fetchone()[0] == 10 * expected
    print(f"{kind}: {expected} responses in 1 GiB recorded after {calls} calls")


def test_the_time_limit_holds_while_an_over_long_line_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A "line" over MAX_LINE is skipped chunk by chunk; the hot paths' time limit (stop_at) must
    # stop that too, and the next read go on from where it stopped, to the end of the file.
    from cchooks.ledger import reader
    from cchooks.ledger.transcripts import describe

    monkeypatch.setattr(reader, "MAX_LINE", 1024)
    monkeypatch.setattr(reader, "READ_CHUNK", 4096)
    path = tmp_path / "proj" / "s.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"x" * (1 << 20))  # 1 MiB without a newline
    clock = iter([0.0] * 6 + [10.0] * 1000)  # the limit passes a few chunks into the skipping
    monkeypatch.setattr(reader.time, "monotonic", lambda: next(clock))
    first = reader.read_new_bytes(describe(path), os.stat(path), None, stop_at=5.0)
    assert not first.complete and first.stats.too_long == 1
    # A `files` row: (path, dev, ino, size, mtime_ns, offset, head, tail, ...); the ledger's state
    # for the next read is (dev, ino, size, mtime_ns, offset, head, tail).
    position = first.segments[-1].position
    assert 0 < position[5] < 1 << 20  # stopped inside the line
    monkeypatch.setattr(reader.time, "monotonic", lambda: 0.0)
    rest = reader.read_new_bytes(describe(path), os.stat(path), tuple(position[1:8]), stop_at=5.0)  # type: ignore[arg-type]
    assert rest.complete
    assert rest.segments[-1].position[5] == 1 << 20  # went on from there to the end
