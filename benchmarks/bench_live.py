#!/usr/bin/env python3
"""The statusline's and budgets' spend queries (`cchooks.ledger.live`) on a long session and a busy day.

    python benchmarks/bench_live.py [--responses 5000] [--runs 50]

Builds a ledger in a temporary directory: a year of history (`--history` responses over 365
days, 2,000 sessions) plus one session of `--responses` responses over the last ten hours (a
long working day in one session). Then times, in-process, each question the statusline asks
on every refresh, two ways in the same run:

* from the rollups (what `session_spend` / `spend_between` do: `usage_dims` for a session,
  `usage_rollup` for a period on the 15-minute grid);
* from the responses themselves (`live.spend` with the same condition: what they did before,
  and still do where the rollup cannot answer).

Both must give the same totals (checked). Results: a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cchooks.ledger import Ledger  # noqa: E402
from cchooks.ledger.live import open_hot, session_spend, spend, spend_between  # noqa: E402
from cchooks.pricing import load_price_table  # noqa: E402
from cchooks.records import UsageRecord  # noqa: E402

MODELS = ["claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5"]


def build(path: Path, history: int, long_session: int, now: int) -> None:
    rng = random.Random(1)
    year = 365 * 86_400_000
    recs = [
        UsageRecord(f"msg_h{i}", f"req_h{i}", f"s{i % 2000}", now - rng.randrange(year), rng.choice(MODELS),
                    rng.randrange(1, 20), rng.randrange(1, 2000), rng.randrange(0, 5000), 0,
                    rng.randrange(0, 150_000))  # fmt: skip
        for i in range(history)
    ]
    start = now - 10 * 3_600_000
    step = 10 * 3_600_000 // max(1, long_session)
    recs += [
        UsageRecord(f"msg_l{i}", f"req_l{i}", "long-session", start + i * step, rng.choice(MODELS),
                    3, rng.randrange(1, 2000), rng.randrange(0, 5000), 0, rng.randrange(0, 250_000))  # fmt: skip
        for i in range(long_session)
    ]
    with Ledger.open(path) as led, led.write():
        led.upsert_records(recs)


def timed(f, runs: int) -> float:  # type: ignore[no-untyped-def]
    f()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--responses", type=int, default=5000, help="responses of the long session")
    ap.add_argument("--history", type=int, default=200_000, help="responses of the year before")
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    prices = load_price_table()
    now = int(time.time() * 1000)
    day = now - now % 86_400_000
    block = now - now % 3_600_000 - 4 * 3_600_000
    with tempfile.TemporaryDirectory(prefix="cchooks-bench-live-") as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        build(path, a.history, a.responses, now)
        led = open_hot(path, 100, lazy_triggers=True)
        cases = [
            (f"session ({a.responses:,} responses)", lambda: session_spend(led, prices, "long-session"),
             lambda: spend(led, prices, "session_id = ?", ("long-session",))),
            ("today (since UTC midnight)", lambda: spend_between(led, prices, day),
             lambda: spend(led, prices, "ts_ms >= ?", (day,))),
            ("current 5-hour block", lambda: spend_between(led, prices, block),
             lambda: spend(led, prices, "ts_ms >= ?", (block,))),
        ]  # fmt: skip
        print(f"Ledger: {a.history:,} responses over a year + a session of {a.responses:,}; {a.runs} runs each.\n")
        print("| question | from the rollups ms | from the responses ms | ratio |")
        print("|---|---|---|---|")
        for name, rolled, direct in cases:
            a_tot, b_tot = rolled(), direct()
            assert a_tot.responses == b_tot.responses and a_tot.total_tokens == b_tot.total_tokens, name
            assert abs((a_tot.cost_usd or 0) - (b_tot.cost_usd or 0)) < 1e-6, name
            r_ms, d_ms = timed(rolled, a.runs), timed(direct, a.runs)
            print(f"| {name} | {r_ms:.2f} | {d_ms:.2f} | {d_ms / r_ms:.0f}x |")
        led.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
