#!/usr/bin/env python3
"""Benchmark `cchooks watch`: idle CPU on a large tree, and latency from an append to the ledger.

    python benchmarks/bench_watch.py [--files 3000] [--idle 60] [--appends 100] [--new-files 20]
                                     [--poll SECONDS] [--out benchmarks/out/watch.json]

1. Builds a Claude config dir with --files transcripts (main sessions in 100 projects, every sixth
   session with a subagent transcript), each holding a few responses.
2. Starts `python -m cchooks watch` on it as a subprocess with a clean environment (empty HOME, TZ=UTC)
   and waits for its catch-up ingest.
3. Idle: after 2 s of settling, measures the watcher's CPU (utime + stime of all its threads, from
   /proc/<pid>/stat) and its context switches (/proc/<pid>/task/*/status) over --idle seconds, with nothing
   touching the tree. Target: under 1% of one core.
4. Latency: appends one response line (to a random existing transcript) every ~0.25 s and polls the ledger
   read-only every 2 ms until the response is there; then creates --new-files new session files (half in
   new project folders). Target: p95 under 1 s.
5. Stops the watcher with SIGTERM and checks that it exits 0.

Prints a markdown table and writes JSON (default benchmarks/out/watch.json). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def line(n: int, session: str, ts: str, agent: str | None = None) -> str:
    obj: dict[str, Any] = {
        "parentUuid": None, "isSidechain": agent is not None, "type": "assistant", "uuid": f"u-{n}",
        "timestamp": ts, "cwd": "/tmp/bench", "sessionId": session, "version": "2.1.330", "requestId": f"req_{n}",
        "message": {
            "id": f"msg_{n}", "type": "message", "role": "assistant", "model": "claude-opus-5-5",
            "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 10 + n % 7, "output_tokens": 50 + n % 13, "cache_read_input_tokens": 1000,
                      "cache_creation_input_tokens": 20,
                      "cache_creation": {"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 0}},
        },
    }  # fmt: skip
    if agent:
        obj["agentId"] = agent
    return json.dumps(obj, separators=(",", ":")) + "\n"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def build_tree(root: Path, files: int, per_file: int = 3) -> tuple[list[Path], int, int]:
    """(transcripts, directories, responses)."""
    projects = root / "projects"
    paths: list[Path] = []
    n = 0
    dirs = 1
    nproj = 100
    i = 0
    while len(paths) < files:
        proj = projects / f"-home-user-project-{i % nproj:03d}"
        if i < nproj:
            proj.mkdir(parents=True, exist_ok=True)
            dirs += 1
        session = f"{i:08d}-0000-4000-8000-000000000000"
        p = proj / f"{session}.jsonl"
        with open(p, "w") as fh:
            for _ in range(per_file):
                n += 1
                fh.write(line(n, session, "2026-11-22T10:00:00.000Z"))
        paths.append(p)
        if i % 6 == 0 and len(paths) < files:
            sub = proj / session / "subagents"
            sub.mkdir(parents=True)
            dirs += 2
            a = sub / f"agent-a{i}.jsonl"
            with open(a, "w") as fh:
                for _ in range(per_file):
                    n += 1
                    fh.write(line(n, session, "2026-11-22T10:00:00.000Z", agent=f"a{i}"))
            paths.append(a)
        i += 1
    return paths, dirs, n


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (all threads)


def ctx_switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for row in (task / "status").read_text().splitlines():
                if row.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(row.split()[1])
        except OSError:
            continue
    return total


def rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def wait_in_ledger(con: sqlite3.Connection, rkey: str, t_write: float, timeout: float = 10.0) -> float | None:
    while time.perf_counter() - t_write < timeout:
        try:
            if con.execute("SELECT 1 FROM responses WHERE rkey = ?", (rkey,)).fetchone():
                return time.perf_counter() - t_write
        except sqlite3.OperationalError:
            pass
        time.sleep(0.002)
    return None


def clean_env(home: Path, corpus: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "TZ": "UTC", "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"), "XDG_CACHE_HOME": str(home / ".cache"),
        "CLAUDE_CONFIG_DIR": str(corpus), "PYTHONPATH": str(REPO),
    }  # fmt: skip
    for k in ("PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--idle", type=float, default=60.0, help="idle measurement in seconds (default 60)")
    ap.add_argument("--appends", type=int, default=100)
    ap.add_argument("--interval", type=float, default=0.25, help="mean seconds between appends")
    ap.add_argument("--new-files", type=int, default=20)
    ap.add_argument("--poll", type=float, help="run the watcher with --poll SECONDS (polling observer)")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "watch.json")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if not Path("/proc/self/stat").exists():
        print("bench_watch needs Linux /proc", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp_s:
        tmp = Path(tmp_s)
        corpus, ledger, home = tmp / "claude", tmp / "ledger.sqlite3", tmp / "home"
        home.mkdir()
        t0 = time.perf_counter()
        paths, ndirs, nresp = build_tree(corpus, args.files)
        build_s = time.perf_counter() - t0
        cmd = [sys.executable, "-m", "cchooks", "watch", "--ledger", str(ledger)]
        if args.poll:
            cmd += ["--poll", str(args.poll)]
        errlog = tmp / "watch.stderr"
        with open(errlog, "wb") as err:
            t_start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=clean_env(home, corpus),
                                    cwd=REPO, start_new_session=True)  # fmt: skip
        try:
            while "catch-up:" not in errlog.read_text(errors="replace"):
                if proc.poll() is not None or time.perf_counter() - t_start > 300:
                    raise SystemExit(f"watch did not start:\n{errlog.read_text(errors='replace')}")
                time.sleep(0.01)
            ready_s = time.perf_counter() - t_start
            con = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=10)
            caught_up = con.execute("SELECT count(*) FROM responses").fetchone()[0]
            startup_cpu = cpu_seconds(proc.pid)

            # -- idle -------------------------------------------------------------------------------
            time.sleep(2.0)
            c0, s0, w0 = cpu_seconds(proc.pid), ctx_switches(proc.pid), time.perf_counter()
            time.sleep(args.idle)
            c1, s1, w1 = cpu_seconds(proc.pid), ctx_switches(proc.pid), time.perf_counter()
            idle_wall = w1 - w0
            idle_cpu = c1 - c0
            idle = {
                "seconds": round(idle_wall, 2),
                "cpu_seconds": round(idle_cpu, 3),
                "cpu_percent_of_one_core": round(100.0 * idle_cpu / idle_wall, 4),
                "context_switches": s1 - s0,
                "context_switches_per_second": round((s1 - s0) / idle_wall, 3),
                "cpu_resolution_s": 1 / CLK_TCK,
            }

            # -- append latency ------------------------------------------------------------------------
            n = nresp + 1000
            append_lat: list[float] = []
            missed = 0
            cpu_a0 = cpu_seconds(proc.pid)
            for _ in range(args.appends):
                p = rng.choice(paths)
                n += 1
                agent = p.stem[len("agent-") :] if p.parent.name == "subagents" else None
                session = p.parent.parent.name if agent else p.stem
                data = line(n, session, now_iso(), agent=agent)
                with open(p, "a") as fh:
                    fh.write(data)
                t_write = time.perf_counter()
                lat = wait_in_ledger(con, f"req_{n}", t_write)
                if lat is None:
                    missed += 1
                else:
                    append_lat.append(lat)
                time.sleep(max(0.0, rng.uniform(0.5, 1.5) * args.interval - (lat or 0)))
            cpu_appends = cpu_seconds(proc.pid) - cpu_a0

            # -- new files ---------------------------------------------------------------------------------
            new_lat: list[float] = []
            for k in range(args.new_files):
                n += 1
                proj = (
                    corpus / "projects" / (f"-home-user-new-{k:03d}" if k % 2 else "-home-user-project-000")
                )
                proj.mkdir(exist_ok=True)
                session = f"new-{k:04d}-0000-4000-8000-000000000000"
                with open(proj / f"{session}.jsonl", "w") as fh:
                    fh.write(line(n, session, now_iso()))
                t_write = time.perf_counter()
                lat = wait_in_ledger(con, f"req_{n}", t_write)
                if lat is None:
                    missed += 1
                else:
                    new_lat.append(lat)
                time.sleep(args.interval)
            rss = rss_mb(proc.pid)
            con.close()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
        log_tail = errlog.read_text(errors="replace")[-2000:]

    def stats(values: list[float]) -> dict[str, Any]:
        return {
            "count": len(values),
            "p50_ms": round(pct(values, 50) * 1000, 1),
            "p95_ms": round(pct(values, 95) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1) if values else None,
        }

    result: dict[str, Any] = {
        "benchmark": "watch",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "observer": f"polling every {args.poll} s" if args.poll else "native",
        "tree": {"transcripts": len(paths), "directories": ndirs, "responses": nresp, "build_s": round(build_s, 2)},
        "startup": {"ready_s": round(ready_s, 2), "cpu_s": round(startup_cpu, 2), "responses_after_catch_up": caught_up},
        "idle": idle,
        "append_latency": stats(append_lat) | {"watcher_cpu_ms_per_append": round(1000 * cpu_appends / max(1, args.appends), 2)},
        "new_file_latency": stats(new_lat),
        "missed": missed,
        "rss_mb": round(rss, 1),
        "exit_code": rc,
        "targets": {"idle_cpu_percent_max": 1.0, "append_p95_ms_max": 1000.0},
    }  # fmt: skip
    ok = (
        idle["cpu_percent_of_one_core"] < 1.0
        and result["append_latency"]["p95_ms"] < 1000
        and missed == 0
        and rc == 0
        and caught_up == nresp
    )
    result["pass"] = ok
    if not ok:
        result["log_tail"] = log_tail
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    a, nf = result["append_latency"], result["new_file_latency"]
    rows = [
        ("observer", result["observer"], ""),
        ("tree", f"{len(paths):,} transcripts, {ndirs:,} directories, {nresp:,} responses", ""),
        ("start to caught up", f"{ready_s:.2f} s ({startup_cpu:.2f} s CPU)", ""),
        (f"idle CPU over {idle_wall:.0f} s", f"{idle['cpu_percent_of_one_core']:.3f} % of one core"
         f" ({idle_cpu:.2f} s; clock tick {1000 / CLK_TCK:.0f} ms)", "< 1 %"),
        ("idle context switches", f"{idle['context_switches']} ({idle['context_switches_per_second']}/s)", ""),
        ("append → ledger", f"p50 {a['p50_ms']} ms, p95 {a['p95_ms']} ms, max {a['max_ms']} ms (n={a['count']})",
         "p95 < 1000 ms"),
        ("new file → ledger", f"p50 {nf['p50_ms']} ms, p95 {nf['p95_ms']} ms, max {nf['max_ms']} ms (n={nf['count']})",
         ""),
        ("watcher CPU per append", f"{a['watcher_cpu_ms_per_append']} ms", ""),
        ("RSS", f"{rss:.1f} MB", ""),
        ("missed / exit code", f"{missed} / {rc}", "0 / 0"),
    ]  # fmt: skip
    print("| measure | result | target |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print(f"\n{'PASS' if ok else 'FAIL'} — wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
