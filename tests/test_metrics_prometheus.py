"""A real Prometheus scraping a running server fed the fixtures and a generated corpus: every dashboard
panel's PromQL, evaluated through Prometheus's HTTP API, gives the ledger's own figures for the same
range; a restart of the server and a re-ingest never make a counter fall.

The server is `cchooks serve --port P --ledger L`, whose /metrics calls `cchooks.server.metrics.exposition`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cchooks.ledger import Ledger
from cchooks.records import RateLimitSnapshot
from tests.metrics_helpers import (
    TOKEN_KEYS,
    cchooks,
    feed_fixtures,
    need_tool,
    report_model,
    session_count,
    truth_by,
    write_activity,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy" / "grafana"))
import build_dashboard  # noqa: E402

STEP_S = 2  # the graphs' $__interval in these queries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(port: int, ledger: Path) -> list[str]:
    return [sys.executable, "-m", "cchooks", "serve", "--port", str(port), "--ledger", str(ledger)]


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - 127.0.0.1 only
        data: bytes = resp.read()
        return data


def wait_until(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@dataclass
class Server:
    port: int
    ledger: Path
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(server_command(self.port, self.ledger), cwd=ROOT, env={**os.environ, **self.env},
                                     stdout=out, stderr=out)  # fmt: skip
        wait_until("the server's /metrics", lambda: b"cchooks_tokens_total" in http_get(
            f"http://127.0.0.1:{self.port}/metrics", timeout=30))  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass
class Prometheus:
    tmp: Path
    target: int
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cfg = self.tmp / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: cchooks\n    scrape_interval: 1s\n    scrape_timeout: 900ms\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{self.target}']\n"
        )
        check = subprocess.run([need_tool("promtool"), "check", "config", str(cfg)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        log = (self.tmp / "prometheus.log").open("ab")
        self.proc = subprocess.Popen(
            [need_tool("prometheus"), f"--config.file={cfg}", f"--storage.tsdb.path={self.tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=log, stderr=log,
        )  # fmt: skip
        wait_until("Prometheus ready", lambda: http_get(f"http://127.0.0.1:{self.port}/-/ready"))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def api(self, path: str, **params: Any) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        data = json.loads(http_get(url, timeout=30))
        assert data["status"] == "success", data
        return data["data"]

    def query(self, expr: str, at: float) -> dict[tuple[tuple[str, str], ...], float]:
        data = self.api("query", query=expr, time=f"{at:.3f}")
        assert data["resultType"] == "vector", data
        return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in data["result"]}

    def query_range(self, expr: str, start: float, end: float, step: int) -> dict[tuple[tuple[str, str], ...], float]:
        data = self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step}s")
        return {tuple(sorted(r["metric"].items())): sum(float(v) for _t, v in r["values"]) for r in data["result"]}

    def scraped(self, expr: str, want: float) -> bool:
        got = self.query(expr, time.time())
        return bool(got) and math.isclose(sum(got.values()), want, rel_tol=1e-12, abs_tol=1e-9)


@dataclass
class Stack:
    tmp: Path
    ledger: Path
    ledger_b: Path
    server: Server
    prom: Prometheus
    t_start: float
    t_a: float
    t_b: float
    report_a: dict[str, Any]
    report_b: dict[str, Any]
    sessions_b: int
    truth_b: dict[Any, float]
    claude_dirs: list[Path]


def _corpus(tmp: Path) -> Path:
    out = tmp / "corpus"
    end = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime())
    subprocess.run([sys.executable, str(ROOT / "benchmarks/gen_corpus.py"), "--out", str(out), "--size-mb", "2",
                    "--density", "dense", "--seed", "7", "--end", end], check=True, capture_output=True, timeout=300)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    need_tool("prometheus")
    tmp = tmp_path_factory.mktemp("prom")
    ledger = tmp / "ledger.sqlite3"
    config = tmp / "config.toml"
    config.write_text("[metrics]\nslow_max_age_seconds = 0\n")  # every scrape computes the windows now
    env = {"CCHOOKS_CONFIG": str(config), "HOME": str(tmp / "home"), "CLAUDE_CONFIG_DIR": str(tmp / "no-claude")}
    (tmp / "home").mkdir()
    feed_fixtures(tmp, ledger)
    now = int(time.time() * 1000)
    with Ledger.open(ledger) as led, led.write():
        led.add_rate_limit_snapshot(RateLimitSnapshot(now, "five_hour", 42.0, now + 3_600_000, "s1"))
        led.add_rate_limit_snapshot(RateLimitSnapshot(now, "seven_day", 7.5, now + 5 * 86_400_000, "s1"))
    report_a = report_model(ledger)
    server = Server(free_port(), ledger, env, tmp / "server.log")
    prom = Prometheus(tmp, server.port)
    t_start = time.time()
    server.start()
    prom.start()
    try:
        wait_until("state A scraped", lambda: prom.scraped("sum(cchooks_responses_total)", report_a["totals"]["responses"]))
        time.sleep(1.5)
        t_a = time.time()
        time.sleep(1.5)
        # Phase B: more of Claude Code's activity (a third process), then a generated corpus.
        truth_b = write_activity(tmp / "activity-b", (3,), 3)
        cchooks("otlp", "import", str(tmp / "activity-b"), "--ledger", str(ledger))
        corpus = _corpus(tmp)
        ledger_b = tmp / "only-b.sqlite3"
        cchooks("ingest", "--claude-dir", str(corpus), "--ledger", str(ledger_b))
        report_b = report_model(ledger_b)
        cchooks("ingest", "--claude-dir", str(corpus), "--ledger", str(ledger))
        total = report_a["totals"]["responses"] + report_b["totals"]["responses"]
        wait_until("state B scraped", lambda: prom.scraped("sum(cchooks_responses_total)", total))
        # The end of the range: a whole number of graph steps after t_a, once a scrape of it is in.
        t_b = t_a + STEP_S * math.ceil((time.time() + 1.5 - t_a) / STEP_S)
        time.sleep(max(0.0, t_b - time.time()) + 1.0)
        yield Stack(tmp, ledger, ledger_b, server, prom, t_start, t_a, t_b, report_a, report_b,
                    session_count(ledger_b), truth_b, [tmp / "claude", corpus])  # fmt: skip
    finally:
        server.stop()
        prom.stop()


def _labels(key: tuple[tuple[str, str], ...], names: tuple[str, ...]) -> tuple[str, ...]:
    d = dict(key)
    return tuple(d.get(n, "") for n in names)


def _expected(stack: Stack, expect: str, report: dict[str, Any]) -> tuple[tuple[str, ...], dict[tuple[str, ...], float]]:
    """(label names, {label values: figure}) the ledger gives for a target's `expect`."""
    totals = report["totals"]
    rows = {r["model"]: r for r in report["rows"]}
    kind, _, arg = expect.partition(":")
    if kind == "total":
        return (), {(): float(totals[arg])}
    if kind == "by_model":
        return ("model",), {(m,): float(r[arg]) for m, r in rows.items() if r[arg] is not None}
    if kind == "by_type":
        return ("type",), {(t,): float(totals[k]) for t, k in TOKEN_KEYS.items()}
    if kind == "by_model_type":
        return ("model", "type"), {(m, t): float(r[k]) for m, r in rows.items() for t, k in TOKEN_KEYS.items()}
    if kind == "cache_hit":
        side = totals["input_tokens"] + totals["cache_creation_tokens"] + totals["cache_read_tokens"]
        return (), {(): totals["cache_read_tokens"] / side}
    if kind == "sessions":
        return (), {(): float(stack.sessions_b)}
    if kind == "otlp":
        return (), {(): sum(truth_by(stack.truth_b, arg, ()).values())}
    if kind == "otlp_by":
        metric, _, names = arg.partition(":")
        labels = tuple(names.split(","))
        return labels, truth_by(stack.truth_b, metric, labels)
    raise AssertionError(f"unknown expect {expect}")


