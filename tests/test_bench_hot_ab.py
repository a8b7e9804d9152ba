"""benchmarks/bench_hot_ab.py: a small run of it (two roots, the same checkout twice)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench_hot_ab.py"


def test_bench_hot_ab_runs_every_case_of_every_root(tmp_path: Path) -> None:
    out = tmp_path / "ab.json"
    r = subprocess.run(
        [sys.executable, str(BENCH), "--root", str(ROOT), "--root", str(ROOT), "--rounds", "2",
         "--responses", "2000", "--sessions", "20", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())
    assert result["failures"] == 0 and result["rounds"] == 2
    cases = {(c["case"], c["root"]) for c in result["cases"]}
    assert {c for c, _ in cases} == {"statusline +1", "hook +1", "statusline steady"} and len(result["cases"]) == 6
    assert all(c["paired_ratio"] > 1 for c in result["cases"])  # nothing runs faster than a bare interpreter
    assert "| statusline +1 |" in r.stdout and "paired difference" in r.stdout


def test_bench_hot_ab_names_a_root_that_is_not_a_checkout(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(BENCH), "--root", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not a cchooks checkout" in r.stderr and "Traceback" not in r.stderr
