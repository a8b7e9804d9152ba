"""`cchooks report blocks`: 5-hour blocks as a table (80 columns), JSON and CSV; --active."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from cchooks.cli import main
from cchooks.ledger import Ledger
from cchooks.records import RateLimitSnapshot
from tests.test_limits_cmd import HOUR, MIN, rec


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[Path, int]:
    now = int(time.time() * 1000)
    records = [rec(i, now - 50 * HOUR + i * MIN) for i in range(4)]  # block 1
    records += [rec(10 + i, now - 40 * HOUR + i * 30 * MIN) for i in range(3)]  # block 2 after a gap
    records += [rec(20 + i, now - 100 * MIN + i * 20 * MIN) for i in range(5)]  # the active block
    path = tmp_path / "l.db"
    with Ledger.open(path) as led, led.write():
        led.upsert_records(records)
    return path, now


def blocks_json(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    assert (
        main(["report", "blocks", "--no-ingest", "--json", "--ledger", str(path), "--tz", "UTC", *extra]) == 0
    )
    return json.loads(capsys.readouterr().out)


def test_json_blocks(ledger: tuple[Path, int], capsys: pytest.CaptureFixture[str]) -> None:
    path, now = ledger
    doc = blocks_json(capsys, path)
    blocks = doc["blocks"]
    real = [b for b in blocks if not b["is_gap"]]
    assert [b["responses"] for b in real] == [4, 3, 5]
    assert sum(b["is_gap"] for b in blocks) == 2
    assert [b["is_active"] for b in real] == [False, False, True]
    assert all(b["source"] == "estimated" for b in real)
    for b in real:
        assert b["end_ms"] - b["start_ms"] == 5 * HOUR and b["start_ms"] % HOUR == 0
        assert b["cost_usd"] > 0 and b["total_tokens"] == b["responses"] * 6700
    active = real[-1]
    assert active["burn"]["responses"] == 5 and active["burn"]["tokens_per_minute"] > 0
    assert active["projection"]["tokens"] >= active["total_tokens"]
    assert 0 < active["remaining_ms"] <= 5 * HOUR
    assert "burn" not in real[0]
    # --active: only that one.
    only = blocks_json(capsys, path, "--active")["blocks"]
    assert len(only) == 1 and only[0]["id"] == active["id"]
    # --since cuts older blocks (and a leading gap).
    since = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime((now - 45 * HOUR) / 1000))
    assert [
        b["responses"] for b in blocks_json(capsys, path, "--since", since)["blocks"] if not b["is_gap"]
    ] == [3, 5]


def test_official_reset_times_win(ledger: tuple[Path, int], capsys: pytest.CaptureFixture[str]) -> None:
    path, now = ledger
    with Ledger.open(path) as led, led.write():
        led.add_rate_limit_snapshot(
            RateLimitSnapshot(now - MIN, "five_hour", 33.0, now + 3 * HOUR + 17 * MIN)
        )
    active = [b for b in blocks_json(capsys, path)["blocks"] if b["is_active"]]
    assert len(active) == 1 and active[0]["source"] == "official"
    assert active[0]["end_ms"] == now + 3 * HOUR + 17 * MIN


def test_table_and_csv(ledger: tuple[Path, int], capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("COLUMNS", "80")
    path, _ = ledger
    assert main(["report", "blocks", "--no-ingest", "--ledger", str(path), "--tz", "Asia/Kolkata"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(x) for x in lines) <= 80, out
    assert lines[0].split() == ["Start", "End", "Source", "Status", "Resp", "Tokens", "Cost"]
    assert sum("ACTIVE" in x for x in lines) == 1 and sum(" gap " in x for x in lines) == 2
    assert any(x.strip().startswith("pace ") for x in lines) and any("projected" in x for x in lines)
    assert "3 block(s)" in out and "Asia/Kolkata" in out

    assert main(["report", "blocks", "--no-ingest", "--csv", "--ledger", str(path)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 5 and [r["is_active"] for r in rows].count("true") == 1
    assert {"start", "end", "source", "total_tokens", "cost_usd", "models"} <= set(rows[0])

    assert main(["report", "blocks", "--no-ingest", "--active", "--ledger", str(path)]) == 0
    assert sum("ACTIVE" in x for x in capsys.readouterr().out.splitlines()) == 1


def test_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "l.db")
    assert main(["report", "blocks", "--no-ingest", "--ledger", path]) == 0
    assert "No 5-hour blocks" in capsys.readouterr().out
    assert main(["report", "blocks", "--no-ingest", "--active", "--ledger", path]) == 0
    assert "No active 5-hour block" in capsys.readouterr().out
    assert main(["report", "blocks", "--no-ingest", "--active", "--json", "--ledger", path]) == 0
    assert json.loads(capsys.readouterr().out)["blocks"] == []
    assert main(["report", "blocks", "--no-ingest", "--ledger", path, "--since", "not-a-date"]) == 2
