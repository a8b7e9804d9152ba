#!/usr/bin/env python3
"""Two (or more) checkouts' hook and statusline processes, side by side, as paired ratios.

    python benchmarks/bench_hot_ab.py --root /tmp/wt-before --root . [--rounds 60] [--responses 200000]

On a shared machine the interpreter floor itself moves by 2x from one hour to the next, so a
change of a millisecond or two cannot be seen by comparing two runs of `bench_statusline.py`.
Here every round runs, back to back: `python -S -c pass` (the floor), then each root's cases
(the roots in turn, in reverse every other round). What is reported per root and case is the p50 wall time, the **paired ratio** (the median
over rounds of time / that round's floor) and, against the first root, the **paired difference**
(the median over rounds of time - the first root's time in the same round), with its quartiles.

Each root is a checkout (a `git worktree` of another commit, say) run by the launcher
`cchooks install` writes, with this interpreter and its site-packages (the development venv,
where cchooks is installed editable: `python -S` ignores the editable hook, so each launcher
imports its own root's cchooks):
`python -S <root>/cchooks/hot.py --sys-path <site-packages> statusline | hook PostToolUse`.
Bytecode of every root is compiled first. The cases, on the year ledger `bench_statusline.py`
builds (same builder, same payload):

* `statusline +1`: one new assistant response appended to the session before the run;
* `hook +1`: the same for `hook PostToolUse` (its usual run: a tool call follows a response);
* `statusline steady`: nothing new in the session, the ledger written by the other cases.

Each root has its own copy of the year ledger and of the appended session, so that what one
root's processes leave behind (a write-ahead log, a render cache) meets only that root's next
process, and every +1 case reads exactly one new response. Besides p50 the mean is printed: a
change that does some work only every few runs (a checkpoint) shows there.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import hot_fixtures as fx  # noqa: E402

CASES = ("statusline +1", "hook +1", "statusline steady")


# Where a root's ledger is, under its home (the default ledger of its environment).
LEDGER = Path(".local", "share", "cchooks", "ledger.sqlite3")


def launcher(root: Path, words: list[str]) -> list[str]:
    """The installed command's words with the launcher of `root` in place of this interpreter's."""
    tail = os.sep + os.path.join("cchooks", "hot.py")
    if not any(w.endswith(tail) for w in words):
        raise SystemExit(f"bench_hot_ab: the installed command has no hot.py launcher here: {shlex.join(words)}")
    return [str(root / "cchooks" / "hot.py") if w.endswith(tail) else w for w in words]


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return q[0], q[1], q[2]


def _root_setup(home_dir: Path, built: Path) -> tuple[dict[str, str], dict[str, bytes], fx.Appender]:
    """One root's environment (its own ledger, a copy of `built`), stdin per case, and appender."""
    home = home_dir / "home"
    env = fx.run_env(home)
    ledger = home_dir / "home" / LEDGER
    ledger.parent.mkdir(parents=True)
    shutil.copy(built, ledger)
    claude = home_dir / "claude"
    shutil.copytree(fx.FIXTURE_CONFIG, claude)
    steady = fx.fixture_payload(claude)
    session = Path(json.loads(steady)["transcript_path"])
    app_dir = claude / "projects" / "-tmp-ccwork-append"
    app_dir.mkdir()
    appended = app_dir / session.name
    shutil.copy(session, appended)
    app_payload = json.loads(steady)
    app_payload["transcript_path"] = str(appended)
    hook_stdin = json.dumps({"session_id": app_payload["session_id"], "transcript_path": str(appended),
                             "hook_event_name": "PostToolUse", "tool_name": "Bash"}).encode()  # fmt: skip
    inputs = {"statusline +1": json.dumps(app_payload).encode(), "hook +1": hook_stdin, "statusline steady": steady}
    return env, inputs, fx.Appender(appended, tag="ab")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, action="append", required=True, help="a checkout (repeat; the first is the base)")
    ap.add_argument("--rounds", type=int, default=60, help="measured rounds, at least 1")
    ap.add_argument("--responses", type=int, default=200_000)
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args(argv)
    if a.rounds < 1 or a.responses < 1 or a.sessions < 1:
        ap.error("--rounds, --responses and --sessions must be at least 1")
    roots = [r.resolve() for r in a.root]
    for r in roots:
        if not (r / "cchooks" / "hot.py").is_file():
            print(f"bench_hot_ab: {r} is not a cchooks checkout (no cchooks/hot.py)", file=sys.stderr)
            return 2
    py = sys.executable
    src_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for r in roots:
        subprocess.run([py, "-m", "compileall", "-q", str(r / "cchooks")], env=src_env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip

    work = Path(tempfile.mkdtemp(prefix="cchooks-bench-ab-"))
    try:
        # Each root gets its own copy of the ledger and of the session it appends to: a root's
        # process then meets only what its own earlier runs left (its write-ahead log, say),
        # and reads exactly one new response per +1 case.
        print(f"building the year ledger ({a.responses:,} responses) ...", file=sys.stderr)
        built = work / "year.sqlite3"
        # By the first root's code (imported before hot_fixtures puts this checkout on the path),
        # so that its schema is the oldest: a newer root migrates its copy in the warm-up rounds,
        # where an older one could not open a newer ledger.
        build = (f"import sys; sys.path[:0] = [{str(roots[0])!r}, {str(Path(__file__).resolve().parent)!r}];"
                 " import cchooks.ledger.store, hot_fixtures as fx, time;"
                 f" fx.build_year_ledger(__import__('pathlib').Path({str(built)!r}), {a.responses}, {a.sessions},"
                 " 365, int(time.time() * 1000))")  # fmt: skip
        subprocess.run([py, "-c", build], env=src_env, check=True)
        from cchooks.installers import settings as st

        prefix = st.command_prefix(py)
        statusline = shlex.split(st.statusline_command(prefix))
        hook = shlex.split(st.hook_command(prefix, "PostToolUse"))
        setups = [_root_setup(work / f"root{i}", built) for i in range(len(roots))]
        floor: list[float] = []
        times: dict[tuple[int, str], list[float]] = {(i, c): [] for i in range(len(roots)) for c in CASES}
        failures = 0

        def timed(cmd: list[str], stdin: bytes, env: dict[str, str] | None = None) -> float:
            nonlocal failures
            t0 = time.perf_counter()
            r = subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=600)
            wall = (time.perf_counter() - t0) * 1000
            failures += r.returncode != 0
            return wall

        for n in range(a.rounds + 2):  # two warm-up rounds, not recorded
            f = timed([py, "-S", "-c", "pass"], b"", setups[0][0])
            row: dict[tuple[int, str], float] = {}
            # Each root runs its three cases in a row (its own writes come before its steady
            # refresh, so no root reuses another's render), roots in turn and every other round
            # in reverse, so that running first or last in a round favours none of them.
            order = list(enumerate(roots))
            for i, root in order if n % 2 == 0 else order[::-1]:
                env, inputs, append = setups[i]
                for case in CASES:
                    words = statusline if case.startswith("statusline") else hook
                    if case.endswith("+1"):
                        append()
                    row[(i, case)] = timed(launcher(root, words), inputs[case], env)
            if n >= 2:
                floor.append(f)
                for k, v in row.items():
                    times[k].append(v)
        # Every root must have recorded every response appended for it (a hook that fails exits 0).
        for i, (_env, _inputs, append) in enumerate(setups):
            db = sqlite3.connect(f"file:{work / f'root{i}' / 'home' / LEDGER}?mode=ro", uri=True)
            got = db.execute("SELECT count(*) FROM responses WHERE message_id GLOB ?", (f"msg_{append.tag}_*",))
            n = got.fetchone()[0]
            db.close()
            if n != append.n:
                print(f"bench_hot_ab: {roots[i]} recorded {n} of {append.n} appended responses", file=sys.stderr)
                failures += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    fl = statistics.median(floor)
    print(f"{a.rounds} rounds; python -S -c pass p50 {fl:.1f} ms; failures {failures}")
    print("| case | root | p50 ms | mean ms | paired ratio to the floor | paired difference to the first root, ms (quartiles) |")
    print("|---|---|---|---|---|---|")
    result: dict[str, object] = {"rounds": a.rounds, "floor_p50_ms": round(fl, 2), "failures": failures, "cases": []}
    for case in CASES:
        base = times[(0, case)]
        for i, root in enumerate(roots):
            xs = times[(i, case)]
            ratio = statistics.median(x / f for x, f in zip(xs, floor, strict=True))
            diff = "" if i == 0 else "{:+.2f} ({:+.2f} .. {:+.2f})".format(
                *(lambda q: (q[1], q[0], q[2]))(quartiles([x - b for x, b in zip(xs, base, strict=True)]))
            )
            print(f"| {case} | {root} | {statistics.median(xs):.1f} | {statistics.fmean(xs):.1f} | {ratio:.2f}x | {diff} |")
            result["cases"].append({"case": case, "root": str(root), "p50_ms": round(statistics.median(xs), 2),  # type: ignore[attr-defined]
                                    "mean_ms": round(statistics.fmean(xs), 2),
                                    "paired_ratio": round(ratio, 3)})  # fmt: skip
    if a.json:
        a.json.write_text(json.dumps(result, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
