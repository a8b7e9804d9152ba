"""A read that stopped inside a line longer than MAX_LINE (its time limit, or the end of the file)
goes on dropping that line on the next call, however few of its bytes are left; before, fewer than
MAX_LINE bytes left waited as an unfinished line and the position never moved (a hook on a 1 GB
line without a newline, on a slow machine, stalled 32 MB before the end)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cchooks.ledger import reader
from cchooks.ledger.transcripts import describe
from tests.transcript_factory import Resp, assistant_line


def _state_at(path: Path, offset: int) -> tuple[object, ...]:
    st = os.stat(path)
    with open(path, "rb") as fh:
        head, tail = reader._fingerprints(fh, offset)  # type: ignore[arg-type]
    return (st.st_dev, st.st_ino, offset, st.st_mtime_ns, offset, head, tail)


@pytest.fixture
def small_max_line(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(reader, "MAX_LINE", 1 << 16)
    monkeypatch.setattr(reader, "READ_CHUNK", 1 << 14)
    return 1 << 16


def test_resumed_inside_an_overlong_line_it_is_dropped_to_the_end_of_the_file(tmp_path: Path, small_max_line: int) -> None:
    path = tmp_path / "p" / "s.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"x" * (3 * small_max_line))  # one over-long line, no newline (yet)
    stopped_at = 3 * small_max_line - small_max_line // 2  # fewer than MAX_LINE bytes left
    out = reader.read_new_bytes(describe(path), os.stat(path), _state_at(path, stopped_at))  # type: ignore[arg-type]
    assert out.error is None
    assert out.segments[-1].position[5] == path.stat().st_size  # the rest of the line dropped
    assert out.stats.too_long == 0  # counted once, when it was found


def test_resumed_inside_an_overlong_line_the_next_line_is_read(tmp_path: Path, small_max_line: int) -> None:
    path = tmp_path / "p" / "s.jsonl"
    path.parent.mkdir()
    good = assistant_line(Resp(1, "s", 10, 20, 3, 0, 100)).encode()
    # The over-long line's end holds what looks like a transcript line: it must not be read as one.
    path.write_bytes(b"x" * (2 * small_max_line) + b" " + good + b"\n" + good.replace(b"msg_", b"msg_2") + b"\n")
    out = reader.read_new_bytes(describe(path), os.stat(path), _state_at(path, 2 * small_max_line))  # type: ignore[arg-type]
    assert out.error is None
    rows = [row for seg in out.segments for row in seg.rows]
    assert len(rows) == 1 and str(rows[0][1]).startswith("msg_2")
    assert out.segments[-1].position[5] == path.stat().st_size
