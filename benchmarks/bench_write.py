#!/usr/bin/env python3
"""Bulk ledger write per response: the backfill's writer alone, on the parsed rows of a corpus.

    python benchmarks/bench_write.py /tmp/cchooks-bench/dense500 [--runs 3]

The corpus is parsed once, in this process, into the segments a backfill's parse workers send
(rows plus read positions). Each run then writes them into a fresh ledger exactly as
`ingest_files` does (`deferred_rollup(cold=True)`, a `_Batch` committing every 32 MiB of parsed
data with the read positions), and the time is split into the upserts and the end of the load
(indexes built, rollups rebuilt). Reported per response: CPU µs (this process; the figure machine
load disturbs least) and wall µs, median over the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cchooks.ledger import ingest  # noqa: E402
from cchooks.ledger.store import Ledger  # noqa: E402


def parse(corpus: Path) -> list[ingest.Segment]:
    segs: list[ingest.Segment] = []
    for tf in ingest.discover(corpus / "projects"):
        segs.extend(ingest.read_new_bytes(tf, os.stat(tf.path), None, bulk=True).segments)
    return segs


def write_once(segs: list[ingest.Segment]) -> tuple[float, float, float]:
    """(upserts CPU s, finish CPU s, total wall s) of one cold load."""
    with tempfile.TemporaryDirectory(prefix="cchooks-write-") as tmp, Ledger.open(Path(tmp) / "l.db") as led:
        c0, w0 = time.process_time(), time.perf_counter()
        with led.deferred_rollup(cold=True):
            batch = ingest._Batch(led, ingest.COMMIT_EVERY)
            for seg in segs:
                batch.add(seg)
            batch.flush()
            c1 = time.process_time()
        return c1 - c0, time.process_time() - c1, time.perf_counter() - w0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    segs = parse(a.corpus.resolve())
    n = sum(len(s.rows) for s in segs)
    runs = [write_once(segs) for _ in range(a.runs)]
    up, fin, wall = (statistics.median(r[i] for r in runs) * 1e6 / n for i in range(3))
    print(f"{n:,} responses, {a.runs} runs (median): upserts {up:.2f} µs CPU, indexes + rollups {fin:.2f} µs CPU,"
          f" all {up + fin:.2f} µs CPU, {wall:.2f} µs wall per response")
    return 0


if __name__ == "__main__":
    sys.exit(main())