def _close(got: dict[tuple[str, ...], float], want: dict[tuple[str, ...], float], what: str) -> None:
    assert set(got) == set(want), f"{what}: series {sorted(got)} != {sorted(want)}"
    for k, v in want.items():
        # Dollar figures of reports are rounded to micro-dollars.
        assert math.isclose(got[k], v, rel_tol=1e-9, abs_tol=2e-6), f"{what} {k}: {got[k]} != {v}"


AMOUNT_TARGETS = [t for t in build_dashboard.targets() if t["mode"] != "instant"]
GAUGE_TARGETS = [t for t in build_dashboard.targets() if t["mode"] == "instant"]


@pytest.mark.parametrize("target", AMOUNT_TARGETS, ids=[t["expect"] + ":" + t["mode"] for t in AMOUNT_TARGETS])
def test_panel_amounts_equal_the_ledger_for_the_range(stack: Stack, target: dict[str, str]) -> None:
    """Phase B's range (after the fixtures were scraped): the panel gives what `cchooks report` gives
    for a ledger holding only what phase B added."""
    names, want = _expected(stack, target["expect"], stack.report_b)
    span = stack.t_b - stack.t_a
    if target["mode"] == "range":
        expr = target["expr"].replace("$__range", f"{round(span * 1000)}ms")
        raw = stack.prom.query(expr, stack.t_b)
    else:
        expr = target["expr"].replace("$__interval", f"{STEP_S}s")
        raw = stack.prom.query_range(expr, stack.t_a + STEP_S, stack.t_b, STEP_S)
    got = {_labels(k, names): v for k, v in raw.items() if not (v == 0 and _labels(k, names) not in want)}
    _close(got, want, target["expr"])


