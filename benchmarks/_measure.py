"""Shared helpers of the benchmark scripts: isolated runs with wall time and peak RSS, totals
normalisation and comparison against a corpus' expected.json."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT_DIR = HERE / "out"
TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


def clean_env(
    home: Path, corpus: Path | None, extra: dict[str, str] | None = None, *, no_color: bool = True
) -> dict[str, str]:
    """A minimal environment: nothing of the caller's Claude / XDG setup leaks in (`no_color=False`:
    the statusline renders as in a terminal)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "TZ": "UTC",
        "LANG": "C.UTF-8",
    }
    if no_color:
        env["NO_COLOR"] = "1"
    for k in ("PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV", "PYTHONPATH"):
        if k in os.environ:
            env[k] = os.environ[k]
    if corpus is not None:
        env["CLAUDE_CONFIG_DIR"] = str(corpus)
    if extra:
        env.update(extra)
    return env


def run_measured(cmd: list[str], env: dict[str, str], stdin: bytes | None = None, cwd: str | None = None,
                 timeout: float = 3600.0) -> dict[str, Any]:
    """Run one command to completion; wall time from spawn to reap, peak RSS and CPU from wait4()
    (ru_maxrss is the largest of the process and the descendants it waited for)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp:
        if stdin is not None:
            inp.write(stdin)
            inp.seek(0)
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=inp if stdin is not None else subprocess.DEVNULL, stdout=out, stderr=err,
                             env=env, cwd=cwd, start_new_session=True)
        killed = []

        def kill() -> None:
            killed.append(True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "cmd": cmd,
            "rc": p.returncode,
            "timed_out": bool(killed),
            "wall_s": round(wall, 4),
            "user_s": round(ru.ru_utime, 3),
            "sys_s": round(ru.ru_stime, 3),
            "maxrss_mb": round(ru.ru_maxrss / 1024, 1),
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace")[-4000:],
        }


def pct(values: list[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    w = [r["wall_s"] for r in runs]
    return {
        "runs": len(runs),
        "wall_p50_s": round(pct(w, 50), 4),
        "wall_p95_s": round(pct(w, 95), 4),
        "wall_min_s": round(min(w), 4) if w else None,
        "wall_max_s": round(max(w), 4) if w else None,
        "maxrss_mb": max((r["maxrss_mb"] for r in runs), default=None),
        "cpu_s_p50": round(pct([r["user_s"] + r["sys_s"] for r in runs], 50), 3),
        "failures": sum(1 for r in runs if r["rc"] != 0),
    }


# --- totals --------------------------------------------------------------------------------------

_ALIASES = {
    "input_tokens": ("input_tokens", "inputTokens", "input"),
    "output_tokens": ("output_tokens", "outputTokens", "output"),
    "cache_creation_tokens": ("cache_creation_tokens", "cache_creation_input_tokens", "cacheCreationTokens",
                              "cacheCreationInputTokens", "cache_write_tokens", "cache_creation"),
    "cache_read_tokens": ("cache_read_tokens", "cache_read_input_tokens", "cacheReadTokens",
                          "cacheReadInputTokens", "cache_read"),
    "cost_usd": ("cost_usd", "totalCost", "costUSD", "cost"),
    "responses": ("responses", "requests", "entries"),
}
_DAY_KEYS = ("date", "period", "day")


def norm(d: dict[str, Any]) -> dict[str, Any]:
    """Map one totals/row object of any of the tools onto TOKEN_KEYS (+ cost_usd, responses)."""
    out: dict[str, Any] = {}
    for k, names in _ALIASES.items():
        for n in names:
            if n in d and (isinstance(d[n], int | float) or d[n] is None):
                out[k] = d[n]
                break
    if "cache_creation_tokens" not in out:
        a = d.get("cache_creation_5m_tokens", d.get("cache_creation_5m_input_tokens"))
        b = d.get("cache_creation_1h_tokens", d.get("cache_creation_1h_input_tokens"))
        if a is not None or b is not None:
            out["cache_creation_tokens"] = (a or 0) + (b or 0)
    return out


def parse_report(text: str) -> dict[str, Any]:
    """Totals and per-day rows from `ccusage [claude] daily --json` or `cchooks report daily --json`."""
    data = json.loads(text)
    rows: list[dict[str, Any]] = []
    if isinstance(data, list):
        rows = data
        data = {}
    else:
        for key in ("daily", "rows", "days", "data"):
            if isinstance(data.get(key), list):
                rows = data[key]
                break
    by_day: dict[str, dict[str, Any]] = {}
    for r in rows:
        day = next((r[k] for k in _DAY_KEYS if k in r), None)
        if day is None:
            continue
        day = str(day)[:10]
        n = norm(r)
        if day in by_day:  # `ccusage daily` may give one row per agent and day
            for k, v in n.items():
                by_day[day][k] = (by_day[day].get(k) or 0) + (v or 0)
        else:
            by_day[day] = n
    totals = norm(data.get("totals") or {}) if isinstance(data.get("totals"), dict) else {}
    if not all(k in totals for k in TOKEN_KEYS):
        totals = {k: sum((d.get(k) or 0) for d in by_day.values()) for k in (*TOKEN_KEYS, "cost_usd")}
    return {"totals": totals, "by_day": by_day}


def load_expected(corpus: Path) -> dict[str, Any] | None:
    p = corpus / "expected.json"
    if not p.exists():
        return None
    e = json.loads(p.read_text())
    return {
        "totals": norm(e["totals"]),
        "by_day": {d: norm(v) for d, v in e["by_day"].items()},
        "by_model_cost": {m: v.get("cost_usd") for m, v in e.get("by_model", {}).items()},
        "raw": e,
    }


def compare(got: dict[str, Any], exp: dict[str, Any] | None) -> dict[str, Any]:
    """Differences got - expected: totals per token kind, and how many days differ."""
    if exp is None:
        return {"expected": None}
    diff = {k: (got["totals"].get(k) or 0) - (exp["totals"].get(k) or 0) for k in TOKEN_KEYS}
    if "responses" in got["totals"] and "responses" in exp["totals"]:
        diff["responses"] = got["totals"]["responses"] - exp["totals"]["responses"]
    ge, ee = got["totals"].get("cost_usd"), exp["totals"].get("cost_usd")
    bad_days = []
    for day in sorted(set(got["by_day"]) | set(exp["by_day"])):
        g, e = got["by_day"].get(day, {}), exp["by_day"].get(day, {})
        if any((g.get(k) or 0) != (e.get(k) or 0) for k in TOKEN_KEYS):
            bad_days.append(day)
    return {
        "tokens_equal": all(v == 0 for k, v in diff.items() if k in TOKEN_KEYS),
        "diff": diff,
        "cost_diff_usd": round(ge - ee, 6) if isinstance(ge, int | float) and isinstance(ee, int | float) else None,
        "days_differing": len(bad_days),
        "days_differing_sample": bad_days[:10],
    }


def stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def write_result(name: str, result: dict[str, Any], out_dir: Path = OUT_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    p = out_dir / f"{name}-{stamp()}.json"
    p.write_text(json.dumps(result, indent=1) + "\n")
    return p


def prewarm(corpus: Path) -> float:
    """Read every file once so that every tool measured afterwards sees a warm page cache."""
    t0 = time.perf_counter()
    buf = bytearray(1 << 20)
    for root, _, files in os.walk(corpus):
        for f in files:
            with open(os.path.join(root, f), "rb", buffering=0) as fh:
                while fh.readinto(buf):
                    pass
    return time.perf_counter() - t0


def dir_bytes(corpus: Path) -> tuple[int, int]:
    n = size = 0
    for root, _, files in os.walk(corpus / "projects"):
        for f in files:
            if f.endswith(".jsonl"):
                n += 1
                size += os.path.getsize(os.path.join(root, f))
    return n, size
