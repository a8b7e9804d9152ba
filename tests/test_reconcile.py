"""Reconciliation of transcripts and OTLP, and prices learned from Claude Code's cost_usd."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cchooks.cli import main as cli_main
from cchooks.ledger.ingest import ingest_config_dirs
from cchooks.ledger.learned import add_learned_prices, learn_prices, learned_prices
from cchooks.ledger.otlp_store import store_batches
from cchooks.ledger.reconcile import reconcile_ledger, reconcile_report
from cchooks.ledger.store import Ledger
from cchooks.parsers.otlp import ApiRequest, ExportBatch, decode
from cchooks.pricing import Price, PriceTable, load_price_table
from cchooks.pricing.learned import LEARNED_SOURCE, fit_rates
from cchooks.records import UsageRecord
from tests.test_otlp_common import COMPACT_REQUEST_ID, TOTAL, all_bodies, copy_config, ground_truth


def _batches() -> list[ExportBatch]:
    return [decode(sig, raw, enc) for _s, sig, enc, raw in all_bodies()]  # type: ignore[arg-type]


def _totals(ledger: Ledger) -> dict[str, int]:
    recs = list(ledger.records())
    return {
        "responses": len(recs),
        "input": sum(r.input_tokens for r in recs),
        "output": sum(r.output_tokens for r in recs),
        "cache_read": sum(r.cache_read_tokens for r in recs),
        "cache_creation": sum(r.cache_creation_tokens for r in recs),
    }


def _check_reconciled(ledger: Ledger) -> None:
    assert _totals(ledger) == TOTAL
    recs = {r.request_id: r for r in ledger.records()}
    truth = ground_truth()["responses"]
    assert isinstance(truth, list)
    for t in truth:
        r = recs[t["request_id"]]
        u = t["usage"]
        assert (r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_creation_tokens) == (
            u["input_tokens"], u["output_tokens"], u["cache_read_input_tokens"], u["cache_creation_input_tokens"],
        )  # fmt: skip
        assert r.cache_creation_5m_tokens == u["cache_creation"]["ephemeral_5m_input_tokens"]
        assert r.session_id == t["session_id"]
        if t["request_id"] == COMPACT_REQUEST_ID:
            assert r.source == "otlp" and r.message_id == ""
        else:
            assert r.source == "both" and r.message_id == t["message_id"]
        assert r.otlp_cost_usd is not None and r.otlp_cost_usd > 0


@pytest.mark.parametrize("order", ["otlp-first", "transcripts-first"])
def test_fixture_reconciles_to_the_ground_truth(tmp_path: Path, order: str) -> None:
    cfg = copy_config(tmp_path)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        if order == "otlp-first":
            store_batches(ledger, _batches())
            ingest_config_dirs(ledger, cfg)
        else:
            ingest_config_dirs(ledger, cfg)
            store_batches(ledger, _batches())
        stats = reconcile_ledger(ledger)
        assert stats.folded == 0 and stats.learned_models == ["claude-opus-5-5"]
        _check_reconciled(ledger)
        # Posting everything again, ingesting and reconciling again: no change.
        store_batches(ledger, _batches())
        ingest_config_dirs(ledger, cfg)
        reconcile_ledger(ledger)
        _check_reconciled(ledger)

        report = reconcile_report(ledger, load_price_table())
    total = report.total
    assert total.ledger.responses == 28 and total.matched == 27 and total.otlp_only == 1
    assert total.transcript_only == 0 and total.token_mismatches == 0
    assert total.otlp_only_by_source == {"compact": 1}
    assert total.transcript.input_tokens == 113923 and total.otlp.input_tokens == 121818
    assert math.isclose(total.cost_claude_code or 0, 1.2005686, rel_tol=1e-9)
    assert math.isclose(total.cost_ours_same_calls or 0, 1.2005686, rel_tol=1e-9)
    assert math.isclose(total.cost_ours_ledger or 0, 1.2005686, rel_tol=1e-9)
    interactive = next(s for s in report.sessions if s.session_id.startswith("bbe7d8d4"))
    assert interactive.otlp_only == 1 and interactive.matched == 6
    assert any("compaction call" in n for n in interactive.notes)
    assert interactive.otlp_metric_tokens == {"input": 31295.0, "output": 3185.0, "cacheRead": 192035.0,
                                              "cacheCreation": 11530.0}  # fmt: skip
    assert any("agrees with Claude Code" in n for n in report.price_notes)
    json.dumps(report.to_json())


def _api(**kw: object) -> ApiRequest:
    base: dict[str, object] = dict(key="e1", session_id="s1", model="claude-opus-5-5", ts_ms=1_000_000,
                                   input_tokens=100, output_tokens=50, cache_read_tokens=1000, cache_creation_tokens=20,
                                   cache_5m_tokens=20, cost_usd=0.001, sequence=7, query_source="sdk")  # fmt: skip
    base.update(kw)
    return ApiRequest(**base)  # type: ignore[arg-type]


def _transcript(**kw: object) -> UsageRecord:
    base: dict[str, object] = dict(message_id="msg_1", request_id="", session_id="s1", timestamp_ms=999_000,
                                   model="claude-opus-5-5", input_tokens=100, output_tokens=50,
                                   cache_creation_5m_tokens=20, cache_read_tokens=1000)  # fmt: skip
    base.update(kw)
    return UsageRecord(**base)  # type: ignore[arg-type]


def _store(ledger: Ledger, *apis: ApiRequest) -> None:
    store_batches(ledger, [ExportBatch("logs", api_requests=list(apis))])


def _upsert(ledger: Ledger, *recs: UsageRecord) -> None:
    with ledger.write():
        ledger.upsert_records(recs)


def test_fallback_match_when_the_event_has_no_request_id(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _upsert(ledger, _transcript(request_id="req_x"))
        _store(ledger, _api(request_id=None))
        (r,) = ledger.records()
        assert r.source == "both" and (r.key, r.request_id) == ("m:msg_1", "req_x") and r.otlp_cost_usd == 0.001


def test_fallback_match_when_the_transcript_has_no_request_id(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _upsert(ledger, _transcript())
        _store(ledger, _api(request_id="req_y"))
        (r,) = ledger.records()
        assert r.source == "both" and r.key == "m:msg_1"


def test_no_fallback_across_sessions_tokens_or_time(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _upsert(ledger, _transcript())
        _store(ledger, _api(key="a", session_id="other", request_id=None))
        _store(ledger, _api(key="b", input_tokens=101, request_id=None, sequence=8))
        _store(ledger, _api(key="c", ts_ms=1_000_000 + 3_600_000, request_id=None, sequence=9))
        sources = sorted((r.key, r.source) for r in ledger.records())
    assert sources == [
        ("m:msg_1", "transcript"),
        ("otlp:other:1000000:7", "otlp"),
        ("otlp:s1:1000000:8", "otlp"),
        ("otlp:s1:4600000:9", "otlp"),
    ]


def test_one_transcript_row_is_claimed_by_one_event_only(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _upsert(ledger, _transcript())
        _store(ledger, _api(key="a", request_id=None), _api(key="b", request_id=None, sequence=8))
        assert sorted(r.source for r in ledger.records()) == ["both", "otlp"]


def test_otlp_only_row_is_folded_into_a_late_transcript(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _store(ledger, _api(request_id=None))
        assert [r.key for r in ledger.records()] == ["otlp:s1:1000000:7"]
        _upsert(ledger, _transcript(request_id="req_z"))
        assert len(list(ledger.records())) == 2  # double counted until reconciled
        stats = reconcile_ledger(ledger, learn=False)
        assert stats.folded == 1
        (r,) = ledger.records()
        assert (r.key, r.request_id) == ("m:msg_1", "req_z") and r.source == "both" and r.otlp_cost_usd == 0.001
        assert reconcile_ledger(ledger, learn=False).folded == 0


def test_late_transcript_with_the_same_request_id_merges_without_reconcile(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _store(ledger, _api(request_id="req_q"))
        _upsert(ledger, _transcript(request_id="req_q"))
        (r,) = ledger.records()
        assert r.source == "both" and r.message_id == "msg_1"


# -- learned prices -----------------------------------------------------------------------


def test_fit_recovers_claude_codes_rates_on_the_fixture(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        store_batches(ledger, _batches())
        (fit,) = learn_prices(ledger)
    # 2.1.330 bills claude-opus-5-5 cache reads at 0.05x input, so the 2-unknown fit is not exact
    # and the cache-read rate is solved for too.
    assert fit.model == "claude-opus-5-5" and fit.exact and fit.events == 28
    assert (fit.input, fit.output, fit.cache_read, fit.cache_write_5m, fit.cache_write_1h) == (
        4,
        20,
        0.2,
        5,
        8,
    )
    assert fit.fit == "input,output,cache_read"


def test_two_unknown_fit_with_standard_multipliers() -> None:
    a, b = 3.0, 15.0

    def cost(i: int, o: int, c5: int, c1: int, cr: int) -> float:
        return (i * a + o * b + c5 * 1.25 * a + c1 * 2 * a + cr * 0.1 * a) / 1e6

    samples = [(1000, 200, 0, 0, 5000), (300, 900, 100, 0, 0)]
    fit = fit_rates("m", [(*s, cost(*s)) for s in samples])
    assert fit is not None and fit.fit == "input,output" and fit.exact
    assert (fit.input, fit.output, fit.cache_read, fit.cache_write_5m, fit.cache_write_1h) == (
        3,
        15,
        0.3,
        3.75,
        6,
    )
    # One equation (or two dependent ones) determines nothing.
    assert fit_rates("m", [(*samples[0], cost(*samples[0]))]) is None
    assert fit_rates("m", [(*samples[0], cost(*samples[0]))] * 3) is None
    # Long-context requests are left out of the fit.
    assert fit_rates("m", [(300_000, 1, 0, 0, 0, 1.0), (*samples[0], cost(*samples[0]))]) is None


def test_unknown_model_is_priced_by_learned_rates(tmp_path: Path) -> None:
    batches = _batches()
    for b in batches:
        for a in b.api_requests:
            a.model = "claude-mystery-9"
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        store_batches(ledger, batches)
        reconcile_ledger(ledger)
        prices = learned_prices(ledger)
        assert [p.model for p in prices] == ["claude-mystery-9"]
        p = prices[0]
        assert p.source == LEARNED_SOURCE == "learned from Claude Code cost_usd"
        assert (p.input, p.output, p.cache_read) == (4, 20, 0.2) and p.date
        table = load_price_table()
        assert table.lookup("claude-mystery-9") is None
        assert add_learned_prices(table, ledger) == ["claude-mystery-9"]
        report = reconcile_report(ledger, table)
        assert report.total.unpriced_models == []
        assert math.isclose(report.total.cost_ours_ledger or 0, 1.2005686, rel_tol=1e-9)
        assert any("priced by rates learned from Claude Code" in n for n in report.price_notes)
        bare = reconcile_report(ledger, load_price_table())
        assert any("not in the price table" in n for n in bare.price_notes)
        assert bare.total.unpriced_models == ["claude-mystery-9"]
        # Known models are not offered unless asked for.
        assert learned_prices(ledger, PriceTable()) and not learned_prices(
            ledger, _table_with("claude-mystery-9")
        )
        assert learned_prices(ledger, _table_with("claude-mystery-9"), include_known=True)


def _table_with(model: str) -> PriceTable:
    t = PriceTable()
    t.add(Price(model, 1, 1, 1, 1, 1))
    return t


def test_report_explains_a_price_table_disagreement(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        store_batches(ledger, _batches())
        reconcile_ledger(ledger)
        table = PriceTable()
        table.add(Price("claude-opus-5-5", 4.0, 20.0, 0.4, 5.0, 8.0, source="test"))
        report = reconcile_report(ledger, table)
    assert any("cache read ours $0.4 vs Claude Code $0.2" in n for n in report.price_notes)
    assert any("the rates differ" in n for n in report.total.notes)


def test_reconcile_command_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = copy_config(tmp_path)
    ledger_path = tmp_path / "l.sqlite3"
    with Ledger.open(ledger_path) as ledger:
        store_batches(ledger, _batches())
    assert cli_main(["reconcile", "--json", "--ledger", str(ledger_path), "--claude-dir", str(cfg)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"]["ledger"]["responses"] == 28
    assert out["total"]["ledger"]["input_tokens"] == TOTAL["input"]
    assert out["total"]["matched"] == 27 and out["total"]["otlp_only"] == 1
    assert len(out["sessions"]) == 5
    assert cli_main(["reconcile", "--ledger", str(ledger_path), "--claude-dir", str(cfg)]) == 0
    text = capsys.readouterr().out
    assert "compaction call" in text and "bbe7d8d4" in text
