#!/usr/bin/env python3
"""Bulk ledger write per response: the backfill's writer alone, on the parsed rows of a corpus.

    python benchmarks/bench_write.py /tmp/cchooks-bench/dense500 [--runs 3]

The corpus is parsed once, in this process, into the segments a backfill's parse workers send
(rows plus read positions). Each run then writes them into a fresh ledger as `ingest_files`
does (`deferred_rollup(cold=True)`, a `_Batch` committing every 32 MiB of parsed data with the
read positions), two ways, interleaved:

* **in memory**: the rows as Python tuples, upserted with `executemany` (the one-process
  backfill, and every hook and statusline);
* **staged**: the parallel backfill. Each 8 MiB task's rows are first written to a stage file
  (what a parse process does, timed apart as "staging"), then the writer merges the stage files
  with one `INSERT … SELECT … ON CONFLICT` per batch (cchooks.ledger.staging).

The time is split into the writes and the end of the load (indexes built, rollups rebuilt).
Reported per response: CPU µs (this process; the figure machine load disturbs least) and wall
µs, median over the runs.
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


def write_staged(segs: list[ingest.Segment]) -> tuple[float, float, float, float]:
    """(staging CPU s, merges CPU s, finish CPU s, writer wall s) of one cold load the parallel way."""
    from cchooks.ledger import staging

    with tempfile.TemporaryDirectory(prefix="cchooks-write-") as tmp, Ledger.open(Path(tmp) / "l.db") as led:
        # Tasks of about TASK_BYTES, as parallel._batches cuts them; their rows staged as a parse process would.
        tasks: list[list[ingest.Segment]] = [[]]
        size = 0
        for seg in segs:
            if size >= ingest.TASK_BYTES:
                tasks.append([])
                size = 0
            tasks[-1].append(seg)
            size += seg.nbytes
        c0 = time.process_time()
        staged = []
        for n, task in enumerate(tasks):
            rows = [row for seg in task for row in seg.rows]
            stage = staging.write_stage(tmp, f"{n}.sqlite3", rows)
            moved = [ingest.Segment([], seg.position, seg.nbytes) for seg in task]
            for m, seg in zip(moved, task, strict=True):
                m.staged = len(seg.rows)
            staged.append((stage, moved))
        c1, w1 = time.process_time(), time.perf_counter()
        with led.deferred_rollup(cold=True):
            batch = ingest._Batch(led, ingest.COMMIT_EVERY)
            for stage, moved in staged:
                batch.add_stage(stage)
                for seg in moved:
                    batch.add(seg)
            batch.flush()
            c2 = time.process_time()
        return c1 - c0, c2 - c1, time.process_time() - c2, time.perf_counter() - w1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    segs = parse(a.corpus.resolve())
    n = sum(len(s.rows) for s in segs)
    runs, staged = [], []
    for _ in range(a.runs):
        runs.append(write_once(segs))
        staged.append(write_staged(segs))
    up, fin, wall = (statistics.median(r[i] for r in runs) * 1e6 / n for i in range(3))
    print(f"{n:,} responses, {a.runs} runs (median), per response:")
    print(f"  in memory: upserts {up:.2f} µs CPU, indexes + rollups {fin:.2f} µs CPU, all {up + fin:.2f} µs CPU,"
          f" {wall:.2f} µs wall")
    st, merge, fin2, wall2 = (statistics.median(r[i] for r in staged) * 1e6 / n for i in range(4))
    print(f"  staged: in the parse processes {st:.2f} µs CPU; the writer: merges {merge:.2f} µs CPU,"
          f" indexes + rollups {fin2:.2f} µs CPU, all {merge + fin2:.2f} µs CPU, {wall2:.2f} µs wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