@pytest.mark.parametrize("target", [t for t in AMOUNT_TARGETS if t["mode"] == "range" and t["expect"].startswith(("total", "by_"))],
                         ids=lambda t: t["expect"])  # fmt: skip
def test_a_range_reaching_before_the_first_scrape_counts_everything(stack: Stack, target: dict[str, str]) -> None:
    names, want = _expected(stack, target["expect"], stack.report_a)
    span = stack.t_a - stack.t_start + 600
    raw = stack.prom.query(target["expr"].replace("$__range", f"{round(span)}s"), stack.t_a)
    _close({_labels(k, names): v for k, v in raw.items()}, want, target["expr"])


def test_every_series_equals_the_whole_ledger(stack: Stack) -> None:
    report = report_model(stack.ledger)
    for expect in ("total:cost_usd", "total:total_tokens", "by_model:responses", "by_model_type", "by_model:cost_usd"):
        names, want = _expected(stack, expect, report)
        metric = {"total:cost_usd": "cchooks_cost_usd_total", "by_model:cost_usd": "cchooks_cost_usd_total",
                  "by_model:responses": "cchooks_responses_total"}.get(expect, "cchooks_tokens_total")  # fmt: skip
        by = ", ".join(names)
        raw = stack.prom.query(f"sum by ({by}) ({metric})" if by else f"sum({metric})", stack.t_b)
        _close({_labels(k, names): v for k, v in raw.items()}, want, expect)


@pytest.mark.parametrize("target", GAUGE_TARGETS, ids=[t["expect"] for t in GAUGE_TARGETS])
def test_window_panels_are_the_limits_view(stack: Stack, target: dict[str, str]) -> None:
    limits = json.loads(cchooks("limits", "--json", "--no-ingest", "--ledger", str(stack.ledger)).stdout)
    kind, _, key = target["expect"].partition(":")
    raw = stack.prom.query(target["expr"], time.time())
    got = {dict(k).get("window", ""): v for k, v in raw.items()}
    if kind == "window":
        scale = {"percent": 0.01}.get(key, 1.0)
        want = {w: float(limits[w][key]) * scale for w in ("five_hour", "week", "month") if limits[w][key] is not None}
    elif kind == "official":
        want = {w: v[key] / 100.0 for w, v in limits["official"].items()}
    else:  # the last hour's pace moves with the clock: same figure within the drift of a few seconds
        want = {"": float((limits["five_hour"]["burn_recent"] or {}).get(key) or 0.0)}
        assert set(got) == set(want) and math.isclose(got[""], want[""], rel_tol=0.05, abs_tol=1e-6), (got, want)
        return
    assert set(got) == set(want), (got, want)
    for w, v in want.items():
        assert math.isclose(got[w], v, rel_tol=1e-9, abs_tol=1e-6), (w, got[w], v)


def test_restart_and_reingest_never_make_a_counter_fall(stack: Stack) -> None:
    """Runs last: the server restarts and every transcript and OTLP body is read again."""
    before = stack.prom.query('{__name__=~"cchooks_.+_total"}', time.time())
    stack.server.stop()
    time.sleep(2.5)  # a few failed scrapes
    stack.server.start()
    for d in stack.claude_dirs:
        copy = d.with_name(d.name + "-again")
        shutil.copytree(d, copy)
        cchooks("ingest", "--claude-dir", str(copy), "--ledger", str(stack.ledger))
    cchooks("otlp", "import", str(stack.tmp / "otlp-fixtures"), str(stack.tmp / "activity-a"),
            str(stack.tmp / "activity-b"), "--ledger", str(stack.ledger))  # fmt: skip
    t_restarted = time.time()
    wait_until("scrapes after the restart", lambda: list(stack.prom.query("up", time.time()).values()) == [1.0])
    time.sleep(3)
    window = f"{round(time.time() - stack.t_start + 60)}s"
    counters = [n for n in stack.prom.api("label/__name__/values") if n.startswith("cchooks_") and n.endswith("_total")]
    assert len(counters) >= 15
    for name in counters:  # resets() drops the name: one family at a time
        resets = stack.prom.query(f"resets({name}[{window}])", time.time())
        assert all(v == 0 for v in resets.values()), (name, {k: v for k, v in resets.items() if v})
    down = stack.prom.query(f"min_over_time(up[{round(time.time() - t_restarted + 10)}s])", time.time())
    assert list(down.values()) == [0.0], "the server was not down for a scrape"
    after = stack.prom.query('{__name__=~"cchooks_.+_total"}', time.time())
    for k, v in before.items():
        assert math.isclose(after[k], v, rel_tol=1e-12), (k, v, after[k])  # nothing new, nothing counted twice
