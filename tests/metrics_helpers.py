"""Shared by the /metrics tests: a ledger fed the real fixtures, OTLP activity from two Claude Code
processes, the exposition parsed, and the ledger's own figures to compare it with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CI, FIXTURES

OTLP_FIXTURES = FIXTURES / "otlp"
SCENARIOS = ("interactive", "p-continue", "p-fork", "p-json", "p-protobuf", "p-resume", "p-slow")
EPOCH_NS = 1_795_000_000 * 10**9  # November 2026, like the fixtures


def need_tool(name: str) -> str:
    """A Prometheus binary (Debian's `prometheus` package: tests/deps/prometheus.sh); missing = fail under CI."""
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is not installed (run tests/deps/prometheus.sh)"
        if CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def cchooks(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "cchooks", *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"cchooks {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


# -- Claude Code's activity metrics, as OTLP/JSON delta sums from several processes ------------------

ACTIVITY = (
    # (metric, unit, attribute sets a process cycles through)
    ("claude_code.session.count", "count", [{"start_type": "fresh"}, {"start_type": "resume"}]),
    ("claude_code.active_time.total", "s", [{"type": "user"}, {"type": "cli"}]),
    ("claude_code.lines_of_code.count", "count", [{"type": "added"}, {"type": "removed"}]),
    ("claude_code.commit.count", "count", [{}]),
    ("claude_code.pull_request.count", "count", [{}]),
    ("claude_code.code_edit_tool.decision", "count", [
        {"tool_name": "Edit", "decision": "accept", "source": "config", "language": "Python"},
        {"tool_name": "Write", "decision": "reject", "source": "user_reject", "language": "TypeScript"},
        {"tool_name": "Edit", "decision": "accept", "source": "user_temporary", "language": "Rust"},
    ]),
)  # fmt: skip


def _attr(key: str, value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def activity_body(process: int, export: int, session: str) -> tuple[dict[str, Any], dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """One /v1/metrics body of one process (delta temporality, as Claude Code sends) and what it adds:
    {(metric, sorted attribute items): value}."""
    start = EPOCH_NS + process * 7_000_000 + export * 60 * 10**9
    adds: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
    metrics = []
    for i, (name, unit, attr_sets) in enumerate(ACTIVITY):
        points = []
        for j, attrs in enumerate(attr_sets):
            value = float((process * 7 + export * 3 + i * 5 + j) % 11 + 1)
            if name == "claude_code.session.count" and export > 0:
                continue
            points.append({
                "attributes": [_attr(k, v) for k, v in {"session.id": session, "user.id": "u1",
                                                          "terminal.type": "xterm", **attrs}.items()],
                "startTimeUnixNano": str(start), "timeUnixNano": str(start + 60 * 10**9), "asDouble": value,
            })  # fmt: skip
            adds[(name, tuple(sorted(attrs.items())))] += value
        if points:
            metrics.append({"name": name, "unit": unit, "sum": {
                "aggregationTemporality": 1, "isMonotonic": True, "dataPoints": points}})  # fmt: skip
    body = {"resourceMetrics": [{
        "resource": {"attributes": [_attr("service.name", "claude-code"), _attr("service.version", "2.1.330"),
                                    _attr("os.type", "linux"), _attr("host.arch", "x64")]},
        "scopeMetrics": [{"scope": {"name": "com.anthropic.claude_code", "version": "2.1.330"}, "metrics": metrics}],
    }]}  # fmt: skip
    return body, dict(adds)


def write_activity(folder: Path, processes: tuple[int, ...], exports: int, first: int = 0) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Bodies of several processes, interleaved export by export, each also sent twice (an exporter
    retry), as NNNN-metrics.json files for `cchooks otlp import`; returns the true sums."""
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
    n = first
    for export in range(exports):
        for p in processes:
            body, adds = activity_body(p, export, f"session-{p}")
            for key, v in adds.items():
                truth[key] += v
            for _retry in range(2):
                n += 1
                (folder / f"{n:04d}-metrics.json").write_text(json.dumps(body))
    return dict(truth)


def fixture_truth() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The fixtures' own metric points added up, read from the bodies (the protobuf ones through their
    decoded renderings), keyed like `write_activity`'s sums by the activity families' attributes."""
    keep = {name: {k for attrs in sets for k in attrs} for name, _unit, sets in ACTIVITY}
    truth: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
    for s in SCENARIOS:
        for f in sorted((OTLP_FIXTURES / s).glob("*-metrics.*json")):
            for rm in json.loads(f.read_text())["resourceMetrics"]:
                for sm in rm["scopeMetrics"]:
                    for m in sm["metrics"]:
                        if m["name"] not in keep or "sum" not in m:
                            continue
                        for p in m["sum"]["dataPoints"]:
                            attrs = {a["key"]: next(iter(a["value"].values())) for a in p.get("attributes", [])}
                            key = tuple(sorted((k, str(v)) for k, v in attrs.items() if k in keep[m["name"]]))
                            truth[(m["name"], key)] += float(p.get("asDouble", p.get("asInt", 0)))
    return dict(truth)


def naive_sum(folder: Path, metric: str) -> float:
    """What adding up every received point gives (no deduplication of retries)."""
    total = 0.0
    for f in sorted(folder.glob("*-metrics.json")):
        for rm in json.loads(f.read_text())["resourceMetrics"]:
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    if m["name"] == metric:
                        total += sum(float(p["asDouble"]) for p in m["sum"]["dataPoints"])
    return total


def truth_by(truth: dict[tuple[str, tuple[tuple[str, str], ...]], float], metric: str, labels: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for (name, attrs), v in truth.items():
        if name == metric:
            d = dict(attrs)
            out[tuple(d.get(k, "") for k in labels)] += v
    return dict(out)


def otlp_fixture_dir(tmp: Path) -> Path:
    """Every fixture scenario's OTLP bodies (the real Claude Code's), in one folder for `otlp import`."""
    dest = tmp / "otlp-fixtures"
    dest.mkdir(parents=True, exist_ok=True)
    for s in SCENARIOS:
        for f in sorted((OTLP_FIXTURES / s).iterdir()):
            if f.name[:4].isdigit() and not f.name.endswith(".decoded.json"):
                shutil.copy(f, dest / f"{s}-{f.name}")
    return dest


def feed_fixtures(tmp: Path, ledger: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The real transcripts and OTLP bodies of the fixtures, plus two processes' activity; the activity's sums."""
    claude = tmp / "claude"
    if not claude.exists():
        shutil.copytree(FIXTURES / "claude-code-2.1.330" / "config", claude)
    cchooks("ingest", "--claude-dir", str(claude), "--ledger", str(ledger))
    cchooks("otlp", "import", str(otlp_fixture_dir(tmp)), "--ledger", str(ledger))
    activity = tmp / "activity-a"
    truth = defaultdict(float, fixture_truth())
    for key, v in write_activity(activity, (1, 2), 4).items():
        truth[key] += v
    cchooks("otlp", "import", str(activity), "--ledger", str(ledger))
    return dict(truth)


# -- reading an exposition --------------------------------------------------------------------------

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_exposition(text: str) -> Series:
    from prometheus_client.parser import text_string_to_metric_families

    out: Series = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def select(series: Series, name: str, by: tuple[str, ...] = ()) -> dict[tuple[str, ...], float]:
    """Sum of a family's samples by labels `by`."""
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for (n, labels), v in series.items():
        if n == name:
            d = dict(labels)
            out[tuple(d.get(k, "") for k in by)] += v
    return dict(out)


# -- the ledger's own figures ----------------------------------------------------------------------

TOKEN_KEYS = {"input": "input_tokens", "output": "output_tokens", "cache_creation": "cache_creation_tokens",
              "cache_read": "cache_read_tokens"}  # fmt: skip
TTL_KEYS = {"5m": "cache_creation_5m_tokens", "1h": "cache_creation_1h_tokens"}


def report_model(ledger: Path, config: Path | None = None) -> dict[str, Any]:
    args = ["report", "model", "--json", "--no-ingest", "--ledger", str(ledger)]
    if config is not None:
        args += ["--config", str(config)]
    data: dict[str, Any] = json.loads(cchooks(*args).stdout)
    return data


def session_count(ledger: Path) -> int:
    data = json.loads(cchooks("report", "session", "--json", "--no-ingest", "--ledger", str(ledger)).stdout)
    return len(data["rows"])
