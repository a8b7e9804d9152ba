#!/usr/bin/env python3
"""Warm reports of every group, cchooks against ccusage on the same corpus, interleaved.

    python benchmarks/gen_corpus.py --out /tmp/cchooks-bench/dense500 --size-mb 500 --seed 1 --density dense
    python benchmarks/bench_reports.py /tmp/cchooks-bench/dense500 [--runs 5] [--ccusage-runs 3]

The ledger is backfilled once; then for each group, each ccusage run (its nearest command, see
CCUSAGE) is followed by `--runs` runs of `cchooks report GROUP --json` and of the table (both
with their ordinary incremental ingest of the corpus: nothing new to read). Prints p50 wall
times and the ratio ccusage / cchooks; writes benchmarks/out/reports-<corpus>-<time>.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ccusage as ccu  # noqa: E402
from _measure import REPO, clean_env, prewarm, run_measured, summarize, write_result  # noqa: E402

# cchooks group -> ccusage's nearest report (project: its per-project daily; model and agent:
# ccusage has none, its daily report with per-model rows is the nearest).
CCUSAGE = {
    "daily": ["daily"], "weekly": ["weekly"], "monthly": ["monthly"], "session": ["session"],
    "project": ["daily", "--instances"], "model": ["daily", "--breakdown"], "agent": ["daily", "--breakdown"],
    "blocks": ["blocks"],
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--runs", type=int, default=5, help="cchooks runs of each form after each ccusage run")
    ap.add_argument("--ccusage-runs", type=int, default=3)
    ap.add_argument("--groups", default=",".join(CCUSAGE))
    ap.add_argument("--ledger", type=Path, help="an up-to-date ledger of the corpus to reuse")
    ap.add_argument("--out-dir", type=Path, default=None)
    a = ap.parse_args(argv)
    corpus = a.corpus.resolve()
    launcher = ccu.ensure()
    prewarm(corpus)
    with tempfile.TemporaryDirectory(prefix="cchooks-reports-") as tmp_s:
        tmp = Path(tmp_s)
        ledger = a.ledger or tmp / "ledger.db"
        pp = str(REPO) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
        env = clean_env(tmp / "home", corpus, {"CCHOOKS_LEDGER": str(ledger), "PYTHONPATH": pp})
        cc_env = clean_env(tmp / "cchome", corpus)
        base = [sys.executable, "-m", "cchooks", "report"]
        tail = ["--tz", "UTC", "--claude-dir", str(corpus), "--ledger", str(ledger)]
        fill = run_measured([*base, "daily", "--json", *tail], env)
        print(f"backfill: {fill['wall_s']:.2f}s rc {fill['rc']}")
        res: dict[str, Any] = {"corpus": str(corpus), "groups": {}}
        print("| group | ccusage p50 s | cchooks --json p50 ms | ratio | cchooks table p50 ms | ratio |")
        print("|---|---|---|---|---|---|")
        for group in a.groups.split(","):
            cc_argv = [str(launcher), "claude", *CCUSAGE[group], "--json", "--offline", "-z", "UTC"]
            cc, js, tb = [], [], []
            for _ in range(a.ccusage_runs):
                cc.append(run_measured(cc_argv, cc_env))
                for _ in range(a.runs):
                    js.append(run_measured([*base, group, "--json", *tail], env))
                    tb.append(run_measured([*base, group, *tail], env))
            bad = [r for r in (*cc, *js, *tb) if r["rc"] != 0]
            if bad:
                print(f"{group}: exit {bad[0]['rc']}: {bad[0]['stderr'][-300:]}")
            s_cc, s_js, s_tb = summarize(cc), summarize(js), summarize(tb)
            row = {
                "ccusage": s_cc, "ccusage_command": " ".join(["ccusage", *cc_argv[1:]]), "json": s_js, "table": s_tb,
                "json_speedup": round(s_cc["wall_p50_s"] / s_js["wall_p50_s"], 1),
                "table_speedup": round(s_cc["wall_p50_s"] / s_tb["wall_p50_s"], 1),
            }
            res["groups"][group] = row
            print(f"| {group} | {s_cc['wall_p50_s']:.3f} | {s_js['wall_p50_s'] * 1000:.0f} | {row['json_speedup']}x"
                  f" | {s_tb['wall_p50_s'] * 1000:.0f} | {row['table_speedup']}x |", flush=True)
        path = write_result("reports-" + corpus.name, res, **({"out_dir": a.out_dir} if a.out_dir else {}))
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
