"""A generated corpus (benchmarks/gen_corpus.py: forks, subagents, partial streaming copies,
traps) ingested by the real CLI: every day of `report daily --json` equals expected.json."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from cchooks.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT / "benchmarks" / "gen_corpus.py"
# expected.json's name -> report --json's name (one place to follow a vocabulary change)
KEYS = {
    "responses": "responses",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_creation_5m_input_tokens": "cache_creation_5m_tokens",
    "cache_creation_1h_input_tokens": "cache_creation_1h_tokens",
    "cache_read_input_tokens": "cache_read_tokens",
    "total_tokens": "total_tokens",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("corpus") / "claude"
    subprocess.run(
        [sys.executable, str(GEN), "--out", str(out), "--size-mb", "3", "--seed", "11", "--end", "2026-11-22",
         "--legacy-partial-frac", "0.05"],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return out, json.loads((out / "expected.json").read_text())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_day_equals_expected_json(corpus: tuple[Path, dict], tmp_path: Path, workers: str) -> None:
    claude, expected = corpus
    ledger = tmp_path / "ledger.sqlite3"
    env = {"CCHOOKS_WORKERS": workers, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TZ": "UTC"}
    ingest = subprocess.run(
        [sys.executable, "-m", "cchooks", "ingest", "--json", "--claude-dir", str(claude), "--ledger", str(ledger)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    summary = json.loads(ingest.stdout)
    assert summary["malformed_lines"] == 0 and summary["invalid_token_lines"] == 0
    r = subprocess.run(
        [sys.executable, "-m", "cchooks", "report", "daily", "--json", "--tz", "UTC", "--no-ingest",
         "--ledger", str(ledger), "--since", expected["corpus"]["first_day"]],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = {row["date"]: row for row in json.loads(r.stdout)["rows"]}
    want_days = expected["by_day"]
    assert sorted(rows) == sorted(want_days)
    for day, want in want_days.items():
        got = rows[day]
        for ek, rk in KEYS.items():
            assert got[rk] == want[ek], (day, ek, got[rk], want[ek])
        assert got["cost_usd"] == pytest.approx(want["cost_usd"], abs=1e-6), day

    # The same from the ledger's records, independent of the report's vocabulary.
    by_day: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    with Ledger.open(ledger, readonly=True) as led:
        for rec in led.records():
            import datetime as dt

            day = dt.datetime.fromtimestamp(rec.timestamp_ms / 1000, dt.UTC).date().isoformat()
            acc = by_day[day]
            acc[0] += 1
            acc[1] += rec.input_tokens
            acc[2] += rec.output_tokens
    assert {d: v for d, v in by_day.items()} == {
        d: [w["responses"], w["input_tokens"], w["output_tokens"]] for d, w in want_days.items()
    }
