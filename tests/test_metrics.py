"""`cchooks metrics` and the exposition behind `/metrics`: checked by promtool, equal to the ledger's own
reports, monotonic across re-ingests and more complete copies, right for parallel OTLP processes, with
bounded labels. No server needed (tests/test_metrics_prometheus.py scrapes one)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cchooks.ledger import Ledger
from cchooks.records import RateLimitSnapshot
from cchooks.server.metrics import CLAUDE_CODE_FAMILIES, cap_labels, exposition
from tests.metrics_helpers import (
    TOKEN_KEYS,
    TTL_KEYS,
    cchooks,
    feed_fixtures,
    naive_sum,
    need_tool,
    parse_exposition,
    report_model,
    select,
    session_count,
    truth_by,
    write_activity,
)
from tests.transcript_factory import Resp, assistant_line

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    tmp = tmp_path_factory.mktemp("metrics")
    ledger = tmp / "ledger.sqlite3"
    truth = feed_fixtures(tmp, ledger)
    with Ledger.open(ledger) as led, led.write():
        now = 1_796_000_000_000
        led.add_rate_limit_snapshot(RateLimitSnapshot(now, "five_hour", 42.0, now + 3_600_000, "s1"))
        led.add_rate_limit_snapshot(RateLimitSnapshot(now, "seven_day", 7.5, now + 86_400_000, "s1"))
    return ledger, truth


def _metrics_text(ledger: Path, *extra: str) -> str:
    return cchooks("metrics", "--no-ingest", "--ledger", str(ledger), *extra).stdout


def test_promtool_check_metrics_passes(fed: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    promtool = need_tool("promtool")
    ledger, _ = fed
    text = _metrics_text(ledger)
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stdout + proc.stderr


def test_every_family_has_help_and_type_and_no_session_label(fed: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    ledger, _ = fed
    text = _metrics_text(ledger)
    helps = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP ")}
    types = {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE ")}
    assert helps == set(types) and len(types) >= 30
    assert set(types.values()) <= {"counter", "gauge"}
    for name, labels in parse_exposition(text):
        assert name in types
        assert not any("session" in k or "user" in k for k, _v in labels), (name, labels)  # bounded labels only
    for name in types:
        assert name.startswith("cchooks_")
        if types[name] == "counter":
            assert name.endswith("_total")


def test_series_equal_the_ledger_reports(fed: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    ledger, _ = fed
    series = parse_exposition(_metrics_text(ledger))
    report = report_model(ledger)
    rows = {r["model"]: r for r in report["rows"]}
    assert select(series, "cchooks_responses_total", ("model",)) == {(m,): float(r["responses"]) for m, r in rows.items()}
    tokens = select(series, "cchooks_tokens_total", ("model", "type"))
    assert tokens == {(m, t): float(r[k]) for m, r in rows.items() for t, k in TOKEN_KEYS.items()}
    ttl = select(series, "cchooks_cache_creation_tokens_total", ("model", "ttl"))
    assert ttl == {(m, t): float(r[k]) for m, r in rows.items() for t, k in TTL_KEYS.items()}
    cost = select(series, "cchooks_cost_usd_total", ("model",))
    assert set(cost) == {(m,) for m, r in rows.items() if r["cost_usd"] is not None}
    for (m,), v in cost.items():
        assert round(v, 6) == rows[m]["cost_usd"]
    assert select(series, "cchooks_ledger_sessions_total") == {(): float(session_count(ledger))}
    # The fixtures' /compact call is seen by OTLP only; every other response by both witnesses.
    by_source = select(series, "cchooks_source_responses_total", ("source",))
    total = report["totals"]["responses"]
    only_otlp = select(series, "cchooks_otlp_only_responses")[()]
    assert only_otlp >= 1
    assert by_source[("transcript",)] == total - only_otlp
    assert by_source[("otlp",)] <= total
    # Claude Code's own token counter, each stored point once, equals its api_request events (SUMMARY.md).
    cc_tokens = select(series, "cchooks_claude_code_tokens_total", ("type",))
    from tests.test_otlp_common import SCENARIO_TOKENS

    for kind in ("input", "output", "cacheRead", "cacheCreation"):
        assert cc_tokens[(kind,)] == sum(s[kind] for s in SCENARIO_TOKENS.values())


def test_window_gauges_are_the_limits_view(fed: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    ledger, _ = fed
    series = parse_exposition(_metrics_text(ledger))
    limits = json.loads(cchooks("limits", "--json", "--no-ingest", "--ledger", str(ledger)).stdout)
    for window in ("five_hour", "week", "month"):
        w = limits[window]
        got = select(series, "cchooks_window_used_tokens", ("window",))
        assert got.get((window,)) == float(w["used_tokens"])
        assert select(series, "cchooks_window_used_usd", ("window",)).get((window,)) == w["used_cost_usd"]
    official = select(series, "cchooks_rate_limit_used_ratio", ("window",))
    assert official == {("five_hour",): 0.42, ("seven_day",): 0.075}
    resets = select(series, "cchooks_rate_limit_reset_timestamp_seconds", ("window",))
    assert resets[("five_hour",)] == limits["official"]["five_hour"]["resets_at_ms"] / 1000


def test_parallel_processes_are_summed_once(fed: tuple[Path, dict], tmp_path: Path) -> None:  # type: ignore[type-arg]
    """Two processes' delta streams, interleaved and each export sent twice (retries): the exposition
    has the true sums; adding up the received points would double them."""
    ledger, truth = fed
    series = parse_exposition(_metrics_text(ledger))
    for fam in CLAUDE_CODE_FAMILIES:
        if fam.metric.startswith(("claude_code.token", "claude_code.cost")):
            continue
        expected = truth_by(truth, fam.metric, fam.attributes)
        assert select(series, fam.name + "_total", fam.attributes) == expected, fam.name
    folder = tmp_path / "again"
    write_activity(folder, (1, 2), 4)
    # (the fixtures have no lines_of_code points: all of it is the two processes')
    assert naive_sum(folder, "claude_code.lines_of_code.count") == 2 * sum(
        truth_by(truth, "claude_code.lines_of_code.count", ()).values()
    )


def test_output_file_is_written_atomically(fed: tuple[Path, dict], tmp_path: Path) -> None:  # type: ignore[type-arg]
    ledger, _ = fed
    out = tmp_path / "textfile" / "cchooks.prom"
    out.parent.mkdir()
    out.write_text("old\n")
    assert cchooks("metrics", "--no-ingest", "--ledger", str(ledger), "--output", str(out)).stdout == ""
    drop = "cchooks_metrics_collect_seconds"
    got = [x for x in out.read_text().splitlines() if not x.startswith(drop)]
    want = [x for x in _metrics_text(ledger).splitlines() if not x.startswith(drop)]
    assert got == want
    assert sorted(p.name for p in out.parent.iterdir()) == ["cchooks.prom"]  # no temporary left behind
    assert out.stat().st_mode & 0o777 == 0o644


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[metrics]\nmax_projects = 0\n")
    proc = cchooks("metrics", "--no-ingest", "--ledger", str(tmp_path / "l.sqlite3"), "--config", str(cfg), check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "max_projects" in proc.stderr


def _write_transcript(claude: Path, project: str, lines: list[str]) -> Path:
    folder = claude / "projects" / project.replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.jsonl"
    with path.open("a") as fh:
        for line in lines:
            obj = json.loads(line)
            obj["cwd"] = project
            fh.write(json.dumps(obj) + "\n")
    return path


def _counters(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    types = {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE ")}
    return {k: v for k, v in parse_exposition(text).items() if types.get(k[0].removesuffix("_total") + "_total") == "counter"
            or types.get(k[0]) == "counter"}  # fmt: skip


def _never_fall(before: dict, after: dict) -> None:  # type: ignore[type-arg]
    for key, v in before.items():
        assert key in after, f"series {key} disappeared"
        assert after[key] >= v, f"{key} fell from {v} to {after[key]}"


def test_counters_never_fall_on_reingest_or_a_more_complete_copy(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    ledger = tmp_path / "ledger.sqlite3"
    resp = Resp(1, "s-a", inp=100, out=5, c5=1000, c1=0, cr=5000)
    # An old-style streaming partial (output 5) first; the final copy (output 400) comes later.
    _write_transcript(claude, "/work/a", [assistant_line(resp)])
    cchooks("ingest", "--claude-dir", str(claude), "--ledger", str(ledger))
    first = _counters(_metrics_text(ledger))
    _write_transcript(claude, "/work/a", [assistant_line(resp, block=1, out=400)])
    cchooks("ingest", "--claude-dir", str(claude), "--ledger", str(ledger))
    second = _counters(_metrics_text(ledger))
    _never_fall(first, second)
    assert select(second, "cchooks_tokens_total", ("type",))[("output",)] == 400
    # Re-ingesting the same files from another path (every line read again) changes nothing.
    again = tmp_path / "claude-copy"
    shutil.copytree(claude, again)
    cchooks("ingest", "--claude-dir", str(again), "--ledger", str(ledger))
    third = _counters(_metrics_text(ledger))
    assert third == second


def test_project_label_is_opt_in_and_capped(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    ledger = tmp_path / "ledger.sqlite3"
    for i, project in enumerate(["/work/a", "/work/b", "/work/c", "/work/d"]):
        _write_transcript(claude / str(i), project, [assistant_line(Resp(i, f"s-{i}", 10, 20, 0, 0, 30))])
    dirs = ",".join(str(claude / str(i)) for i in range(4))
    cchooks("ingest", "--claude-dir", dirs, "--ledger", str(ledger))
    assert "cchooks_project_" not in _metrics_text(ledger)
    cfg = tmp_path / "config.toml"
    cfg.write_text("[metrics]\nproject_label = true\nmax_projects = 2\n")
    series = parse_exposition(_metrics_text(ledger, "--config", str(cfg)))
    by_project = select(series, "cchooks_project_responses_total", ("project",))
    assert len(by_project) == 3 and by_project[("other",)] == 2.0
    assert sum(by_project.values()) == 4.0


def test_label_values_are_capped_first_seen_first() -> None:
    rows = [(("a", "x"), 1.0, 5), (("b", "x"), 2.0, 1), (("c", "y"), 4.0, 9), (("b", "z"), 8.0, 3)]
    assert cap_labels(rows, 2) == {("a", "x"): 1.0, ("b", "x"): 2.0, ("other", "other"): 4.0, ("b", "z"): 8.0}
    assert cap_labels(rows, 1) == {("other", "x"): 1.0, ("b", "x"): 2.0, ("other", "other"): 4.0, ("b", "other"): 8.0}
    assert cap_labels([], 3) == {}


def test_source_totals_follow_every_write(tmp_path: Path) -> None:
    """The per-source sums behind the exposition equal a scan of the responses after ordinary
    writes, OTLP linking (transcript -> both) and a bulk backfill that rebuilds them."""
    ledger = tmp_path / "ledger.sqlite3"
    feed_fixtures(tmp_path, ledger)

    def check() -> None:
        conn = sqlite3.connect(ledger)
        scan = conn.execute(
            "SELECT source, model, sum(input_tokens), sum(output_tokens), sum(cache_5m_tokens), sum(cache_1h_tokens),"
            " sum(cache_read_tokens), count(*) FROM responses GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
        kept = conn.execute(
            "SELECT source, model, sum(input_tokens), sum(output_tokens), sum(cache_5m_tokens), sum(cache_1h_tokens),"
            " sum(cache_read_tokens), sum(responses) FROM source_totals GROUP BY 1, 2 HAVING sum(responses) > 0"
            " ORDER BY 1, 2").fetchall()  # fmt: skip
        conn.close()
        assert scan == kept and scan

    check()
    with Ledger.open(ledger) as led:
        with led.write():
            led.conn.execute("DELETE FROM source_totals")
            led.meta_set("rollup_stale", "1")
        body, _ = exposition(str(ledger), None, cache=False)  # a stale table: the scan answers
        led.rebuild_rollup_if_stale()
    assert b"cchooks_tokens_total" in body
    check()


def test_dashboard_json_is_built_from_the_panel_list() -> None:
    proc = subprocess.run(["python3", str(ROOT / "deploy/grafana/build_dashboard.py"), "--check"], timeout=60)
    assert proc.returncode == 0, "run python deploy/grafana/build_dashboard.py"
    dash = json.loads((ROOT / "deploy/grafana/dashboards/cchooks.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    doc = (ROOT / "docs/prometheus.md").read_text()
    for e in exprs:
        assert e in doc, f"docs/prometheus.md lacks {e}"
    names = {line.split()[2] for line in exposition_help_lines()}
    for name in names:
        assert f"`{name}`" in doc, f"docs/prometheus.md does not document {name}"


def exposition_help_lines() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "c.toml"
        cfg.write_text("[metrics]\nproject_label = true\n")
        body, _ = exposition(str(Path(d) / "l.sqlite3"), str(cfg), cache=False)
    return [x for x in body.decode().splitlines() if x.startswith("# HELP ")]


def test_promtool_checks_the_shipped_config() -> None:
    promtool = need_tool("promtool")
    proc = subprocess.run([promtool, "check", "config", str(ROOT / "deploy/prometheus.yml")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("datasources/prometheus.yml", "dashboards/cchooks.yml"):
        assert (ROOT / "deploy/grafana/provisioning" / name).is_file()


@given(
    rows=st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from("xyz"), st.integers(0, 50)), max_size=30),
    later=st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("xyzw"), st.integers(0, 50)), max_size=10),
    limit=st.integers(1, 4),
)
def test_capped_labels_never_fall_as_the_ledger_grows(rows: list, later: list, limit: int) -> None:  # type: ignore[type-arg]
    """The ledger only adds points (later ids) or grows a series: no capped series may fall or vanish."""

    def table(items: list) -> dict[tuple[str, ...], tuple[float, int]]:  # type: ignore[type-arg]
        out: dict[tuple[str, ...], tuple[float, int]] = {}
        for seen, (a, b, v) in enumerate(items):
            value, first = out.get((a, b), (0.0, seen))
            out[(a, b)] = (value + v, first)
        return out

    before = cap_labels([(k, v, s) for k, (v, s) in table(rows).items()], limit)
    after = cap_labels([(k, v, s) for k, (v, s) in table(rows + later).items()], limit)
    for key, value in before.items():
        assert after.get(key, -1.0) >= value, (key, before, after)
