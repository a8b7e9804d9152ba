"""`cchooks serve` on a year ledger: first paint, API latency, payload, idle CPU and RSS.

    python benchmarks/bench_serve.py /tmp/cchooks-bench/dense500 [--runs 30]

Generates the corpus first when DIR does not exist (`gen_corpus.py --size-mb 500 --density dense`,
ending this hour: ~100k responses over a year), ingests it into a fresh ledger, starts
`cchooks serve` on it (watcher on, as the login service runs it), then measures:
- first paint with data: Chromium (Debian's, through Playwright) opens `/` (the default view: limits
  and the last 30 days), time from the navigation start to the page's `ready` mark (limits, cards and
  the daily table painted) and to its `chart` mark (the chart drawn); the first load and the median
  of --runs loads, each in a fresh browser context (nothing cached in the browser);
- the API: p50 and p95 of each endpoint the page uses, uncached (a unique query parameter) and cached;
- the default view's payload: every byte the page load transfers (HTML, CSS, JS, API answers);
- idle: the daemon's CPU over 30 s and its RSS with no client (after its document worker, idle for a
  minute, has exited), then with the page open (its event stream connected; the worker's RSS apart).
Targets (issue 12): first paint <= 300 ms, API p50 <= 50 ms, payload <= 500 KB, idle <= 1 % CPU and
<= 60 MB RSS. Writes benchmarks/out/serve.json.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _measure import OUT_DIR, REPO, clean_env  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


def _ticks(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_percent(pid: int, seconds: float) -> float:
    c0, t0 = _ticks(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (_ticks(pid) - c0) / (time.monotonic() - t0)


def _get(url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp:
        n = len(resp.read())
    return (time.perf_counter() - t0) * 1000, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", help="config dir of a generated corpus (made when missing)")
    ap.add_argument("--size-mb", type=float, default=500.0)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--idle-seconds", type=float, default=30.0)
    ap.add_argument("--screenshot", metavar="PNG", help="also save a screenshot of the default view here")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    if not corpus.exists():
        end = datetime.now(UTC).strftime("%Y-%m-%dT%H:00:00Z")
        print(f"generating {corpus} ({args.size_mb:.0f} MB, dense, ending {end}) ...", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), "--out", str(corpus), "--size-mb",
                        str(args.size_mb), "--density", "dense", "--end", end], check=True)  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="cchooks-bench-serve-"))
    env = clean_env(work / "home", corpus, {"PYTHONPATH": str(REPO)})
    ledger = work / "ledger.sqlite3"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cchooks", "ingest", "--ledger", str(ledger)], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    ingest_s = time.perf_counter() - t0
    import sqlite3

    with sqlite3.connect(ledger) as db:
        responses = db.execute("SELECT count(*) FROM responses").fetchone()[0]
        span = db.execute("SELECT (max(ts_ms) - min(ts_ms)) / 86400000.0 FROM responses").fetchone()[0]
    print(f"ledger: {responses:,} responses over {span:.0f} days (ingest {ingest_s:.1f} s)", file=sys.stderr)

    port_file = work / "port"
    proc = subprocess.Popen([sys.executable, "-m", "cchooks", "serve", "--port", "0", "--port-file", str(port_file),
                             "--ledger", str(ledger)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    result: dict[str, Any] = {"responses": responses, "days": round(span or 0), "ingest_s": round(ingest_s, 1)}
    try:
        for _ in range(600):
            if port_file.exists():
                break
            time.sleep(0.05)
        base = f"http://127.0.0.1:{int(port_file.read_text())}"
        time.sleep(2.0)  # the watcher's catch-up scan (nothing new) settles

        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            paints: list[float] = []
            charts: list[float] = []
            payload = 0
            api_bytes = 0
            for i in range(args.runs + 1):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = ctx.new_page()
                sizes: list[tuple[str, int]] = []
                if i == 0:
                    # The event stream never ends (no body to measure); everything else is counted.
                    page.on("response", lambda r, s=sizes: None if "/api/events" in r.url
                            else s.append((r.url, len(r.body()))))  # fmt: skip
                page.goto(base + "/")
                page.wait_for_selector("body[data-ready]:not([data-loading])", timeout=60_000)
                page.wait_for_function("performance.getEntriesByName('chart').length > 0", timeout=60_000)
                # The page marks "ready" when the numbers are painted and "chart" when the chart is drawn
                # (times since the navigation started: the page request, its files, the API answers).
                marks = page.evaluate("({ready: performance.getEntriesByName('ready')[0].startTime,"
                                      " chart: performance.getEntriesByName('chart')[0].startTime})")
                paints.append(marks["ready"])
                charts.append(marks["chart"])
                if i == 0:
                    payload = sum(n for _u, n in sizes)
                    api_bytes = sum(n for u, n in sizes if "/api/" in u)
                    result["default_view_requests"] = {u.replace(base, ""): n for u, n in sizes}
                ctx.close()
            result["first_paint_ms_first_load"] = round(paints[0], 1)
            result["first_paint_ms_p50"] = round(statistics.median(paints[1:]), 1)
            result["first_paint_ms_max"] = round(max(paints[1:]), 1)
            result["chart_drawn_ms_p50"] = round(statistics.median(charts[1:]), 1)
            result["default_view_payload_kb"] = round(payload / 1024, 1)
            result["default_view_api_kb"] = round(api_bytes / 1024, 1)

            since = (datetime.now(UTC).date().toordinal() - 29)
            since_day = datetime.fromordinal(since).strftime("%Y-%m-%d")
            endpoints = {
                "limits": "/api/limits", "daily_30d": f"/api/report/daily?since={since_day}",
                "session_30d": f"/api/report/session?since={since_day}", "daily_year": "/api/report/daily",
                "session_year": "/api/report/session", "model_year": "/api/report/model",
                "project_year": "/api/report/project", "entries": "/api/entries",
            }  # fmt: skip
            api: dict[str, Any] = {}
            for name, path in endpoints.items():
                sep = "&" if "?" in path else "?"
                cold = [_get(f"{base}{path}{sep}_bench={i}")[0] for i in range(args.runs)]
                warm = [_get(base + path)[0] for _ in range(args.runs)]
                api[name] = {"uncached_p50_ms": round(statistics.median(cold), 1),
                             "uncached_p95_ms": round(sorted(cold)[int(0.95 * (len(cold) - 1))], 1),
                             "cached_p50_ms": round(statistics.median(warm), 1),
                             "bytes": _get(base + path)[1]}  # fmt: skip
            result["api"] = api
            result["api_p50_ms_all_uncached"] = round(statistics.median(v["uncached_p50_ms"] for v in api.values()), 1)

            pid = proc.pid
            # Idle: no client for longer than the document worker lives without work (it exits).
            time.sleep(65.0)
            result["idle_cpu_percent"] = round(_cpu_percent(pid, args.idle_seconds), 2)
            result["idle_rss_mb"] = round(_rss_mb(pid), 1)
            result["idle_children"] = len(_children(pid))
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(base + "/")
            page.wait_for_selector("body[data-ready]:not([data-loading])", timeout=60_000)
            time.sleep(2.0)
            if args.screenshot:
                page.set_viewport_size({"width": 1400, "height": 1000})
                page.screenshot(path=args.screenshot)
            result["idle_cpu_percent_page_open"] = round(_cpu_percent(pid, args.idle_seconds), 2)
            result["rss_mb_page_open"] = round(_rss_mb(pid), 1)
            result["worker_rss_mb_page_open"] = round(sum(_rss_mb(c) for c in _children(pid)), 1)
            ctx.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "serve.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
