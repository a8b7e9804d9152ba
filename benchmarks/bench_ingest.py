#!/usr/bin/env python3
"""cchooks vs ccusage on one corpus, side by side in the same run, checked against expected.json.

    python benchmarks/gen_corpus.py --out /tmp/cchooks-bench/corpus500 --size-mb 500 --seed 1
    python benchmarks/bench_ingest.py /tmp/cchooks-bench/corpus500 [--warm-runs 20] [--ccusage-runs 1]

    # a dense history (~200 responses per MiB: compact lines, few large tool results)
    python benchmarks/gen_corpus.py --out /tmp/cchooks-bench/dense500 --size-mb 500 --seed 1 --density dense
    python benchmarks/bench_ingest.py /tmp/cchooks-bench/dense500 --cold-runs 7 --ccusage-runs 7

Give the same number of cold and ccusage runs to get alternating pairs; their per-pair ratios
(`cold_pair_ratios`, median printed) are the figure that machine load disturbs least.

Measured, each as isolated child processes (wall time spawn-to-reap; peak RSS and CPU from wait4):

  ccusage daily   `ccusage claude daily --json --offline -z UTC` (see ccusage.py), --ccusage-runs times
  cchooks cold    `cchooks report daily --json --tz UTC --claude-dir CORPUS --ledger TMP/ledger.db` on an
                  empty ledger (full backfill), once (--cold-runs to repeat, each on a fresh ledger);
                  the cold runs alternate with ccusage's runs, so both meet the same machine load
  cchooks warm    the same command again with the ledger up to date, --warm-runs times (p50/p95)
  cchooks append  a new response appended to a scratch session file in the corpus, then the same
                  command (incremental ingest of a few new bytes), --append-runs times; the scratch
                  file is removed afterwards and its tokens are checked too

Then totals (input / output / cache creation / cache read, and cost) of each tool are compared
with expected.json and with each other; a markdown table and cchooks/ccusage ratios are printed
and everything is written to benchmarks/out/bench-<corpus>-<time>.json.

cchooks runs as `python -m cchooks` with this checkout on PYTHONPATH (or --cchooks-cmd). When it
cannot be run, or its `report` command is missing, the cchooks rows are skipped (ccusage alone).
Every run gets a clean environment: empty HOME and XDG dirs, TZ=UTC, CLAUDE_CONFIG_DIR=CORPUS,
CCHOOKS_LEDGER=TMP/ledger.db. The corpus is read once before measuring, so every tool sees a
warm page cache (--no-prewarm to skip).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ccusage as ccu  # noqa: E402
from _measure import (  # noqa: E402
    REPO,
    TOKEN_KEYS,
    clean_env,
    compare,
    dir_bytes,
    load_expected,
    parse_report,
    prewarm,
    run_measured,
    summarize,
    write_result,
)

SCRATCH_PROJECT = "-bench-scratch-append"


def cchooks_cmd(arg: str | None) -> list[str]:
    return shlex.split(arg) if arg else [sys.executable, "-m", "cchooks"]


def cchooks_probe(cmd: list[str], env: dict[str, str]) -> tuple[bool, str, bool]:
    """(usable, reason, knows --tz)."""
    try:
        r = subprocess.run([*cmd, "report", "--help"], env=env, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc), False
    if r.returncode != 0:
        return False, (r.stderr or r.stdout).strip()[-500:], False
    if "--claude-dir" not in r.stdout or "--json" not in r.stdout:
        return False, "`report` has no --claude-dir/--json yet", False
    return True, "", "--tz" in r.stdout


def report_argv(cmd: list[str], corpus: Path, ledger: Path, tz: bool) -> list[str]:
    return [*cmd, "report", "daily", "--json", *(["--tz", "UTC"] if tz else []),
            "--claude-dir", str(corpus), "--ledger", str(ledger)]


def parsed_or_error(run: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    if run["rc"] != 0:
        return None, f"exit {run['rc']}: {run['stderr'][-1500:]}"
    try:
        return parse_report(run["stdout"]), None
    except ValueError as exc:
        return None, f"unparsable output: {exc}: {run['stdout'][:300]!r}"


# --- the appended scratch session ------------------------------------------------------------------

_A = ('{"parentUuid":null,"isSidechain":false,"message":{"id":"%s","type":"message","role":"assistant",'
      '"model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"bench append %d"}],'
      '"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":%d,"cache_creation_input_tokens":%d,'
      '"cache_read_input_tokens":%d,"output_tokens":%d,"service_tier":"standard","cache_creation":'
      '{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":%d}}},"requestId":"%s","type":"assistant",'
      '"uuid":"%s","timestamp":"%s","userType":"external","entrypoint":"cli","cwd":"/bench/scratch",'
      '"sessionId":"%s","version":"2.1.330","gitBranch":"main"}\n')


def append_response(path: Path, i: int, ts: str) -> tuple[int, int, int, int]:
    """Append one response (2 lines, same ids and usage) to the scratch session; returns its tokens."""
    u = (3 + i, 40 + i, 1000 + i, 20_000 + i)  # input, output, cache_creation(5m), cache_read
    mid, rid = f"msg_bench_append_{os.getpid()}_{i}", f"req_bench_append_{os.getpid()}_{i}"
    sid = "00000000-bench-4000-8000-" + f"{os.getpid():012d}"[-12:]
    with open(path, "a", encoding="utf-8") as f:
        for k in range(2):
            f.write(_A % (mid, i, u[0], u[2], u[3], u[1], u[2], rid, f"bench-{i}-{k}", ts, sid))
    return u


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--warm-runs", type=int, default=20)
    ap.add_argument("--cold-runs", type=int, default=1)
    ap.add_argument("--append-runs", type=int, default=5)
    ap.add_argument("--ccusage-runs", type=int, default=1)
    ap.add_argument("--ccusage-version", default=ccu.DEFAULT_VERSION)
    ap.add_argument("--no-ccusage", action="store_true")
    ap.add_argument("--no-cchooks", action="store_true")
    ap.add_argument("--cchooks-cmd", help="command that runs cchooks (default: python -m cchooks from this checkout)")
    ap.add_argument("--statusline-runs", type=int, default=0,
                    help="also time `ccusage claude statusline --no-cache` N times (0: skip)")
    ap.add_argument("--interleave-warm", action="store_true",
                    help="run the warm reports a share after each cold run, between ccusage's runs")
    ap.add_argument("--keep", action="store_true", help="keep the temporary ledger dir and print it")
    ap.add_argument("--no-prewarm", action="store_true")
    ap.add_argument("--out-dir", type=Path, default=None)
    a = ap.parse_args(argv)
    corpus = a.corpus.resolve()
    if not (corpus / "projects").is_dir():
        ap.error(f"{corpus} has no projects/ (make one with gen_corpus.py)")
    exp = load_expected(corpus)
    n_files, n_bytes = dir_bytes(corpus)
    res: dict[str, Any] = {
        "corpus": str(corpus), "files": n_files, "bytes": n_bytes,
        "expected": exp["raw"]["totals"] if exp else None,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    n_resp = exp["raw"]["totals"].get("responses") if exp else None
    res["responses"] = n_resp
    density = f", {n_resp:,} responses ({n_resp / (n_bytes / 2**20):.0f} per MiB)" if n_resp else ""
    print(f"corpus {corpus}: {n_files} transcript files, {n_bytes / 2**20:.1f} MiB{density}"
          + ("" if exp else " (no expected.json: totals are only compared between tools)"))
    if not a.no_prewarm:
        res["prewarm_s"] = round(prewarm(corpus), 2)
    parsed: dict[str, dict[str, Any]] = {}

    # ---- cchooks setup; its cold runs interleave with ccusage's runs (same machine conditions)
    colds: list[dict[str, Any]] = []
    warms: list[dict[str, Any]] = []
    cold_run = None
    tmp = Path(tempfile.mkdtemp(prefix="cchooks-bench-"))
    if not a.no_cchooks:
        cmd = cchooks_cmd(a.cchooks_cmd)
        ledger = tmp / "ledger.db"
        pp = str(REPO) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
        env = clean_env(tmp / "home", corpus, {"CCHOOKS_LEDGER": str(ledger), "PYTHONPATH": pp})
        ok, why, tz = cchooks_probe(cmd, env)
        res["cchooks_cmd"] = cmd
        if not ok:
            res["cchooks_error"] = why
            print(f"cchooks skipped: {why}")
        else:
            argv_r = report_argv(cmd, corpus, ledger, tz)
            res["cchooks_command"] = shlex.join(["cchooks", *argv_r[len(cmd):]])

            def cold_run() -> None:
                # cold: empty ledger, full backfill
                if len(colds) >= a.cold_runs:
                    return
                for p in tmp.glob("ledger.db*"):
                    p.unlink()
                colds.append(run_measured(argv_r, env))
                print(f"cchooks cold: {colds[-1]['wall_s']:.2f}s, {colds[-1]['maxrss_mb']:.0f} MB, rc {colds[-1]['rc']}")
                if a.interleave_warm and colds[-1]["rc"] == 0:
                    # the warm runs too, a share after each cold run: between the same ccusage runs
                    per_pair = -(-a.warm_runs // max(1, min(a.cold_runs, a.ccusage_runs)))
                    while len(warms) < a.warm_runs and per_pair > 0:
                        warms.append(run_measured(argv_r, env))
                        per_pair -= 1

    # ---- ccusage
    if not a.no_ccusage:
        try:
            launcher = ccu.ensure(a.ccusage_version)
            r = ccu.daily(corpus, launcher, "claude", a.ccusage_runs, exp, after_each=cold_run)
            r["version"] = ccu.version_of(launcher)
            if "_parsed" in r:
                parsed["ccusage"] = r.pop("_parsed")
            res["ccusage_daily"] = r
            print(f"ccusage daily: {r['wall_p50_s']:.2f}s, {r['maxrss_mb']:.0f} MB" + (f"  ERROR {r['error']}" if "error" in r else ""))
            if a.statusline_runs:
                s = ccu.statusline(corpus, launcher, a.statusline_runs)
                res["ccusage_statusline"] = s
                print(f"ccusage statusline: p50 {s['wall_p50_s']:.3f}s p95 {s['wall_p95_s']:.3f}s")
        except (SystemExit, OSError, subprocess.CalledProcessError) as exc:
            res["ccusage_error"] = str(exc)
            print(f"ccusage unavailable: {exc}")

    # ---- cchooks
    if cold_run is not None:
        while len(colds) < a.cold_runs:
            cold_run()
        cold = {**summarize(colds), "samples_s": [c["wall_s"] for c in colds]}
        got, err = parsed_or_error(colds[-1])
        if got:
            parsed["cchooks_cold"] = got
            cold["totals"] = got["totals"]
            cold["vs_expected"] = compare(got, exp)
            cold["ledger_bytes"] = sum(p.stat().st_size for p in tmp.glob("ledger.db*"))
        else:
            cold["error"] = err
        res["cchooks_cold"] = cold
        if got:
            while len(warms) < a.warm_runs:
                warms.append(run_measured(argv_r, env))
            warm = {**summarize(warms), "interleaved": bool(a.interleave_warm), "samples_s": [w["wall_s"] for w in warms]}
            wgot, werr = parsed_or_error(warms[-1])
            if wgot:
                parsed["cchooks_warm"] = wgot
                warm["totals"] = wgot["totals"]
                warm["same_as_cold"] = all(wgot["totals"].get(k) == got["totals"].get(k) for k in TOKEN_KEYS)
            else:
                warm["error"] = werr
            res["cchooks_warm"] = warm
            print(f"cchooks warm: p50 {warm['wall_p50_s']:.3f}s p95 {warm['wall_p95_s']:.3f}s")
            if a.append_runs:
                res["cchooks_append"] = bench_append(corpus, argv_r, env, got, a.append_runs)
                ap_ = res["cchooks_append"]
                print(f"cchooks append+report: p50 {ap_['wall_p50_s']:.3f}s p95 {ap_['wall_p95_s']:.3f}s, "
                      f"delta exact: {ap_.get('delta_exact')}")
    if a.keep:
        res["ledger_dir"] = str(tmp)
        print(f"ledger kept in {tmp}")
    else:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)

    # ---- cross-checks, table, ratios
    if "ccusage" in parsed and "cchooks_cold" in parsed:
        res["cchooks_vs_ccusage"] = compare(parsed["cchooks_cold"], parsed["ccusage"])
    res["ratios"] = ratios(res)
    table = markdown(res)
    print()
    print(table)
    res["markdown"] = table
    p = write_result("bench-" + corpus.name, res, a.out_dir or (Path(__file__).resolve().parent / "out"))
    print(f"\nresults: {p}")
    return 0


def bench_append(corpus: Path, argv_r: list[str], env: dict[str, str], base: dict[str, Any], runs: int) -> dict[str, Any]:
    d = corpus / "projects" / SCRATCH_PROJECT
    d.mkdir(exist_ok=True)
    path = d / f"00000000-bench-4000-8000-{os.getpid():012d}.jsonl"
    added = [0, 0, 0, 0]
    samples = []
    last = None
    try:
        for i in range(runs):
            ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
            u = append_response(path, i, ts)
            for k in range(4):
                added[k] += u[k]
            last = run_measured(argv_r, env)
            samples.append(last)
    finally:
        try:
            path.unlink()
            d.rmdir()
        except OSError:
            pass
    out: dict[str, Any] = {**summarize(samples), "samples_s": [s["wall_s"] for s in samples],
                           "appended": dict(zip(("input_tokens", "output_tokens", "cache_creation_tokens",
                                                 "cache_read_tokens"), added, strict=True))}
    got, err = parsed_or_error(last) if last else (None, "no run")
    if got:
        delta = {k: (got["totals"].get(k) or 0) - (base["totals"].get(k) or 0) for k in TOKEN_KEYS}
        out["delta"] = delta
        out["delta_exact"] = delta == out["appended"]
    else:
        out["error"] = err
    return out


def ratios(res: dict[str, Any]) -> dict[str, Any]:
    cc = res.get("ccusage_daily") or {}
    out: dict[str, Any] = {}
    for name in ("cchooks_cold", "cchooks_warm", "cchooks_append"):
        r = res.get(name)
        if not r or not cc.get("wall_p50_s"):
            continue
        out[name + "/ccusage_wall"] = round(r["wall_p50_s"] / cc["wall_p50_s"], 3)
        if r.get("maxrss_mb") and cc.get("maxrss_mb"):
            out[name + "/ccusage_rss"] = round(r["maxrss_mb"] / cc["maxrss_mb"], 3)
    cold, ccs = (res.get("cchooks_cold") or {}).get("samples_s"), cc.get("samples_s")
    if cold and ccs and len(cold) == len(ccs):
        # Each cold run follows its ccusage run: the median of the pairs' ratios.
        pairs = sorted(a / b for a, b in zip(cold, ccs, strict=True))
        mid = len(pairs) // 2
        out["cchooks_cold_pairs/ccusage_wall"] = round(
            pairs[mid] if len(pairs) % 2 else (pairs[mid - 1] + pairs[mid]) / 2, 3)
    return out


def _fmt_tokens(t: dict[str, Any] | None) -> list[str]:
    if not t:
        return ["-"] * 5
    cost = t.get("cost_usd")
    return [f"{t.get(k, 0):,}" for k in TOKEN_KEYS] + [f"{cost:,.2f}" if isinstance(cost, int | float) else "-"]


def markdown(res: dict[str, Any]) -> str:
    head = ("| run | wall p50 s | wall p95 s | runs | peak RSS MB | input | output | cache create | cache read "
            "| cost $ | = expected |")
    lines = [head, "|" + "---|" * 11]
    exp = res.get("expected")
    if exp:
        e = {"input_tokens": exp["input_tokens"], "output_tokens": exp["output_tokens"],
             "cache_creation_tokens": exp["cache_creation_input_tokens"],
             "cache_read_tokens": exp["cache_read_input_tokens"], "cost_usd": exp.get("cost_usd")}
        lines.append("| expected.json | | | | | " + " | ".join(_fmt_tokens(e)) + " | |")
    for name, label in (("ccusage_daily", "ccusage daily"), ("cchooks_cold", "cchooks cold backfill"),
                        ("cchooks_warm", "cchooks warm report"), ("cchooks_append", "cchooks append+report"),
                        ("ccusage_statusline", "ccusage statusline --no-cache")):
        r = res.get(name)
        if not r:
            continue
        ve = r.get("vs_expected") or {}
        eq = ("yes" if ve.get("tokens_equal") else "NO " + json.dumps(ve.get("diff"))) if ve.get("diff") else ""
        if name == "cchooks_warm" and "same_as_cold" in r:
            eq = "same as cold" if r["same_as_cold"] else "DIFFERS from cold"
        if name == "cchooks_append" and "delta_exact" in r:
            eq = "delta exact" if r["delta_exact"] else "delta WRONG " + json.dumps(r.get("delta"))
        toks = _fmt_tokens(r.get("totals")) if name in ("ccusage_daily", "cchooks_cold", "cchooks_warm") else ["-"] * 5
        if "error" in r:
            eq = "ERROR"
        lines.append(f"| {label} | {r['wall_p50_s']:.3f} | {r['wall_p95_s']:.3f} | {r['runs']} | {r['maxrss_mb']:.0f} | "
                     + " | ".join(toks) + f" | {eq} |")
    if res.get("ratios"):
        lines.append("")
        lines.append("cchooks / ccusage: " + ", ".join(f"{k.replace('/ccusage', '')} {v}x" for k, v in res["ratios"].items()))
    x = res.get("cchooks_vs_ccusage")
    if x:
        lines.append(f"cchooks vs ccusage tokens: {'equal' if x['tokens_equal'] else json.dumps(x['diff'])}, "
                     f"days differing: {x['days_differing']}, cost diff ${x['cost_diff_usd']}")
    cc = res.get("ccusage_daily") or {}
    if cc.get("unpriced_models"):
        lines.append(f"ccusage prices none of {cc['unpriced_models']} (cost shown without them)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
