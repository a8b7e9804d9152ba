"""A response is its message id; a request id is an alias (issue 16).

Copies that carry either id become one ledger row wherever they come from, credited to the
session that made the call, and rows whose output only pre-end streaming lines gave are
marked partial (estimated) until a later line or OTLP settles it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cchooks.ledger.ingest import ingest_config_dirs
from cchooks.ledger.otlp_store import store_batches
from cchooks.ledger.schema import MIGRATIONS
from cchooks.ledger.store import Ledger
from cchooks.parsers.otlp import ApiRequest, ExportBatch, decode
from cchooks.parsers.transcript import parse_bytes

ORIG, FORK = "11111111-0000-0000-0000-000000000001", "22222222-0000-0000-0000-000000000002"
T0 = "2026-11-22T10:00:00.000Z"


def line(session: str, mid: str = "msg_1", rid: str | None = "req_1", out: int = 50, *, stop: str | None = "end_turn",
         ts: str = T0, named: str | None = None, block: str = "text") -> dict[str, Any]:  # fmt: skip
    obj: dict[str, Any] = {
        "type": "assistant", "sessionId": session, "timestamp": ts, "uuid": f"u-{mid}-{block}",
        "cwd": "/p", "message": {
            "id": mid, "model": "claude-sonnet-4-5-20250929", "role": "assistant",
            "content": [{"type": block}], "stop_reason": stop,
            "usage": {"input_tokens": 100, "output_tokens": out, "cache_read_input_tokens": 1000,
                      "cache_creation_input_tokens": 20,
                      "cache_creation": {"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 0}},
        },
    }  # fmt: skip
    if rid is not None:
        obj["requestId"] = rid
    if named is not None:
        obj["requestSessionId"] = named
    return obj


def user(session: str, ts: str) -> dict[str, Any]:
    return {"type": "user", "sessionId": session, "timestamp": ts, "message": {"role": "user", "content": "hi"}}


def write(config: Path, session: str, lines: list[dict[str, Any]]) -> Path:
    p = config / "projects" / "-p" / f"{session}.jsonl"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return p


def ingest_in_order(ledger: Ledger, config: Path, first: str) -> None:
    from cchooks.ledger.ingest import describe, ingest_file

    files = sorted((config / "projects" / "-p").glob("*.jsonl"), key=lambda p: p.stem != first)
    for f in files:
        ingest_file(ledger, describe(f))


@pytest.mark.parametrize("first", [ORIG, FORK])
def test_200_fork_copy_without_request_id_is_the_original_response(tmp_path: Path, first: str) -> None:
    # 2.0.0: the fork copies the line without requestId (and without requestSessionId).
    write(tmp_path, ORIG, [user(ORIG, T0), line(ORIG)])
    write(tmp_path, FORK, [user(FORK, "2026-11-22T10:05:00.000Z"),
                           line(FORK, rid=None, ts="2026-11-22T10:05:00.000Z"),
                           line(FORK, "msg_2", "req_2", ts="2026-11-22T10:05:01.000Z")])  # fmt: skip
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        ingest_in_order(ledger, tmp_path, first)
        recs = {r.message_id: r for r in ledger.records()}
    assert set(recs) == {"msg_1", "msg_2"}
    assert (recs["msg_1"].session_id, recs["msg_1"].request_id) == (ORIG, "req_1")
    assert recs["msg_1"].timestamp_ms == 1795341600000  # the original's, not the copy's
    assert recs["msg_2"].session_id == FORK


@pytest.mark.parametrize("first", [ORIG, FORK])
def test_2077_fork_copy_older_than_its_file_is_a_copy(tmp_path: Path, first: str) -> None:
    # 2.0.77: the copy keeps requestId and timestamp, only sessionId changes.
    write(tmp_path, ORIG, [user(ORIG, "2026-11-22T09:59:59.000Z"), line(ORIG)])
    write(tmp_path, FORK, [user(FORK, "2026-11-22T10:05:00.000Z"), line(FORK)])
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        ingest_in_order(ledger, tmp_path, first)
        (r,) = ledger.records()
    assert r.session_id == ORIG


def test_request_session_id_decides(tmp_path: Path) -> None:
    write(tmp_path, FORK, [user(FORK, "2026-11-22T10:05:00.000Z"), line(FORK, named=ORIG)])
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        ingest_config_dirs(ledger, tmp_path)
        (r,) = ledger.records()
    assert r.session_id == ORIG


def _api(**kw: Any) -> ApiRequest:
    base: dict[str, Any] = dict(key="e1", session_id=ORIG, model="claude-sonnet-4-5-20250929", ts_ms=1795341601000,
                                request_id="req_1", input_tokens=100, output_tokens=77, cache_read_tokens=1000,
                                cache_creation_tokens=20, cache_5m_tokens=20, cost_usd=0.01)  # fmt: skip
    base.update(kw)
    return ApiRequest(**base)


@pytest.mark.parametrize("otlp_first", [True, False])
def test_otlp_request_id_and_transcript_message_id_are_one_row(tmp_path: Path, otlp_first: bool) -> None:
    write(tmp_path, ORIG, [user(ORIG, T0), line(ORIG, out=1, stop=None)])
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        if otlp_first:
            store_batches(ledger, [ExportBatch("logs", api_requests=[_api()])])
        ingest_config_dirs(ledger, tmp_path)
        if not otlp_first:
            store_batches(ledger, [ExportBatch("logs", api_requests=[_api()])])
        (r,) = ledger.records()
        (link,) = ledger.conn.execute("SELECT rkey FROM otlp_api_requests").fetchall()
    assert (r.key, r.request_id, r.source) == ("m:msg_1", "req_1", "both")
    assert link == ("m:msg_1",)
    # OTLP's complete output corrects the partial line, and the row is no estimate any more.
    assert r.output_tokens == 77 and not r.partial and r.otlp_cost_usd == 0.01


def test_partial_until_a_later_line_or_a_different_count_settles_it() -> None:
    def recs(*lines: dict[str, Any]) -> Any:
        (r,) = parse_bytes("".join(json.dumps(x) + "\n" for x in lines).encode())[0]
        return r

    only_partial = recs(line(ORIG, out=1, stop=None), line(ORIG, out=1, stop=None, block="tool_use"))
    assert only_partial.partial and only_partial.output_tokens == 1
    assert not recs(line(ORIG, out=1, stop=None), line(ORIG, out=9, stop="tool_use")).partial
    # 2.0.x never writes stop_reason; output changes only at message_delta, so 1 then 562 is final
    assert not recs(line(ORIG, out=1, stop=None), line(ORIG, out=562, stop=None, block="b")).partial
    assert not recs(line(ORIG, out=5, stop="end_turn")).partial


def test_estimated_responses_are_counted(tmp_path: Path) -> None:
    from cchooks.ledger.queries import group_sums
    from cchooks.timezones import resolve_tz

    write(tmp_path, ORIG, [user(ORIG, T0), line(ORIG, out=1, stop=None), line(ORIG, "msg_2", "req_2")])
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        ingest_config_dirs(ledger, tmp_path)
        for group in ("daily", "session"):
            ((_key, _model, _lc, t),) = group_sums(ledger, group, resolve_tz("UTC"))
            assert (t.responses, t.estimated_responses) == (2, 1), group


def test_identical_records_in_one_export_are_two_calls_and_a_retry_is_not() -> None:
    rec = {"timeUnixNano": "1795341601000000000", "attributes": [
        {"key": k, "value": {"stringValue": v}} for k, v in {
            "event.name": "api_request", "session.id": ORIG, "model": "claude-sonnet-4-5-20250929",
            "input_tokens": "113", "output_tokens": "23", "event.timestamp": "2026-11-22T10:00:01.000Z"}.items()]}
    body = json.dumps({"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": [rec, rec]}]}]}).encode()
    batch = decode("logs", body, "json")
    assert len({a.key for a in batch.api_requests}) == 2
    retry = decode("logs", body, "json")
    assert [a.key for a in retry.api_requests] == [a.key for a in batch.api_requests]


def test_migration_merges_rows_that_were_one_response(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for m in MIGRATIONS[:7]:  # the schema before message identity (migration 8)
        m(db)
    db.execute("PRAGMA user_version = 7")
    cols = ("rkey, message_id, request_id, session_id, ts_ms, model, input_tokens, output_tokens, cache_5m_tokens,"
            " cache_1h_tokens, cache_read_tokens, source")  # fmt: skip
    rows = [
        # the original (keyed by request id) and a 2.0.0 fork copy keyed by message id, read first
        ("req_1", "msg_1", "req_1", ORIG, 1000, "m", 100, 50, 20, 0, 1000, "both"),
        ("m:msg_1", "msg_1", "", FORK, 2000, "m", 100, 50, 20, 0, 1000, "transcript"),
        ("m:msg_2", "msg_2", "", ORIG, 3000, "m", 1, 2, 0, 0, 0, "transcript"),
        ("req_3", "", "req_3", ORIG, 4000, "m", 5, 6, 0, 0, 0, "otlp"),
    ]
    db.executemany(f"INSERT INTO responses ({cols}) VALUES ({','.join('?' * 12)})", rows)
    db.execute("INSERT INTO otlp_api_requests (ekey, session_id, model, ts_ms, attributes, rkey, received_ms)"
               " VALUES ('e1', ?, 'm', 1000, '{}', 'req_1', 0)", (ORIG,))  # fmt: skip
    db.execute("INSERT INTO meta VALUES ('team_claim', '100')")  # a team ledger has heard of every row
    db.close()
    with Ledger.open(path) as ledger:
        recs = {r.key: r for r in ledger.records()}
        links = ledger.conn.execute("SELECT rkey FROM otlp_api_requests").fetchall()
        rollup = ledger.conn.execute("SELECT sum(responses), sum(input_tokens) FROM usage_rollup").fetchone()
        outbox = {k for (k,) in ledger.conn.execute("SELECT rkey FROM team_outbox")}
    assert set(recs) == {"m:msg_1", "m:msg_2", "req_3"}
    r = recs["m:msg_1"]
    assert (r.session_id, r.request_id, r.timestamp_ms, r.source) == (ORIG, "req_1", 1000, "both")
    assert links == [("m:msg_1",)]
    assert rollup == (3, 106)
    # the team hears that the old keys are gone and the rows are now under their message ids
    assert {"req_1", "m:msg_1"} <= outbox and "m:msg_2" not in outbox


def test_reports_and_statusline_mark_estimates(tmp_path: Path) -> None:
    from cchooks.api import report
    from cchooks.reports.render import render_table
    from cchooks.statusline.figures import gather
    from cchooks.statusline.payload import payload_from_dict
    from cchooks.statusline.render import render_lines
    from cchooks.statusline.settings import StatuslineSettings

    write(tmp_path, ORIG, [user(ORIG, T0), line(ORIG, out=1, stop=None), line(ORIG, "msg_2", "req_2")])
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        ingest_config_dirs(ledger, tmp_path)
        rep = report(ledger, "daily", tz="UTC")
        assert rep.to_json()["totals"]["estimated_responses"] == 1
        table = render_table(rep, width=80)
        assert "~" in table and "lower bound" in table
        settings = StatuslineSettings(colors=False)
        settings.lines = [["session_cost", "tokens"]]
        f = gather(payload_from_dict({"session_id": ORIG}), ledger, settings, 1795341700000,
                   {"session_cost", "tokens"})  # fmt: skip
        text = render_lines(f, settings)[0]
    assert text.count("~") == 2, text
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        store_batches(ledger, [ExportBatch("logs", api_requests=[_api(output_tokens=3)])])
        assert report(ledger, "daily", tz="UTC").totals.estimated_responses == 0
