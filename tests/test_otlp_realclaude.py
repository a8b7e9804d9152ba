"""End to end with the real Claude Code 2.1.330: it exports to `cchooks otlp serve` (offline namespace).

p-json exports http/json, p-protobuf http/protobuf, both to a cchooks receiver started inside the
harness's network namespace. Then the transcripts are ingested and reconciled: every mock answer
(the ground truth) must be one ledger response, confirmed by both witnesses, with exact tokens.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from cchooks.ledger.ingest import ingest_config_dirs
from cchooks.ledger.reconcile import reconcile_ledger, reconcile_report
from cchooks.ledger.store import Ledger
from cchooks.pricing import load_price_table
from tests.realclaude import harness
from tests.realclaude.fixtures import realclaude, realclaude_ready  # noqa: F401
from tests.test_otlp_common import ROOT

pytestmark = pytest.mark.realclaude


def test_real_claude_exports_into_cchooks_receiver(realclaude: Any, tmp_path: Path) -> None:  # noqa: F811
    ledger_path = tmp_path / "ledger.sqlite3"
    port_file = tmp_path / "otlp.port"
    log = tmp_path / "receiver.log"
    serve = (
        f"exec {shlex.quote(sys.executable)} -m cchooks otlp serve --port 4318"
        f" --ledger {shlex.quote(str(ledger_path))} --port-file {shlex.quote(str(port_file))}"
        f" 2>{shlex.quote(str(log))}"
    )
    res = realclaude(
        ["p-json", "p-protobuf"],
        otlp_endpoint="http://127.0.0.1:4318",
        extra_inside_cmd=serve,
        extra_inside_ready=f"test -s {shlex.quote(str(port_file))}",
        extra_stop_wait=20,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert res.ok, res.describe()
    assert res["p-json"].otlp_protocol == "http/json" and res["p-protobuf"].otlp_protocol == "http/protobuf"

    truth = [(s, r) for s in ("p-json", "p-protobuf") for r in res[s].responses]
    assert len(truth) == 12

    with Ledger.open(ledger_path) as ledger:
        events = ledger.conn.execute("SELECT request_id, session_id FROM otlp_api_requests").fetchall()
        assert sorted(rid for rid, _sid in events) == sorted(r["request_id"] for _s, r in truth)
        # Every OTLP call is in the ledger as soon as it arrived (source otlp until transcripts are read).
        assert len(list(ledger.records())) == 12

        ingest_config_dirs(ledger, res.config_dir)
        reconcile_ledger(ledger)
        records = {r.request_id: r for r in ledger.records()}
        assert len(records) == 12
        for scenario, t in truth:
            r = records[t["request_id"]]
            u = t["usage"]
            assert r.source == "both", (scenario, t["request_id"])
            assert r.message_id == t["message_id"]
            assert r.session_id == res[scenario].session_id
            assert (r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_creation_tokens) == (
                u["input_tokens"], u["output_tokens"], u["cache_read_input_tokens"],
                u["cache_creation_input_tokens"],
            )  # fmt: skip
            assert r.otlp_cost_usd is not None and r.otlp_cost_usd > 0

        report = reconcile_report(ledger, load_price_table())
        metric_tokens = dict(
            ledger.conn.execute(
                "SELECT type, sum(delta) FROM otlp_points WHERE metric = 'claude_code.token.usage' GROUP BY type"
            ).fetchall()
        )
    for scenario in ("p-json", "p-protobuf"):
        s = next(x for x in report.sessions if x.session_id == res[scenario].session_id)
        totals = res[scenario].usage_totals()
        assert s.matched == 6 and s.transcript_only == 0 and s.otlp_only == 0 and s.token_mismatches == 0
        assert (s.ledger.input_tokens, s.ledger.output_tokens, s.ledger.cache_read_tokens,
                s.ledger.cache_creation_tokens) == (
            totals["input"], totals["output"], totals["cache_read"], totals["cache_creation"])  # fmt: skip
        assert s.otlp_metric_tokens == {
            "input": totals["input"], "output": totals["output"], "cacheRead": totals["cache_read"],
            "cacheCreation": totals["cache_creation"],
        }  # fmt: skip
        assert s.notes == [] or all("rates differ" not in n for n in s.notes)
    want = {
        "input": sum(res[s].usage_totals()["input"] for s in ("p-json", "p-protobuf")),
        "output": sum(res[s].usage_totals()["output"] for s in ("p-json", "p-protobuf")),
    }
    assert metric_tokens["input"] == want["input"] and metric_tokens["output"] == want["output"]
    assert harness.CC_VERSION == "2.1.330"
