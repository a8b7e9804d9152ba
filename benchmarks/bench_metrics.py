#!/usr/bin/env python3
"""Time of the Prometheus exposition (`GET /metrics`, `cchooks metrics`) on a year ledger.

    python benchmarks/gen_corpus.py --out DIR --size-mb 500 --density dense --end "$(date -u +%FT%H:00:00Z)"
    python benchmarks/bench_metrics.py DIR [--runs 50] [--http]

DIR is a corpus (ingested into a fresh ledger in a temporary dir first) or a ledger file. Measured,
after the ingest:

* `exposition()` as a server calls it, with the slow families (windows, session count) refreshed in
  the background after `[metrics] slow_max_age_seconds`: the first call (computes them inline) and
  the steady state (p50 / p90 / max over --runs calls);
* the same with every family computed inline (`cache=False`: what `cchooks metrics` does, and a
  server with `slow_max_age_seconds = 0`);
* with `--http`, a whole scrape over HTTP of `cchooks serve --no-watch` (the daemon
  mounting the same function; `cchooks serve` replaces it);
* the number of series (samples) and bytes with default labels.

Results go to benchmarks/out/metrics.json and a markdown table on stdout. Target: p50 well under a
15 s scrape interval (aim: 20 ms steady, 200 ms for everything inline), at most 2,000 series.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "p50_ms": round(statistics.median(s) * 1000, 1),
        "p90_ms": round(s[int(0.9 * (len(s) - 1))] * 1000, 1),
        "max_ms": round(s[-1] * 1000, 1),
        "runs": len(s),
    }


def _timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", help="a corpus dir (ingested first) or a ledger file")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--http", action="store_true", help="also time whole HTTP scrapes of cchooks serve")
    args = ap.parse_args()

    from cchooks.ledger import Ledger
    from cchooks.server.metrics import exposition

    work = Path(tempfile.mkdtemp(prefix="cchooks-bench-metrics-"))
    (work / "config.toml").write_text("")
    os.environ["CCHOOKS_CONFIG"] = str(work / "config.toml")  # defaults, whatever the machine has
    source = Path(args.source)
    if source.is_dir():
        ledger = work / "ledger.sqlite3"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cchooks", "ingest", "--claude-dir", str(source), "--ledger", str(ledger)],
                       check=True, capture_output=True)  # fmt: skip
        print(f"ingested {source} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    else:
        ledger = source
    with Ledger.open(ledger) as led:
        responses = led.response_count()

    path = str(ledger)
    t = time.perf_counter()
    body, _ = exposition(path, None)
    first = time.perf_counter() - t
    steady = _timed(lambda: exposition(path, None), args.runs)
    inline = _timed(lambda: exposition(path, None, cache=False), max(5, args.runs // 5))
    lines = body.decode().splitlines()
    series = sum(1 for x in lines if x and not x.startswith("#"))
    families = sum(1 for x in lines if x.startswith("# TYPE "))
    result: dict[str, object] = {
        "ledger_responses": responses,
        "first_call_ms": round(first * 1000, 1),
        "steady": _stats(steady),
        "all_inline": _stats(inline),
        "series": series,
        "families": families,
        "bytes": len(body),
    }
    if args.http:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "cchooks", "serve", "--no-watch", "--port", str(port),
                                   "--ledger", path], cwd=ROOT)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            for _ in range(200):
                try:
                    urllib.request.urlopen(url, timeout=30).read()  # noqa: S310 - loopback
                    break
                except OSError:
                    time.sleep(0.1)
            result["http_steady"] = _stats(_timed(lambda: urllib.request.urlopen(url, timeout=30).read(), args.runs))  # noqa: S310
        finally:
            server.terminate()
            server.wait(10)

    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"| ledger | first call | steady p50 / p90 / max | all inline p50 / max |{' HTTP p50 |' if args.http else ''} series |")
    print(f"|---|---|---|---|{'---|' if args.http else ''}---|")
    st, al = result["steady"], result["all_inline"]
    http = f" {result['http_steady']['p50_ms']} ms |" if args.http else ""  # type: ignore[index]
    print(f"| {responses:,} responses | {result['first_call_ms']} ms | {st['p50_ms']} / {st['p90_ms']} / {st['max_ms']} ms"  # type: ignore[index]
          f" | {al['p50_ms']} / {al['max_ms']} ms |{http} {series} ({families} families) |")  # type: ignore[index]  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
