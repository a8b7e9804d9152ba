"""Warm `report daily --json` on a large ledger against a small one (issue 11's scaling target:
the 1M-response ledger's report within 1.5x the 500 MB one's).

Both ledgers must be up to date with their corpora (a backfill by `bench_ingest.py` or
`cchooks ingest`). A `cchooks watch` runs on each, as on a machine with `cchooks serve`, so the
reports trust the idle watcher and skip their scan of the transcripts (`--no-watch`: they scan);
the runs alternate small and large (the order reversed every other round), with and without
`--no-ingest`. Prints the p50 of each and the ratios: of the p50s, and the median of the
per-round ratios.

    python benchmarks/bench_scale_report.py --small /tmp/sc500.db /tmp/cchooks-bench/dense500 \\
        --large /tmp/sc5000.db /tmp/cchooks-bench/dense5000 --runs 11
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import clean_env  # noqa: E402


def _wait_idle(ledger: str, proc: subprocess.Popen[bytes], timeout_s: float = 600.0) -> None:
    state = ledger + ".watch.state"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"cchooks watch on {ledger} exited with {proc.returncode}")
        try:
            with open(state, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("idle") is True and data.get("pid") == proc.pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"cchooks watch on {ledger} was not idle within {timeout_s:.0f} s")


def _report(cmd: list[str], ledger: str, claude_dir: str, env: dict[str, str], no_ingest: bool) -> tuple[float, bytes]:
    args = [*cmd, "report", "daily", "--json", "--ledger", ledger, "--claude-dir", claude_dir]
    if no_ingest:
        args.append("--no-ingest")
    t = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, check=True).stdout
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", nargs=2, metavar=("LEDGER", "CLAUDE_DIR"), required=True)
    ap.add_argument("--large", nargs=2, metavar=("LEDGER", "CLAUDE_DIR"), required=True)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--cchooks-cmd", default=shutil.which("cchooks") or "cchooks")
    ap.add_argument("--no-watch", action="store_true", help="no watcher: every report scans its transcripts")
    args = ap.parse_args()
    cmd = [args.cchooks_cmd]
    home = Path(tempfile.mkdtemp(prefix="cchooks-scale-"))
    env = clean_env(home, None, {"TZ": os.environ.get("TZ", "UTC")})
    sides = {"small": args.small, "large": args.large}
    watchers = {}
    try:
        for name, (ledger, claude_dir) in () if args.no_watch else sides.items():
            watchers[name] = subprocess.Popen(
                [*cmd, "watch", "--ledger", ledger, "--claude-dir", claude_dir],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        for name, proc in watchers.items():
            _wait_idle(sides[name][0], proc)
        times: dict[tuple[str, bool], list[float]] = {(n, ni): [] for n in sides for ni in (False, True)}
        outputs: dict[str, set[bytes]] = {n: set() for n in sides}
        for i in range(args.runs):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for no_ingest in (False, True):
                for name in order:
                    ledger, claude_dir = sides[name]
                    dt, out = _report(cmd, ledger, claude_dir, env, no_ingest)
                    times[(name, no_ingest)].append(dt)
                    outputs[name].add(out)
        for name, outs in outputs.items():
            if len(outs) != 1:
                raise SystemExit(f"the {name} ledger's reports differ between runs")
    finally:
        for proc in watchers.values():
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    for no_ingest in (False, True):
        small, large = times[("small", no_ingest)], times[("large", no_ingest)]
        ps, pl = statistics.median(small), statistics.median(large)
        paired = statistics.median(b / a for a, b in zip(small, large, strict=True))
        label = "--no-ingest" if no_ingest else ("scanning" if args.no_watch else "with the watcher's trust")
        print(
            f"report daily --json, {label}: small {ps * 1000:.1f} ms, large {pl * 1000:.1f} ms;"
            f" ratio of p50s {pl / ps:.2f}x, paired {paired:.2f}x ({args.runs} runs)"
        )


if __name__ == "__main__":
    main()
