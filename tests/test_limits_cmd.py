"""`cchooks limits`: JSON is limits_summary; the table fits 80 columns and names its sources."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cchooks.cli import main
from cchooks.ledger import Ledger
from cchooks.pricing import load_price_table
from cchooks.pricing.record_cost import cost_function, record_cost
from cchooks.records import RateLimitSnapshot, UsageRecord
from cchooks.windows import limits_summary

MIN = 60_000
HOUR = 60 * MIN


def rec(n: int, ts: int, session: str = "s1", model: str = "claude-opus-5-5", **kw: int) -> UsageRecord:
    base = {
        "input_tokens": 1000,
        "output_tokens": 500,
        "cache_creation_5m_tokens": 200,
        "cache_read_tokens": 5000,
    }
    base.update(kw)
    return UsageRecord(f"msg_{n}", f"req_{n}", session, ts, model, project="/tmp/proj", **base)  # type: ignore[arg-type]


def make_ledger(path: Path, now: int, snapshots: bool = False) -> list[UsageRecord]:
    records = [rec(i, now - 30 * HOUR + i * MIN) for i in range(5)]  # an old block
    records += [rec(10 + i, now - 90 * MIN + i * 10 * MIN) for i in range(6)]  # the active block
    records.append(rec(99, now - 2 * MIN, model="mystery-model"))  # unpriced
    with Ledger.open(path) as led, led.write():
        led.upsert_records(records)
        if snapshots:
            led.add_rate_limit_snapshot(
                RateLimitSnapshot(now - 5 * MIN, "five_hour", 40.0, now + 3 * HOUR, "s1")
            )
            led.add_rate_limit_snapshot(
                RateLimitSnapshot(now - 5 * MIN, "seven_day", 12.5, now + 4 * 24 * HOUR, "s1")
            )
    return records


@pytest.fixture
def now() -> int:
    return int(time.time() * 1000)


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["limits", "--no-ingest", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_is_limits_summary(tmp_path: Path, now: int, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "l.db"
    records = make_ledger(ledger, now, snapshots=True)
    got = run_json(capsys, "--ledger", str(ledger), "--tz", "UTC")
    with Ledger.open(ledger) as led:
        snaps = led.rate_limit_snapshots()
    want = limits_summary(
        records, snaps, got["now_ms"], "UTC", {"plan": "auto"}, cost_function(load_price_table())
    )
    assert got == json.loads(json.dumps(want))
    five = got["five_hour"]
    assert five["window_source"] == "official" and five["percent_source"] == "official"
    assert five["percent"] == 40.0 and five["responses"] == 7
    assert got["week"]["window_source"] == "official"
    assert five["unpriced_tokens"] > 0  # the unknown model is not silently $0


def test_plan_and_config_overrides(tmp_path: Path, now: int, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    ledger = tmp_path / "l.db"
    make_ledger(ledger, now)
    got = run_json(capsys, "--ledger", str(ledger), "--plan", "pro", "--tz", "UTC")
    assert got["plan"] == "pro"
    assert (got["five_hour"]["token_limit"], got["five_hour"]["token_limit_source"]) == (44_000, "configured")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[limits]\nplan = "max5"\nweekly_usd = 50.0\n\n[report]\ntimezone = "Europe/Berlin"\n')
    monkeypatch.setenv("CCHOOKS_CONFIG", str(cfg))
    got = run_json(capsys, "--ledger", str(ledger))
    assert got["plan"] == "max5" and got["tz"] == "Europe/Berlin"
    assert (got["week"]["cost_limit_usd"], got["week"]["cost_limit_source"]) == (50.0, "configured")
    assert got["five_hour"]["token_limit"] == 88_000


def test_table_fits_80_columns(tmp_path: Path, now: int, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("COLUMNS", "80")
    ledger = tmp_path / "l.db"
    make_ledger(ledger, now, snapshots=True)
    for extra in ([], ["--plan", "max20"]):
        assert (
            main(["limits", "--no-ingest", "--ledger", str(ledger), "--tz", "America/New_York", *extra]) == 0
        )
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= 80, out
        assert lines[2].split() == ["5-hour", "Week", "Month"]
        for label in (
            "Period",
            "Resets in",
            "Tokens used",
            "Token limit",
            "Cost used",
            "Used",
            "Limit at pace",
        ):
            assert any(line.startswith(label) for line in lines), label
        assert "(official)" in out and "Sources:" in out


def test_empty_ledger_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = str(tmp_path / "l.db")
    assert main(["limits", "--no-ingest", "--ledger", ledger]) == 0
    out = capsys.readouterr().out
    assert "none active" in out and "No limits known" in out
    assert main(["limits", "--no-ingest", "--ledger", ledger, "--tz", "Mars/Base"]) == 2
    assert "unknown time zone" in capsys.readouterr().err


def test_ingests_first(tmp_path: Path, claude_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["limits", "--json", "--ledger", str(tmp_path / "l.db"), "--claude-dir", str(claude_dir)]) == 0
    )
    assert json.loads(capsys.readouterr().out)["schema_version"] == 1
    with Ledger.open(tmp_path / "l.db") as led:
        assert led.conn.execute("SELECT count(*) FROM responses").fetchone()[0] > 0


def test_record_cost_long_context() -> None:
    prices = load_price_table()
    small = rec(1, 0, model="claude-sonnet-4-6", input_tokens=1000, output_tokens=1000, cache_creation_5m_tokens=0,
                cache_read_tokens=0)  # fmt: skip
    assert record_cost(prices, small) == pytest.approx((1000 * 3 + 1000 * 15) / 1e6)
    big = rec(2, 0, model="claude-sonnet-4-6", input_tokens=150_000, output_tokens=1000,
              cache_creation_5m_tokens=0, cache_read_tokens=60_000)  # fmt: skip
    assert record_cost(prices, big) == pytest.approx((150_000 * 6 + 1000 * 22.5 + 60_000 * 0.6) / 1e6)
    assert record_cost(prices, rec(3, 0, model="no-such-model")) is None
