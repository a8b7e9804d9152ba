#!/usr/bin/env python3
"""Install and time ccusage (the reference tool) on a corpus made by gen_corpus.py.

    python benchmarks/ccusage.py install
    python benchmarks/ccusage.py daily CORPUS [--runs 1] [--form claude|all|both]
    python benchmarks/ccusage.py statusline CORPUS [--runs 20] [--transcript live|largest|PATH]
    python benchmarks/ccusage.py all CORPUS

ccusage 20.0.24 is the newest version whose linux-x64 native package is on npm (20.0.26 has none
and does not start on Linux x64). It is installed with npm into benchmarks/.tools/ccusage-<version>/
(git-ignored) when missing. The npm package is a small node launcher that spawns a native binary.

Every run gets CLAUDE_CONFIG_DIR=<corpus>, an empty HOME (and XDG dirs inside it, so no other
agent's data is found), TZ=UTC, and a clean environment. `daily` runs
`ccusage claude daily --json --offline -z UTC` (form "claude") and/or
`ccusage daily --json --offline -z UTC` (form "all": every agent ccusage knows; only Claude data
exists here). `statusline` runs `ccusage claude statusline --offline --no-cache` (its file/time
cache is on by default; --no-cache turns it off) with a Claude Code 2.1.330 statusline payload
on stdin whose transcript_path points into the corpus, and reports p50/p95 wall time.
Wall time, CPU and peak RSS come from wait4() of each isolated run. Results go to
benchmarks/out/ccusage-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import (  # noqa: E402
    HERE,
    clean_env,
    compare,
    load_expected,
    parse_report,
    prewarm,
    run_measured,
    summarize,
    write_result,
)

DEFAULT_VERSION = os.environ.get("CCUSAGE_VERSION", "20.0.24")
TOOLS = HERE / ".tools"

# Shape of a real Claude Code 2.1.330 statusline payload
# (shared/fixtures/claude-code-2.1.330/scenarios/interactive/statusline-raw/0003-statusline.json);
# session, paths and model are filled in per corpus.
PAYLOAD_TEMPLATE: dict[str, Any] = {
    "session_id": "", "transcript_path": "", "cwd": "", "prompt_id": "cb7c0512-8fe5-40bd-afb2-5420bcc692c6",
    "effort": {"level": "medium"}, "model": {"id": "", "display_name": ""},
    "workspace": {"current_dir": "", "project_dir": "", "added_dirs": []}, "version": "2.1.330",
    "output_style": {"name": "default"},
    "cost": {"total_cost_usd": 0.106218, "total_duration_ms": 16203, "total_api_duration_ms": 617,
             "total_lines_added": 0, "total_lines_removed": 0},
    "context_window": {"total_input_tokens": 36355, "total_output_tokens": 1350, "context_window_size": 200000,
                       "current_usage": {"input_tokens": 5675, "output_tokens": 785,
                                         "cache_creation_input_tokens": 4005, "cache_read_input_tokens": 32005},
                       "used_percentage": 18, "remaining_percentage": 82},
    "exceeds_200k_tokens": False, "fast_mode": False, "thinking": {"enabled": True},
}  # fmt: skip
DISPLAY = {"opus-5-5": "Opus 5.5", "opus-4-5": "Opus 4.5", "opus-4-1": "Opus 4.1", "sonnet-4-5": "Sonnet 4.5",
           "haiku-4-5": "Haiku 4.5"}


def prefix_for(version: str) -> Path:
    return TOOLS / f"ccusage-{version}"


def ensure(version: str = DEFAULT_VERSION, quiet: bool = False) -> Path:
    """Path of the `ccusage` launcher, installed with npm if missing or of another version."""
    prefix = prefix_for(version)
    launcher = prefix / "node_modules" / ".bin" / "ccusage"
    pkg = prefix / "node_modules" / "ccusage" / "package.json"
    try:
        if launcher.exists() and json.loads(pkg.read_text())["version"] == version:
            return launcher
    except (OSError, ValueError, KeyError):
        pass
    if not shutil.which("npm"):
        raise SystemExit("npm not found: install Node.js (apt-get install -y nodejs npm)")
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    cmd = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-save", f"ccusage@{version}"]
    if not quiet:
        print("+ " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    native = prefix / "node_modules" / "@ccusage" / "ccusage-linux-x64" / "bin" / "ccusage"
    if sys.platform == "linux" and os.uname().machine == "x86_64" and not native.exists():
        raise SystemExit(f"ccusage {version} installed without its linux-x64 native package; use 20.0.24")
    return launcher


def daily(corpus: Path, launcher: Path, form: str = "claude", runs: int = 1,
          expected: dict[str, Any] | None = None,
          after_each: Callable[[], None] | None = None) -> dict[str, Any]:
    """`runs` timed runs of ccusage daily; `after_each` runs after each one (the bench interleaves
    the other tool's runs this way, so both see the same machine conditions)."""
    argv = ([str(launcher), "claude", "daily"] if form == "claude" else [str(launcher), "daily"]) + [
        "--json", "--offline", "-z", "UTC"]
    results = []
    with tempfile.TemporaryDirectory(prefix="ccusage-home-") as home:
        env = clean_env(Path(home), corpus)
        for _ in range(runs):
            results.append(run_measured(argv, env))
            if after_each is not None:
                after_each()
    last = results[-1]
    out: dict[str, Any] = {"command": " ".join(["ccusage", *argv[1:]]), "form": form, **summarize(results),
                           "samples_s": [r["wall_s"] for r in results]}
    if last["rc"] != 0:
        out["error"] = last["stderr"][-2000:]
        return out
    try:
        parsed = parse_report(last["stdout"])
    except ValueError as exc:
        out["error"] = f"unparsable output: {exc}"
        return out
    raw = json.loads(last["stdout"])
    out["totals"] = parsed["totals"]
    out["unpriced_models"] = (raw.get("totals") or {}).get("unpricedModels", [])
    out["days"] = len(parsed["by_day"])
    out["vs_expected"] = compare(parsed, expected)
    out["_parsed"] = parsed
    return out


def pick_transcript(corpus: Path, which: str) -> tuple[Path, dict[str, Any] | None]:
    exp_p = corpus / "expected.json"
    exp = json.loads(exp_p.read_text()) if exp_p.exists() else {}
    if which == "live" and exp.get("live_session"):
        live = exp["live_session"]
        return corpus / live["transcript_path"], live
    if which in ("live", "largest"):
        files = [p for p in (corpus / "projects").glob("*/*.jsonl")]
        return max(files, key=lambda p: p.stat().st_size), None
    return Path(which), None


def payload_for(transcript: Path, live: dict[str, Any] | None) -> bytes:
    p = json.loads(json.dumps(PAYLOAD_TEMPLATE))
    sid = transcript.stem
    cwd = (live or {}).get("cwd")
    model = (live or {}).get("model")
    if cwd is None or model is None:
        with open(transcript, encoding="utf-8") as f:
            for line in f:
                if '"cwd"' in line and '"model"' in line:
                    d = json.loads(line)
                    cwd = cwd or d.get("cwd")
                    model = model or (d.get("message") or {}).get("model")
                    if cwd and model:
                        break
    cwd = cwd or "/home/dev/src"
    model = model or "claude-sonnet-4-5-20250929"
    p["session_id"] = sid
    p["transcript_path"] = str(transcript)
    p["cwd"] = cwd
    p["workspace"]["current_dir"] = p["workspace"]["project_dir"] = cwd
    p["model"] = {"id": model, "display_name": next((v for k, v in DISPLAY.items() if k in model), model)}
    return json.dumps(p).encode()


def statusline(corpus: Path, launcher: Path, runs: int = 20, transcript: str = "live",
               cost_source: str | None = None) -> dict[str, Any]:
    path, live = pick_transcript(corpus, transcript)
    stdin = payload_for(path, live)
    argv = [str(launcher), "claude", "statusline", "--offline", "--no-cache"]
    if cost_source:
        argv += ["--cost-source", cost_source]
    results = []
    with tempfile.TemporaryDirectory(prefix="ccusage-home-") as home:
        env = clean_env(Path(home), corpus)
        for _ in range(runs):
            results.append(run_measured(argv, env, stdin=stdin))
    return {
        "command": " ".join(["ccusage", *argv[1:]]) + " < payload.json",
        "transcript": str(path), "transcript_bytes": path.stat().st_size, **summarize(results),
        "samples_s": [r["wall_s"] for r in results],
        "output": results[-1]["stdout"].strip()[:500], "stderr": results[-1]["stderr"].strip()[:500],
    }


def version_of(launcher: Path) -> str:
    with tempfile.TemporaryDirectory() as home:
        r = subprocess.run([str(launcher), "--version"], env=clean_env(Path(home), None), capture_output=True,
                           text=True, timeout=60)
    return (r.stdout or r.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["install", "daily", "statusline", "all"])
    ap.add_argument("corpus", nargs="?", type=Path)
    ap.add_argument("--version", default=DEFAULT_VERSION, help="ccusage version (default %(default)s)")
    ap.add_argument("--runs", type=int, default=None, help="daily: 1, statusline: 20 (default)")
    ap.add_argument("--form", choices=["claude", "all", "both"], default="claude")
    ap.add_argument("--transcript", default="live", help="statusline: live (expected.json), largest, or a path")
    ap.add_argument("--cost-source", default=None, help="statusline: auto|ccusage|cc|both (ccusage's default: auto)")
    ap.add_argument("--no-prewarm", action="store_true")
    a = ap.parse_args(argv)
    launcher = ensure(a.version)
    if a.what == "install":
        print(launcher)
        return 0
    if a.corpus is None:
        ap.error("CORPUS is required")
    corpus = a.corpus.resolve()
    res: dict[str, Any] = {"tool": "ccusage", "version": version_of(launcher), "corpus": str(corpus)}
    if not a.no_prewarm:
        res["prewarm_s"] = round(prewarm(corpus), 2)
    exp = load_expected(corpus)
    if a.what in ("daily", "all"):
        forms = ["claude", "all"] if a.form == "both" or a.what == "all" else [a.form]
        for form in forms:
            r = daily(corpus, launcher, form, a.runs or 1, exp)
            r.pop("_parsed", None)
            res[f"daily_{form}"] = r
            print(f"{r['command']}: p50 {r['wall_p50_s']:.2f}s, peak RSS {r['maxrss_mb']:.0f} MB, "
                  f"tokens vs expected: {r.get('vs_expected', {}).get('diff', r.get('error'))}")
    if a.what in ("statusline", "all"):
        r = statusline(corpus, launcher, a.runs or 20, a.transcript, a.cost_source)
        res["statusline"] = r
        print(f"{r['command']}: p50 {r['wall_p50_s']:.3f}s p95 {r['wall_p95_s']:.3f}s over {r['runs']} runs, "
              f"peak RSS {r['maxrss_mb']:.0f} MB -> {r['output']!r}")
    p = write_result("ccusage-" + corpus.name, res)
    print(f"results: {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
