"""`cchooks analyze`: per-agent figures against the real fixtures' ground truth, and a generated
corpus with one planted pattern per recommendation (and a clean one that yields none)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from cchooks.analysis import recommend as R
from cchooks.cli import main
from cchooks.ledger.store import Ledger
from cchooks.pricing import load_price_table
from cchooks.records import UsageRecord

HOUR = 3_600_000
T0 = 1_793_000_000_000  # 2026-10-26
SONNET, OPUS, HAIKU = "claude-sonnet-4-5", "claude-opus-4-5", R.SMALL_MODEL
PRICES = load_price_table({})


def cost(model: str, inp: int = 0, out: int = 0, c5: int = 0, c1: int = 0, cr: int = 0) -> float:
    value = PRICES.cost(model, inp, out, c5, c1, cr)
    assert value is not None
    return value


def analyze_json(ledger: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    assert main(["analyze", "--ledger", str(ledger), "--no-ingest", "--json", *extra]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def test_breakdown_per_agent_equals_the_ground_truth_of_each_subagent_transcript(
    claude_dir: Path, ledger_path: Path, ground_truth: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["analyze", "--breakdown", "--json", "--ledger", str(ledger_path), "--claude-dir", str(claude_dir)]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    truth: dict[str, dict[str, int]] = {}
    for r in ground_truth["responses"]:
        u = r["usage"]
        key = r["agent_id"] or "main"
        t = truth.setdefault(key, dict.fromkeys(("responses", "input", "output", "c5", "c1", "cr"), 0))
        t["responses"] += 1
        t["input"] += u["input_tokens"]
        t["output"] += u["output_tokens"]
        t["c5"] += u["cache_creation"]["ephemeral_5m_input_tokens"]
        t["c1"] += u["cache_creation"]["ephemeral_1h_input_tokens"]
        t["cr"] += u["cache_read_input_tokens"]
    agents = {a["agent_id"]: a for a in doc["agents"]}
    assert set(agents) == set(truth) - {"main"} and len(agents) == 4
    for agent_id, a in agents.items():
        t = truth[agent_id]
        assert a["agent_type"] == "general-purpose"
        assert (a["responses"], a["input_tokens"], a["output_tokens"], a["cache_creation_5m_tokens"],
                a["cache_creation_1h_tokens"], a["cache_read_tokens"]) == (
            t["responses"], t["input"], t["output"], t["c5"], t["c1"], t["cr"])  # fmt: skip
    types = {r["agent_type"]: r for r in doc["breakdown"]}
    assert set(types) == {"main", "general-purpose"}
    gp = types["general-purpose"]
    assert gp["agents"] == 4 and gp["output_tokens"] == sum(truth[a]["output"] for a in agents)
    # main = every response no transcript line attributes to a subagent (the /compact call is on none)
    main_truth = truth["main"]
    assert types["main"]["output_tokens"] == main_truth["output"] - 455
    assert doc["totals"]["total_tokens"] == sum(r["total_tokens"] for r in doc["breakdown"])
    # --agent narrows every figure to that type.
    assert main([*argv, "--agent", "general-purpose"]) == 0
    only = json.loads(capsys.readouterr().out)
    assert only["totals"]["output_tokens"] == gp["output_tokens"] and len(only["agents"]) == 4


def _resp(led: list[UsageRecord], session: str, ts: int, model: str, inp: int = 0, out: int = 0, c5: int = 0,
          c1: int = 0, cr: int = 0, project: str = "/p/base", agent: tuple[str, str] | None = None) -> None:  # fmt: skip
    n = len(led)
    led.append(UsageRecord(f"msg_{n}", f"req_{n}", session, ts, model, inp, out, c5, c1, cr,
                           agent_id=agent[0] if agent else None, agent_type=agent[1] if agent else None,
                           project=project))  # fmt: skip


def corpus(ledger: Path, planted: bool) -> dict[str, tuple[float, int, set[str]]]:
    """Write the corpus; returns the expected (estimate USD, estimate tokens, sessions) per planted id."""
    recs: list[UsageRecord] = []
    for i in range(30):  # the clean base: similar sessions, good caching, 5-minute writes, a small model
        s = f"base-{i:02d}"
        for j in range(10):
            _resp(recs, s, T0 + i * 10 * HOUR + j * 60_000, SONNET, 100, 500, 200, 0, 50_000)
        for j in range(3):  # short Explore runs on a small model: not a finding
            _resp(recs, s, T0 + i * 10 * HOUR + 20 * 60_000 + j, SONNET, 2000, 300, 0, 0, 20_000,
                  agent=(f"ex{i}", "Explore"))  # fmt: skip
    expected: dict[str, tuple[float, int, set[str]]] = {}
    if planted:
        # 1. fixer agents: short mechanical runs on Opus
        usd = 0.0
        for i in range(5):
            for j in range(3):
                _resp(recs, f"base-{i:02d}", T0 + i * 10 * HOUR + 30 * 60_000 + j, OPUS, 20_000, 300, 0, 0, 200_000,
                      agent=(f"fx{i}", "fixer"))  # fmt: skip
                usd += cost(OPUS, 20_000, 300, 0, 0, 200_000) - cost(HAIKU, 20_000, 300, 0, 0, 200_000)
        expected["large-model-mechanical"] = (usd, 15 * 220_300, {f"base-{i:02d}" for i in range(5)})
        # 2. a project that never hits the cache
        usd, moved = 0.0, 0
        for i in range(3):
            for j in range(10):
                _resp(recs, f"cold-{i}", T0 + 400 * HOUR + i * HOUR + j * 60_000, SONNET, 40_000, 200,
                      project="/p/cold")  # fmt: skip
                usd += cost(SONNET, 40_000, 200) - cost(SONNET, 8_000, 200, 0, 0, 32_000)
                moved += 32_000
        expected["low-cache-hit"] = (usd, moved, {f"cold-{i}" for i in range(3)})
        # 3. 1-hour writes, each followed by the next request two hours later
        for j in range(5):
            _resp(recs, "idle-0", T0 + 500 * HOUR + j * 2 * HOUR, SONNET, 100, 100, 0, 150_000, 40_000,
                  project="/p/idle")  # fmt: skip
        n = 5 * 150_000
        expected["unread-1h-cache"] = (cost(SONNET, c1=n) - cost(SONNET, c5=n), n, {"idle-0"})
        # 4. a session compacting four times
        seq = [(0, 60_000), (0, 120_000), (0, 190_000), (90_000, 0), (60_000, 90_000), (0, 190_000),
               (90_000, 0), (0, 190_000), (90_000, 0), (0, 190_000), (90_000, 0)]  # fmt: skip
        for j, (c5, cr) in enumerate(seq):
            _resp(recs, "compact-0", T0 + 600 * HOUR + j * 60_000, SONNET, 0, 100, c5, 0, cr, project="/p/compact")
        expected["frequent-compaction"] = (4 * cost(SONNET, c5=90_000), 4 * 90_000, {"compact-0"})
        # 5. three sessions carrying most of the cost
        usd, tokens = 0.0, 0
        for i in range(3):
            for j in range(10):
                _resp(recs, f"whale-{i}", T0 + 700 * HOUR + i * HOUR + j * 60_000, SONNET, 0, 60_000)
                usd += cost(SONNET, out=60_000)
                tokens += 60_000
        expected["cost-concentration"] = (usd, tokens, {f"whale-{i}" for i in range(3)})
    with Ledger.open(ledger) as led, led.write():
        led.upsert_records(recs)
    return expected


def test_each_planted_pattern_yields_its_recommendation_with_the_right_estimate(
    ledger_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = corpus(ledger_path, planted=True)
    doc = analyze_json(ledger_path, capsys, "--recommend")
    got = {r["id"]: r for r in doc["recommendations"]}
    assert set(got) == set(expected), sorted(got)
    for rid, (usd, tokens, sessions) in expected.items():
        r = got[rid]
        assert r["estimate_usd"] == pytest.approx(usd, abs=2e-6), rid
        assert r["estimate_tokens"] == tokens, rid
        assert set(r["sessions"]) == sessions and r["session_count"] == len(sessions), rid
        assert r["advice"] and r["thresholds"] and r["estimate_usd"] >= R.MIN_ESTIMATE_USD
    assert got["low-cache-hit"]["evidence"]["project"] == "/p/cold"
    assert got["large-model-mechanical"]["evidence"]["agent_type"] == "fixer"


def test_a_corpus_without_the_patterns_yields_none(ledger_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert corpus(ledger_path, planted=False) == {}
    doc = analyze_json(ledger_path, capsys)
    assert doc["recommendations"] == []
    assert {r["agent_type"] for r in doc["breakdown"]} == {"main", "Explore"}
    assert main(["analyze", "--ledger", str(ledger_path), "--no-ingest"]) == 0
    assert "Recommendations: none" in capsys.readouterr().out


def test_cost_analysis_adds_up(ledger_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus(ledger_path, planted=True)
    doc = analyze_json(ledger_path, capsys, "--cost-analysis")
    c = doc["cost_analysis"]
    spend = doc["totals"]["cost_usd"]
    assert sum(k["cost_usd"] for k in c["by_token_type"]) == pytest.approx(spend, abs=1e-5)
    assert c["caching"]["cost_usd"] == pytest.approx(spend, abs=1e-5)
    assert c["caching"]["without_cache_usd"] > spend and c["caching"]["saved_usd"] > 0
    assert sum(m["cost_usd"] for m in c["model_mix"]) == pytest.approx(spend, abs=1e-5)
    assert {m["model"] for m in c["model_mix"]} == {SONNET, OPUS}
    assert "breakdown" not in doc and "recommendations" not in doc


def test_since_until_and_csv_report(
    ledger_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus(ledger_path, planted=True)
    from cchooks.totals import iso_ms

    doc = analyze_json(ledger_path, capsys, "--since", str(iso_ms(T0 + 650 * HOUR)), "--tz", "UTC", "--breakdown")
    assert doc["totals"]["responses"] == 30 and doc["since_ms"] is not None  # the whales only
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "--ledger", str(ledger_path), "--no-ingest", "--csv"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent.name == "analysis-reports" and path.name.startswith("token-usage-")
    rows = list(csv.DictReader((tmp_path / path).open()))
    sections = {r["section"] for r in rows}
    assert {"total", "agent_type", "agent", "model", "recommendation"} <= sections
