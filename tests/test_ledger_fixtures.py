"""The ledger reproduces the real Claude Code 2.1.330 ground truth exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cchooks.api import ingest, open_ledger, report


def _truth_by_session(gt: dict, include_compact: bool = False) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in gt["responses"]:
        if r["step"] == "compact_summary" and not include_compact:
            continue  # on no transcript line: only OTLP sees it
        u = r["usage"]
        s = out.setdefault(r["session_id"], dict(n=0, input=0, output=0, c5=0, c1=0, cr=0))
        s["n"] += 1
        s["input"] += u["input_tokens"]
        s["output"] += u["output_tokens"]
        s["c5"] += u["cache_creation"]["ephemeral_5m_input_tokens"]
        s["c1"] += u["cache_creation"]["ephemeral_1h_input_tokens"]
        s["cr"] += u["cache_read_input_tokens"]
    return out


def test_ledger_matches_ground_truth_per_response(claude_dir: Path, ledger_path: Path, ground_truth: dict) -> None:
    with open_ledger(ledger_path) as led:
        result = ingest(led, claude_dir)
        assert result.files_read == 9
        records = {r.request_id: r for r in led.records()}
    expected = {r["request_id"]: r for r in ground_truth["responses"] if r["step"] != "compact_summary"}
    assert len(records) == 27
    assert set(records) == set(expected)
    for rid, exp in expected.items():
        rec = records[rid]
        u = exp["usage"]
        assert rec.message_id == exp["message_id"]
        assert rec.session_id == exp["session_id"], rid
        assert rec.input_tokens == u["input_tokens"]
        assert rec.output_tokens == u["output_tokens"]
        assert rec.cache_read_tokens == u["cache_read_input_tokens"]
        assert rec.cache_creation_5m_tokens == u["cache_creation"]["ephemeral_5m_input_tokens"]
        assert rec.cache_creation_1h_tokens == u["cache_creation"]["ephemeral_1h_input_tokens"]
        assert rec.agent_id == exp["agent_id"]
        assert (rec.agent_type == "general-purpose") == (exp["agent_id"] is not None)
        assert rec.model == "claude-opus-5-5"
        assert rec.project == "/tmp/ccwork/proj"


def test_session_report_matches_summary(claude_dir: Path, ledger_path: Path, ground_truth: dict) -> None:
    truth = _truth_by_session(ground_truth)
    with open_ledger(ledger_path) as led:
        ingest(led, claude_dir)
        rep = report(led, "session", tz="UTC")
    got = {
        row.key: dict(
            n=row.totals.responses, input=row.totals.input_tokens, output=row.totals.output_tokens,
            c5=row.totals.cache_creation_5m_tokens, c1=row.totals.cache_creation_1h_tokens,
            cr=row.totals.cache_read_tokens,
        )
        for row in rep.rows
    }
    assert got == truth
    # The fork is credited only its own response.
    assert got["2a4d1bfa-0da0-4d98-8a2e-c5a68aedd602"] == dict(n=1, input=6786, output=896, c5=606, c1=400, cr=33006)
    assert rep.totals.input_tokens == 113923
    assert rep.totals.cache_read_tokens == 707103
    assert rep.unpriced_models == []


def test_cost_equals_claude_codes_own_cost(claude_dir: Path, ledger_path: Path) -> None:
    # Claude Code's OTLP cost_usd summed over the scenarios, minus the compaction call
    # (7895 in / 40005 read / 455 out, not in any transcript).
    claude_code_total = 0.2441052 + 0.2442804 + 0.0578076 + 0.0578368 + 0.0578952 + 0.2451564 + 0.293487
    compact = (7895 * 4 + 40005 * 0.2 + 455 * 20) / 1e6
    with open_ledger(ledger_path) as led:
        ingest(led, claude_dir)
        rep = report(led, "daily", tz="UTC")
    assert abs(rep.totals.cost_usd - (claude_code_total - compact)) < 1e-9


def test_cost_state_and_tool_results_never_counted(claude_dir: Path, ledger_path: Path) -> None:
    lines = []
    for f in sorted(claude_dir.rglob("*.jsonl")):
        lines += [json.loads(x) for x in f.read_text().splitlines()]
    assert any(x.get("type") == "cost-state" for x in lines)
    with open_ledger(ledger_path) as led:
        ingest(led, claude_dir)
        total = report(led, "daily", tz="UTC").totals
    # cost-state totals would add at least their inputTokens again
    assert total.input_tokens == 113923


def test_second_run_reads_nothing_and_appends_only_new_bytes(claude_dir: Path, ledger_path: Path) -> None:
    with open_ledger(ledger_path) as led:
        first = ingest(led, claude_dir)
        again = ingest(led, claude_dir)
        assert again.files_read == 0 and again.bytes_read == 0
        target = next(claude_dir.rglob("fcfe8de0-*.jsonl"))
        line = json.loads(next(x for x in target.read_text().splitlines() if '"assistant"' in x and "usage" in x))
        line["message"]["id"] = "msg_new"
        line["requestId"] = "req_new"
        added = (json.dumps(line) + "\n").encode()
        with target.open("ab") as fh:
            fh.write(added)
        third = ingest(led, claude_dir)
        assert third.files_read == 1
        assert third.bytes_read == len(added)
        assert led.conn.execute("select count(*) from responses").fetchone()[0] == 28
    assert first.bytes_read > 0


def test_history_survives_deleted_transcripts(claude_dir: Path, ledger_path: Path) -> None:
    with open_ledger(ledger_path) as led:
        ingest(led, claude_dir)
        for f in claude_dir.rglob("*.jsonl"):
            f.unlink()
        ingest(led, claude_dir)
        assert report(led, "daily", tz="UTC").totals.responses == 27


def test_truncated_and_replaced_files_are_reread_without_double_counting(claude_dir: Path, ledger_path: Path) -> None:
    target = next(claude_dir.rglob("34534eda-*.jsonl"))
    original = target.read_bytes()
    with open_ledger(ledger_path) as led:
        ingest(led, claude_dir)
        # Replace with a different file of the same content plus one response.
        target.unlink()
        target.write_bytes(b'{"type":"summary"}\n' + original)
        r = ingest(led, claude_dir)
        assert r.files_reset == 1
        # Truncate to half, then restore.
        target.write_bytes(original[: len(original) // 2])
        ingest(led, claude_dir)
        target.write_bytes(original)
        ingest(led, claude_dir)
        assert report(led, "daily", tz="UTC").totals.responses == 27


def test_cli_report_json_shape(claude_dir: Path, ledger_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cchooks.cli", "report", "daily", "--json", "--tz", "UTC",
         "--claude-dir", str(claude_dir), "--ledger", str(ledger_path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(out.stdout)
    assert set(data) >= {"rows", "totals", "unpriced_models"}
    assert data["rows"][0]["date"] == "2026-11-22"
    for field in ("responses", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
                  "total_tokens", "cost_usd"):  # fmt: skip
        assert field in data["totals"] and field in data["rows"][0]
    assert data["totals"]["responses"] == 27
    assert data["totals"]["total_tokens"] == 113923 + 13573 + 49103 + 707103
