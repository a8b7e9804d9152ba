"""The hot paths' small JSON files (cchooks.sidecar): written whole, read as absent when torn."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cchooks.sidecar import overwrite, read_json, write_atomic


def test_overwrite_replaces_longer_and_shorter_content_exactly(tmp_path: Path) -> None:
    path = tmp_path / "x.seen"
    long = json.dumps({"files": {f"/p/{i}": f"{i},1,2,3" for i in range(50)}})
    short = json.dumps({"files": {"/p/0": "9,9,9,9"}})
    overwrite(str(path), long)
    assert read_json(str(path)) == json.loads(long)
    overwrite(str(path), short)  # the old tail is cut off
    assert path.read_text() == short and read_json(str(path)) == json.loads(short)
    overwrite(str(path), long)
    assert read_json(str(path)) == json.loads(long)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.seen"]  # no temporary files


def test_torn_states_of_an_overwrite_read_as_absent(tmp_path: Path) -> None:
    old = json.dumps({"ledger": [1, 2], "files": {f"/p/{i}": f"{i},1,2,3" for i in range(20)}})
    new = json.dumps({"ledger": [1, 2], "files": {"/p/0": "7,7,7,7"}})
    path = tmp_path / "x.seen"
    # What a reader can meet while `new` is written over `old`: a prefix of it (the file
    # being made), or all of it followed by the old content's tail (before the truncation).
    torn = [new[:k] for k in range(len(new))] + [new + old[len(new) :]]
    for state in torn:
        path.write_text(state)
        assert read_json(str(path)) is None, state


def test_write_atomic_and_overwrite_say_nothing_when_the_directory_is_gone(tmp_path: Path) -> None:
    gone = tmp_path / "missing" / "x.seen"
    overwrite(str(gone), "{}")
    write_atomic(str(gone), "{}")
    assert not gone.exists()
