#!/usr/bin/env python3
"""Wall time of `cchooks analyze` on a generated corpus, and of `cchooks import` on large exports.

    python benchmarks/gen_corpus.py --out /tmp/cchooks-bench/corpus100 --size-mb 100 --seed 1 --end 2026-11-22
    python benchmarks/bench_analyze.py /tmp/cchooks-bench/corpus100 --runs 5

The corpus is ingested once into a temporary ledger (not timed here: see bench_ingest.py); then
each run is a whole `cchooks analyze --json --no-ingest` process (and `--breakdown` alone, the
cheapest section). Import: a ccusage daily export of 5 years x 3 models, a session export of
5,000 sessions and a stats-cache.json of 1,000 days, each imported into a fresh ledger, then
re-imported (nothing changes: one fingerprint lookup). Prints a markdown table and writes
benchmarks/out/analyze-*.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from _measure import clean_env, run_measured, summarize, write_result

MODELS = ("claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5")


def exports(out: Path) -> dict[str, Path]:
    day0 = dt.date(2021, 11, 22)
    daily = []
    for i in range(5 * 365):
        d = (day0 + dt.timedelta(days=i)).isoformat()
        parts = [{"modelName": m, "inputTokens": 1000 + i, "outputTokens": 2000 + j, "cacheCreationTokens": 300,
                  "cacheReadTokens": 40_000, "cost": 0.5} for j, m in enumerate(MODELS)]  # fmt: skip
        row = {k: sum(p[k] for p in parts) for k in ("inputTokens", "outputTokens", "cacheCreationTokens",
                                                     "cacheReadTokens")}  # fmt: skip
        daily.append({"date": d, **row, "totalCost": 1.5, "modelsUsed": list(MODELS), "modelBreakdowns": parts})
    sessions = [{"sessionId": f"s-{i:05d}", "inputTokens": i, "outputTokens": 2 * i, "cacheCreationTokens": 3,
                 "cacheReadTokens": 4, "totalCost": 0.1, "lastActivity": "2026-11-01T10:00:00Z",
                 "modelsUsed": ["claude-sonnet-4-5"]} for i in range(5000)]  # fmt: skip
    stats = {"version": 1, "lastComputedDate": "2026-11-22", "firstSessionDate": "2024-02-27T08:00:00Z",
             "dailyModelTokens": [{"date": (day0 + dt.timedelta(days=i)).isoformat(),
                                   "tokensByModel": {m: 1000 * (j + 1) for j, m in enumerate(MODELS)}}
                                  for i in range(1000)],
             "modelUsage": {m: {"inputTokens": 1, "outputTokens": 2, "cacheReadInputTokens": 3,
                                "cacheCreationInputTokens": 4, "costUSD": 1.0} for m in MODELS}}  # fmt: skip
    files = {"ccusage daily (1,825 days x 3 models)": ({"daily": daily}, "daily.json"),
             "ccusage session (5,000 sessions)": ({"session": sessions}, "session.json"),
             "stats-cache (1,000 days x 3 models)": (stats, "stats-cache.json")}  # fmt: skip
    paths = {}
    for label, (doc, name) in files.items():
        (out / name).write_text(json.dumps(doc))
        paths[label] = out / name
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    py = sys.executable
    result: dict[str, Any] = {"corpus": str(args.corpus), "runs": args.runs}
    rows = []
    with tempfile.TemporaryDirectory(prefix="cchooks-analyze-") as tmp:
        home = Path(tmp) / "home"
        env = clean_env(home, args.corpus)
        ledger = str(Path(tmp) / "ledger.sqlite3")
        ing = run_measured([py, "-m", "cchooks", "ingest", "--json", "--ledger", ledger, "--claude-dir",
                            str(args.corpus)], env)  # fmt: skip
        if ing["rc"] != 0:
            print(ing["stderr"], file=sys.stderr)
            return 1
        result["responses"] = json.loads(ing["stdout"])["responses"]
        for label, extra in (("analyze (all sections)", []), ("analyze --breakdown", ["--breakdown"])):
            runs = [run_measured([py, "-m", "cchooks", "analyze", "--json", "--no-ingest", "--ledger", ledger, *extra],
                                 env) for _ in range(args.runs)]  # fmt: skip
            s = summarize(runs)
            result[label] = s
            rows.append((label, s))
        doc = json.loads(runs[0]["stdout"]) if runs and runs[0]["rc"] == 0 else {}
        result["agent_types"] = len(doc.get("breakdown", []))
        for label, path in exports(Path(tmp)).items():
            first, again = [], []
            for i in range(args.runs):
                fresh = str(Path(tmp) / f"imp-{i}.sqlite3")
                cmd = [py, "-m", "cchooks", "import", str(path), "--ledger", fresh, "--tz", "UTC", "--json"]
                first.append(run_measured(cmd, env))
                again.append(run_measured(cmd, env))
            result[f"import {label}"] = summarize(first)
            result[f"re-import {label}"] = summarize(again)
            rows.append((f"import {label}", summarize(first)))
            rows.append((f"re-import {label}", summarize(again)))
    print(f"corpus {args.corpus}: {result['responses']:,} responses, {result['agent_types']} agent types\n")
    print("| what | p50 s | p95 s | max RSS MB | failures |\n|---|---|---|---|---|")
    for label, s in rows:
        print(f"| {label} | {s['wall_p50_s']:.3f} | {s['wall_p95_s']:.3f} | {s['maxrss_mb']} | {s['failures']} |")
    print(f"\nwrote {write_result('analyze', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
