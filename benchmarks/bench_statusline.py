#!/usr/bin/env python3
"""Wall time of the whole `cchooks statusline` (and hook) process, as Claude Code runs it.

    python benchmarks/bench_statusline.py [--runs 60] [--corpus DIR | --corpus-mb 100] [--no-ccusage]

What it builds (in a temporary work dir, removed afterwards unless --keep):

* a **year ledger**: ~200,000 responses over 365 days across ~2,000 sessions (mixed models,
  subagents, projects; the last session still running, so today / the last hour / the current
  5-hour block hold data), inserted directly with `Ledger.upsert_records`, at the default ledger
  location (`$XDG_DATA_HOME/cchooks/ledger.sqlite3`, so the run resolves it like a real install);
* a payload: the real Claude Code 2.1.330 statusline payload `fixtures/statusline/0005-statusline.json`
  with `transcript_path` pointing at a copy of that session's real transcript (and subagents).

The commands are exactly what `cchooks install` writes into settings.json with this interpreter
(`cchooks.installers.commands.command_prefix`, i.e. the `python -S …/cchooks/hot.py` launcher when it
works here, see cchooks/launch_hot.py), split into words as the shell would.

Measured, interleaved round-robin so machine noise hits every row alike (after 3 warm-up runs each):

* `python -c pass` and `python -S -c pass`: the interpreter floors on this machine, same environment
  (with and without `site`, which processes site-packages' .pth files);
* `statusline` steady via `python -m cchooks`: the pre-launcher command form, for reference;
* `statusline` steady: the transcript unchanged since the last refresh, but the ledger written by
  the other cases in between, so every run reads the ledger and renders;
* `statusline` +1 response: one new assistant line appended before each run (ingests new bytes);
* `statusline` rate_limits: the payload carries official `rate_limits` (snapshot dedupe path);
* `hook PostToolUse`: the hook hot path on the same ledger, steady and with one new response
  appended before each run (its usual case: a tool call follows a response);
* after that loop, alone: the statusline refreshed with nothing changed at all (the previous
  render is reused, see cchooks.statusline.cache) and the hook with nothing new, each against
  its own interpreter floor;
* against ccusage (if `benchmarks/.tools/ccusage-20.0.24` is installed, see benchmarks/ccusage.py):
  `ccusage claude statusline --offline --no-cache` (its cache disabled) and a cache hit (its cache on,
  filled by an unmeasured run just before: it expires after 1 s), and
  `cchooks statusline` on a ledger ingested from the same corpus, with the same payload
  (the corpus' live session), measured in the same loop; ratios = ccusage / cchooks.

Then one `python -X importtime` run lists the modules the statusline imports beyond a bare
interpreter. Results go to benchmarks/out/statusline.json and a markdown table on stdout.
Bytecode is compiled first and PYTHONDONTWRITEBYTECODE is dropped for the runs: installed
packages always have their .pyc, and measuring the compiler would be measuring the wrong thing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out" / "statusline.json"
CCUSAGE = HERE / ".tools" / "ccusage-20.0.24" / "node_modules" / ".bin" / "ccusage"
TARGET_P50_MS, TARGET_P95_MS = 50.0, 80.0

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

# The fixtures, also importable from here (tests take Appender from this module).
from hot_fixtures import FIXTURE_CONFIG, Appender, build_year_ledger, fixture_payload, run_env  # noqa: E402,F401

# -- measuring --------------------------------------------------------------------------------------


class Case:
    def __init__(
        self,
        name: str,
        cmd: list[str],
        stdin: bytes,
        env: dict[str, str],
        before: Any = None,
        group: str = "year",
    ) -> None:
        self.name, self.cmd, self.stdin, self.env, self.before, self.group = (
            name,
            cmd,
            stdin,
            env,
            before,
            group,
        )
        self.samples: list[float] = []
        self.output = ""
        self.failures = 0

    def once(self, record: bool = True) -> None:
        if self.before is not None:
            self.before()
        t0 = time.perf_counter()
        r = subprocess.run(self.cmd, input=self.stdin, capture_output=True, env=self.env, timeout=600)
        wall = (time.perf_counter() - t0) * 1000
        if r.returncode != 0:
            self.failures += 1
        self.output = r.stdout.decode("utf-8", "replace").strip()
        if record:
            self.samples.append(wall)

    def stats(self) -> dict[str, Any]:
        s = sorted(self.samples)
        if not s:
            return {"runs": 0}

        def q(p: float) -> float:
            k = (len(s) - 1) * p
            lo = int(k)
            hi = min(lo + 1, len(s) - 1)
            return s[lo] + (s[hi] - s[lo]) * (k - lo)

        return {
            "runs": len(s),
            "p50_ms": round(q(0.5), 1),
            "p95_ms": round(q(0.95), 1),
            "min_ms": round(s[0], 1),
            "max_ms": round(s[-1], 1),
            "mean_ms": round(statistics.fmean(s), 1),
            "failures": self.failures,
            "output": self.output[:300],
        }


def measure(cases: list[Case], runs: int, warmup: int = 3) -> None:
    for c in cases:
        for _ in range(warmup):
            c.once(record=False)
    order = list(cases)
    rng = random.Random(1)
    for i in range(runs):
        rng.shuffle(order)
        for c in order:
            if c.group.startswith("ccusage") and i >= max(5, runs // 4):
                continue  # seconds each (the cache hit needs a priming run); fewer runs are enough
            c.once()


def measure_served(
    py: str, env: dict[str, str], work: Path, statusline: list[str], steady: bytes,
    app_payload: dict[str, Any], app_transcript: Path, runs: int, result: dict[str, Any],
) -> list[Case]:  # fmt: skip
    """The statusline while `cchooks serve` runs (same environment and ledger): the command hands
    each refresh to the daemon (cchooks.statusline.delegate). Its own floor, steady and +1 cases."""
    port_file = work / "serve.port"
    serve = subprocess.Popen(
        [py, "-m", "cchooks", "serve", "--port", "0", "--port-file", str(port_file), "--no-watch"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(600):
            if port_file.exists() or serve.poll() is not None:
                break
            time.sleep(0.05)
        if not port_file.exists():
            result["served"] = "cchooks serve did not start"
            return []
        cases = [
            Case("python -S -c pass (floor, serve phase)", [py, "-S", "-c", "pass"], b"", env, group="floor"),
            Case("cchooks statusline, steady, served by cchooks serve", statusline, steady, env, group="served"),
            Case("cchooks statusline, +1 response/run, served by cchooks serve", statusline,
                 json.dumps(app_payload).encode(), env, before=Appender(app_transcript, "served"),
                 group="served"),  # fmt: skip
        ]
        measure(cases, runs)
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port_file.read_text()}/api/status", timeout=30) as r:
            result["served"] = json.loads(r.read())["statusline"]
        return cases
    finally:
        serve.terminate()
        serve.wait(60)


def import_profile(cmd: list[str], stdin: bytes, env: dict[str, str]) -> dict[str, Any]:
    """Modules the command imports beyond a bare interpreter, by self time (one -X importtime run)."""

    def parse(text: str) -> list[tuple[str, int, int]]:
        rows = []
        for line in text.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            parts = line[len("import time:") :].split("|")
            try:
                rows.append((parts[2].strip(), int(parts[0]), int(parts[1])))
            except ValueError:
                continue
        return rows

    flags = ["-S"] if "-S" in cmd[1:2] else []  # the bare interpreter with the command's own flags
    base = parse(
        subprocess.run(
            [cmd[0], *flags, "-X", "importtime", "-c", "pass"], capture_output=True, env=env, text=True
        ).stderr
    )
    ours = parse(
        subprocess.run(
            [cmd[0], "-X", "importtime", *cmd[1:]], input=stdin, capture_output=True, env=env
        ).stderr.decode()
    )
    seen = {name for name, _, _ in base}
    extra = [(n, s, c) for n, s, c in ours if n not in seen]
    extra.sort(key=lambda r: -r[1])
    names = [n for n, _, _ in extra]
    return {
        "modules_beyond_interpreter": len(extra),
        "self_ms_beyond_interpreter": round(sum(s for _, s, _ in extra) / 1000, 1),
        "top_by_self_ms": [
            {"module": n, "self_ms": round(s / 1000, 2), "cumulative_ms": round(c / 1000, 2)}
            for n, s, c in extra[:15]
        ],
        "pydantic_imported": any(n == "pydantic" or n.startswith("pydantic.") for n in names),
        "cchooks_modules": sorted(n for n in names if n.startswith("cchooks")),
    }


# -- main -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=60, help="measured runs per case (default %(default)s)")
    ap.add_argument("--responses", type=int, default=200_000)
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--corpus", type=Path, help="an existing gen_corpus.py corpus for the ccusage comparison")
    ap.add_argument(
        "--corpus-mb", type=float, default=100.0, help="size of the corpus to generate without --corpus"
    )
    ap.add_argument("--no-ccusage", action="store_true", help="skip the ccusage comparison")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--no-serve", action="store_true", help="skip the phase with `cchooks serve` running")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)

    py = sys.executable
    work = Path(tempfile.mkdtemp(prefix="cchooks-bench-statusline-"))
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        },
        "targets_ms": {"p50": TARGET_P50_MS, "p95": TARGET_P95_MS},
    }
    try:
        src_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run(
            [py, "-m", "compileall", "-q", str(REPO / "cchooks")],
            env=src_env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

        home = work / "home"
        env = run_env(home)
        ledger = home / ".local" / "share" / "cchooks" / "ledger.sqlite3"  # platformdirs' default on Linux
        now_ms = int(time.time() * 1000)
        print(
            f"building the year ledger ({a.responses:,} responses, {a.sessions:,} sessions) ...",
            file=sys.stderr,
        )
        result["year_ledger"] = build_year_ledger(ledger, a.responses, a.sessions, a.days, now_ms)
        claude = work / "claude"
        shutil.copytree(FIXTURE_CONFIG, claude)
        transcript = claude / "projects" / "-tmp-ccwork-proj" / "bbe7d8d4-7b54-40f3-a9b2-45f3ad620b22.jsonl"
        # The appending case gets its own copy of the session folder name so both cases stay independent.
        app_dir = claude / "projects" / "-tmp-ccwork-append"
        app_dir.mkdir()
        app_transcript = app_dir / transcript.name
        shutil.copy(transcript, app_transcript)
        steady = fixture_payload(claude)
        app_payload = json.loads(steady)
        app_payload["transcript_path"] = str(app_transcript)
        # And the hook's: after a tool call there is usually a new response to record.
        hook_dir = claude / "projects" / "-tmp-ccwork-hook"
        hook_dir.mkdir()
        hook_transcript = hook_dir / transcript.name
        shutil.copy(transcript, hook_transcript)
        from cchooks.installers import settings as st

        prefix = st.command_prefix(py)  # what `cchooks install` writes
        statusline = shlex.split(st.statusline_command(prefix))
        hook = shlex.split(st.hook_command(prefix, "PostToolUse"))
        result["installed_command"] = {
            "statusline": st.statusline_command(prefix),
            "hook": st.hook_command(prefix, "PostToolUse"),
        }
        hook_stdin = json.dumps(
            {"session_id": json.loads(steady)["session_id"], "transcript_path": str(transcript),
             "hook_event_name": "PostToolUse", "tool_name": "Bash"}
        ).encode()  # fmt: skip
        floor = Case("python -c pass (interpreter floor)", [py, "-c", "pass"], b"", env, group="floor")
        floor_s = Case(
            "python -S -c pass (floor without site)", [py, "-S", "-c", "pass"], b"", env, group="floor"
        )
        cases = [
            floor,
            floor_s,
            Case("cchooks statusline, steady (nothing new to read; renders, as others wrote)", statusline, steady, env),
            Case(
                "cchooks statusline, +1 response/run",
                statusline,
                json.dumps(app_payload).encode(),
                env,
                before=Appender(app_transcript),
            ),  # fmt: skip
            Case("cchooks statusline, official rate_limits", statusline, fixture_payload(claude, True), env),
            Case("cchooks hook PostToolUse, steady", hook, hook_stdin, env),
            Case(
                "cchooks hook PostToolUse, +1 response/run",
                hook,
                json.dumps({**json.loads(hook_stdin), "transcript_path": str(hook_transcript)}).encode(),
                env,
                before=Appender(hook_transcript, "hook"),
            ),  # fmt: skip
            Case(
                "python -m cchooks statusline, steady (old form)",
                [py, "-m", "cchooks", "statusline"],
                steady,
                env,
                group="reference",
            ),
        ]

        if not a.no_ccusage and CCUSAGE.exists():
            corpus = a.corpus.resolve() if a.corpus else work / "corpus"
            if not a.corpus:
                end = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime())
                print(f"generating a {a.corpus_mb:g} MiB corpus ...", file=sys.stderr)
                subprocess.run([py, str(HERE / "gen_corpus.py"), "--out", str(corpus), "--size-mb", str(a.corpus_mb),
                                "--end", end], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            sys.path.insert(0, str(HERE))
            from ccusage import payload_for, pick_transcript

            live_path, live = pick_transcript(corpus, "live")
            corpus_payload = payload_for(live_path, live)
            chome = work / "home-corpus"
            cenv = run_env(chome, {"CLAUDE_CONFIG_DIR": str(corpus)})
            t0 = time.perf_counter()
            r = subprocess.run(
                [py, "-m", "cchooks", "ingest", "--json"], env=cenv, capture_output=True, check=True
            )
            ingest = json.loads(r.stdout)
            size = sum(p.stat().st_size for p in (corpus / "projects").rglob("*.jsonl"))
            result["corpus"] = {
                "path": str(corpus),
                "bytes": size,
                "files": ingest["files_seen"],
                "responses": ingest["responses_in_ledger"],
                "cchooks_backfill_s": round(time.perf_counter() - t0, 2),
                "live_transcript": str(live_path),
            }
            nenv = run_env(work / "home-ccusage", {"CLAUDE_CONFIG_DIR": str(corpus), "NO_COLOR": "1"})
            cases += [
                Case("cchooks statusline, same corpus", statusline, corpus_payload, cenv, group="corpus"),
                Case(
                    "ccusage statusline --no-cache",
                    [str(CCUSAGE), "claude", "statusline", "--offline", "--no-cache"],
                    corpus_payload,
                    nenv,
                    group="ccusage-nocache",
                ),  # fmt: skip
            ]
            cached = [str(CCUSAGE), "claude", "statusline", "--offline"]

            def prime() -> None:  # its cache expires after --refresh-interval (1 s): fill it right before
                subprocess.run(cached, input=corpus_payload, env=nenv, capture_output=True, timeout=600)

            cases.append(
                Case("ccusage statusline, cache hit", cached, corpus_payload, nenv, prime, "ccusage-cache")
            )
        elif not a.no_ccusage:
            result["ccusage"] = f"not installed at {CCUSAGE} (python benchmarks/ccusage.py install)"

        print(f"measuring {len(cases)} cases x {a.runs} runs ...", file=sys.stderr)
        measure(cases, a.runs)
        # Alone (nothing writes the ledger or the transcript between runs): Claude Code refreshing
        # with nothing new, which reuses the previous render (cchooks.statusline.cache). In the
        # loop above every statusline run re-renders, as the other cases write in between.
        repeat = [
            Case("python -S -c pass (floor, refresh phase)", [py, "-S", "-c", "pass"], b"", env, group="floor"),
            Case("cchooks statusline, refresh with nothing changed", statusline, steady, env, group="repeat"),
            Case("cchooks hook PostToolUse, nothing new (refresh phase)", hook, hook_stdin, env, group="repeat"),
        ]
        measure(repeat, a.runs)
        cases += repeat
        if not a.no_serve:
            cases += measure_served(py, env, work, statusline, steady, app_payload, app_transcript, a.runs, result)
        result["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        result["cases"] = {c.name: c.stats() for c in cases}
        # Against the floor of the same interpreter flags as the installed command (-S or not).
        base_case = floor_s if "-S" in statusline[1:2] else floor
        base = base_case.stats()
        ours = cases[2].stats()
        result["statusline_over_interpreter_ms"] = {
            "floor": base_case.name,
            "p50": round(ours["p50_ms"] - base["p50_ms"], 1),
            "p95": round(ours["p95_ms"] - base["p95_ms"], 1),
        }
        result["target_met"] = ours["p50_ms"] < TARGET_P50_MS and ours["p95_ms"] < TARGET_P95_MS
        # design.md's budget assumes a ~30 ms interpreter; what is ours to spend is the rest.
        over = result["statusline_over_interpreter_ms"]
        result["target_over_interpreter_ms"] = {"p50": TARGET_P50_MS - 30, "p95": TARGET_P95_MS - 30}
        result["target_over_interpreter_met"] = (
            over["p50"] < TARGET_P50_MS - 30 and over["p95"] < TARGET_P95_MS - 30
        )
        by_group = {c.group: c.stats() for c in cases if c.group.startswith(("ccusage", "corpus"))}
        if "corpus" in by_group:
            base = by_group["corpus"]
            result["ratios_ccusage_over_cchooks"] = {
                g: {
                    "p50": round(s["p50_ms"] / base["p50_ms"], 1),
                    "p95": round(s["p95_ms"] / base["p95_ms"], 1),
                }
                for g, s in by_group.items()
                if g != "corpus"
            }
        result["imports"] = import_profile(statusline, steady, env)
    finally:
        if a.keep:
            print(f"work dir kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"\nresults: {a.out}")
    return 0


def markdown(r: dict[str, Any]) -> str:
    y = r["year_ledger"]
    lines = [
        f"Year ledger: {y['responses']:,} responses, {y['sessions']:,} sessions over {y['days']} days,"
        f" {y['bytes'] / 1048576:.0f} MiB. Machine: {r['machine']['cpus']} CPUs, load {r['machine']['loadavg_before']}"
        f" -> {r['machine']['loadavg_after']}, Python {r['machine']['python']}.",
        "",
        "| case | runs | p50 ms | p95 ms | min ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in r["cases"].items():
        if s.get("runs"):
            lines.append(
                f"| {name} | {s['runs']} | {s['p50_ms']} | {s['p95_ms']} | {s['min_ms']} | {s['max_ms']} |"
            )
    o = r["statusline_over_interpreter_ms"]
    lines += [
        "",
        f"Installed statusline command: `{r['installed_command']['statusline']}`.",
        "",
        f"Statusline above the bare interpreter ({o['floor']}): p50 +{o['p50']} ms, p95 +{o['p95']} ms."
        f" Target p50 < {TARGET_P50_MS:g} ms and p95 < {TARGET_P95_MS:g} ms: {'met' if r['target_met'] else 'NOT met'};"
        f" above a 30 ms interpreter (+{TARGET_P50_MS - 30:g} / +{TARGET_P95_MS - 30:g} ms):"
        f" {'met' if r['target_over_interpreter_met'] else 'NOT met'}.",
    ]
    if isinstance(r.get("served"), dict):
        lines.append(f"With `cchooks serve` running: {r['served']['served']} refreshes served by it,"
                     f" {r['served']['declined']} declined.")  # fmt: skip
    if "corpus" in r:
        c = r["corpus"]
        lines.append(
            f"Corpus for the ccusage comparison: {c['bytes'] / 1048576:.0f} MiB, {c['files']:,} files,"
            f" {c['responses']:,} responses (cchooks backfill once: {c['cchooks_backfill_s']} s)."
        )
        for g, q in r.get("ratios_ccusage_over_cchooks", {}).items():
            lines.append(f"- {g}: {q['p50']}x cchooks' p50, {q['p95']}x its p95")
    imp = r["imports"]
    lines += [
        "",
        f"Imports beyond a bare interpreter: {imp['modules_beyond_interpreter']} modules,"
        f" {imp['self_ms_beyond_interpreter']} ms self time; pydantic imported: {imp['pydantic_imported']}.",
        "",
        "| module | self ms | cumulative ms |",
        "|---|---|---|",
    ]
    lines += [f"| {m['module']} | {m['self_ms']} | {m['cumulative_ms']} |" for m in imp["top_by_self_ms"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
