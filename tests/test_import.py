"""`cchooks import`: one sample file per format (written here from the documented shapes), the edge
cases, idempotence, one transaction, measured-wins, --adopt-limits; parsers never crash."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tomllib
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchooks.cli import main
from cchooks.ledger.store import Ledger
from cchooks.parsers.usage_files import FORMATS, FormatError, decode, detect, parse
from cchooks.records import UsageRecord

BIG = 987_654_321_012  # a huge but real count: must come through exactly

# (format, file name, content, expected token kinds of the file's own usage:
#  input, output, cache writes, cache read, unsplit)
SAMPLES: list[tuple[str, str, dict[str, Any], tuple[int, int, int, int, int]]] = [
    ("token-metrics", "token-metrics.json", {
        "timestamp": "2026-11-20T10:00:00",
        "totals": {"input": 1200, "output": 3400, "cacheRead": 56000, "cacheCreation": 7800,
                   "lastUpdate": "2026-11-20T10:00:00", "model": "claude-sonnet-4-5"},
        "totalUsed": 68400, "model": "claude-sonnet-4-5"}, (1200, 3400, 7800, 56000, 0)),
    ("claude-flow", "token-usage.json", {
        "total": 15000, "input": 9000, "output": 5000,
        "byAgent": {"coordinator": 6000, "coder": {"total": 9000, "input": 6000, "output": 3000}}},
     (9000, 5000, 0, 0, 1000)),
    ("metrics-usage", "usage.json", {"sessions": [
        {"sessionId": "s-1", "timestamp": "2026-11-18T09:00:00Z", "agentType": "coder",
         "tokenUsage": {"total": 3000, "input": 2000, "output": 1000}},
        {"sessionId": "s-2", "timestamp": "2026-11-19T09:00:00Z", "agentType": "reviewer",
         "tokenUsage": {"total": 500, "input": 300, "output": 150}}]}, (2300, 1150, 0, 0, 50)),
    ("usage-tracking", "usage-tracking.json", {
        "version": "2.0", "last_updated": 1795000000,
        "session_management": {"current_session": {"session_start": 1795000000, "next_reset": 1795018000}},
        "plan_configuration": {"current_plan": "max", "limits": {
            "pro": {"total_tokens": 100000, "window_hours": 5}, "max": {"total_tokens": 500000, "window_hours": 5}}},
        "token_usage": {"current_window": {"total_tokens": 42000, "input_tokens": 30000, "output_tokens": 12000,
                                           "total_requests": 17, "first_request": 1795000100, "last_request": 1795003600},
                        "session_history": [], "daily_stats": {}},
        "server_tracking": {"last_active_server": "MAIN", "servers": {
            "MAIN": {"last_active": 1795003600, "session_requests": 10,
                     "session_tokens": {"total": 30000, "input": 21000, "output": 9000},
                     "lifetime_stats": {"total_sessions": 3, "total_requests": 80, "total_tokens": 250000,
                                        "first_seen": 1794000000, "last_seen": 1795003600}},
            "LXC115": {"session_requests": 7, "session_tokens": {"total": 12000, "input": 9000, "output": 3000}}}}},
     (30000, 12000, 0, 0, 0)),
    ("usage-tracking", "usage-tracking-v1.json", {
        "session_start": 1795000000, "next_reset": 1795018000, "tokens_used": 25000, "requests": 9,
        "plan": "pro", "last_server": "LXC115"}, (0, 0, 0, 0, 25000)),
    ("dashboard", "usage.json", {
        "monthlyLimit": 45_000_000, "weeklyLimit": 11_000_000, "sessionLimit": 1_500_000, "resetDay": 1,
        "sessions": [{"timestamp": "2026-11-15T10:00:00", "input": 120000, "output": 30000, "note": "refactor"},
                     {"timestamp": "2026-11-16T11:30:00", "input": BIG, "output": 5, "note": ""}]},
     (120000 + BIG, 30005, 0, 0, 0)),
    ("ccusage", "daily.json", {"daily": [
        {"date": "2026-11-10", "inputTokens": 1000, "outputTokens": 2000, "cacheCreationTokens": 3000,
         "cacheReadTokens": 40000, "totalTokens": 46000, "totalCost": 1.5, "modelsUsed": ["claude-sonnet-4-5"],
         "modelBreakdowns": [{"modelName": "claude-sonnet-4-5", "inputTokens": 1000, "outputTokens": 2000,
                              "cacheCreationTokens": 3000, "cacheReadTokens": 40000, "cost": 1.5}]},
        {"date": "2026-11-11", "inputTokens": 10, "outputTokens": 20, "cacheCreationTokens": 30,
         "cacheReadTokens": 400, "totalTokens": 460, "totalCost": 0.01, "modelsUsed": ["claude-opus-4-5", "claude-haiku-4-5"],
         "modelBreakdowns": [
             {"modelName": "claude-opus-4-5", "inputTokens": 6, "outputTokens": 15, "cacheCreationTokens": 30, "cacheReadTokens": 400},
             {"modelName": "claude-haiku-4-5", "inputTokens": 4, "outputTokens": 5, "cacheCreationTokens": 0, "cacheReadTokens": 0}]}],
        "totals": {"inputTokens": 1010}}, (1010, 2020, 3030, 40400, 0)),
    ("ccusage", "session.json", {"session": [
        {"period": "sess-a", "agent": "claude", "inputTokens": 5, "outputTokens": 6, "cacheCreationTokens": 7,
         "cacheReadTokens": 8, "totalTokens": 26, "totalCost": 0, "metadata": {"lastActivity": "2026-11-12T10:00:00Z"},
         "modelsUsed": ["claude-opus-5-5"], "modelBreakdowns": []}]}, (5, 6, 7, 8, 0)),
    ("ccusage", "monthly.json", {"monthly": [
        {"month": "2026-10", "inputTokens": 100, "outputTokens": 200, "cacheCreationTokens": 300,
         "cacheReadTokens": 400, "totalTokens": 1000, "totalCost": 0.5, "modelsUsed": []}]}, (100, 200, 300, 400, 0)),
    ("stats-cache", "stats-cache.json", {
        "version": 1, "lastComputedDate": "2026-11-20", "firstSessionDate": "2026-10-01T08:00:00.000Z",
        "totalSessions": 12, "totalMessages": 3400,
        "dailyActivity": [{"date": "2026-11-19", "messageCount": 40, "sessionCount": 2, "toolCallCount": 9}],
        "dailyModelTokens": [{"date": "2026-11-19", "tokensByModel": {"claude-opus-4-5": 5000, "claude-haiku-4-5": 700}},
                             {"date": "2026-11-20", "tokensByModel": {"claude-opus-4-5": 300}}],
        "modelUsage": {"claude-opus-4-5": {"inputTokens": 1000, "outputTokens": 4300, "cacheReadInputTokens": 90000,
                                           "cacheCreationInputTokens": 8000, "webSearchRequests": 2, "costUSD": 3.2}}},
     (0, 0, 0, 0, 6000)),
]  # fmt: skip


def write(tmp: Path, name: str, content: object) -> Path:
    p = tmp / name
    p.write_text(json.dumps(content) if not isinstance(content, str) else content)
    return p


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main(argv)
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip().startswith("{") else out.err)


def table_rows(ledger: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(ledger) as db:
        return sorted(db.execute("SELECT * FROM imported_usage").fetchall(), key=repr)


@pytest.mark.parametrize(("fmt", "name", "content", "kinds"), SAMPLES, ids=[s[1] for s in SAMPLES])
def test_each_format_imports_exact_totals_and_twice_changes_nothing(
    fmt: str, name: str, content: dict[str, Any], kinds: tuple[int, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, name, content)
    ledger = tmp_path / "l.db"
    assert detect(content) == fmt
    for named in (fmt, None):  # with the format named, then detected
        argv = ["import", *([named] if named else []), str(path), "--ledger", str(ledger), "--tz", "UTC", "--json"]
        code, doc = run_json(argv, capsys)
        assert code == 0, doc
        f = doc["files"][0]
        assert f["format"] == fmt
        got = (f["input_tokens"], f["output_tokens"], f["cache_creation_tokens"], f["cache_read_tokens"],
               f["unsplit_tokens"])  # fmt: skip
        assert got == kinds
        if named:
            assert f["status"] == "imported" and f["added"] == f["entries"] > 0
            first = table_rows(ledger)
        else:
            assert f["status"] == "already imported" and f["added"] == 0
    assert table_rows(ledger) == first


def test_edge_cases_are_one_line_and_import_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "l.db"
    good = write(tmp_path, "good.json", SAMPLES[6][2])
    daily = json.dumps(SAMPLES[6][2])
    cases = {
        "empty.json": ("", "empty"),
        "truncated.json": (daily[: len(daily) // 2], "truncated"),
        "version.json": (json.dumps({"version": 7, "dailyModelTokens": []}), "version 7"),
        "tracker3.json": (json.dumps({"version": "3.0", "token_usage": {}}), "version '3.0'"),
        "huge.json": (json.dumps({"daily": [{"date": "2026-11-10", "inputTokens": 10**30}]}), "plausible"),
        "negative.json": (json.dumps({"daily": [{"date": "2026-11-10", "inputTokens": -5}]}), "negative"),
        "what.json": (json.dumps({"hello": 1}), "not a usage file"),
        "list.json": ("[1, 2]", "not a usage file"),
    }
    for name, (content, words) in cases.items():
        bad = write(tmp_path, name, content)
        # The good file first: the bad one after it still leaves nothing imported.
        code = main(["import", str(good), str(bad), "--ledger", str(ledger)])
        err = capsys.readouterr().err.strip()
        assert code == 1 and "\n" not in err and name in err and words in err, (name, err)
        assert "Traceback" not in err
    with Ledger.open(ledger) as led:
        assert led.conn.execute("SELECT count(*) FROM imported_usage").fetchone()[0] == 0
        assert led.conn.execute("SELECT count(*) FROM import_files").fetchone()[0] == 0


def test_dry_run_changes_nothing_and_says_what_it_would_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "l.db"
    path = write(tmp_path, "daily.json", SAMPLES[6][2])
    assert main(["import", str(path), "--ledger", str(ledger), "--dry-run"]) == 0
    assert "would import ccusage" in capsys.readouterr().out
    assert table_rows(ledger) == []


def test_a_newer_export_replaces_changed_entries_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "l.db"
    old = SAMPLES[6][2]
    new = json.loads(json.dumps(old))
    new["daily"][1]["outputTokens"] = 25
    new["daily"][1]["modelBreakdowns"][1]["outputTokens"] = 10
    main(["import", str(write(tmp_path, "a.json", old)), "--ledger", str(ledger)])
    capsys.readouterr()
    code, doc = run_json(["import", str(write(tmp_path, "b.json", new)), "--ledger", str(ledger), "--json"], capsys)
    f = doc["files"][0]
    assert (f["added"], f["replaced"], f["unchanged"]) == (0, 1, 2)
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT sum(output_tokens) FROM imported_usage").fetchone()[0] == 2025


def test_measured_wins_and_the_import_is_shown_superseded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "l.db"
    path = write(tmp_path, "daily.json", SAMPLES[6][2])
    assert main(["import", str(path), "--ledger", str(ledger), "--tz", "UTC"]) == 0
    capsys.readouterr()
    from datetime import datetime

    ts = int(datetime(2026, 11, 11, 12, tzinfo=UTC).timestamp() * 1000)
    with Ledger.open(ledger) as led, led.write():
        led.upsert_records([UsageRecord("m1", "r1", "sess-x", ts, "claude-opus-4-5", 100, 50)])
    argv = ["report", "daily", "--ledger", str(ledger), "--no-ingest", "--tz", "UTC", "--json", "--imported"]
    code, doc = run_json(argv, capsys)
    assert code == 0
    assert doc["totals"]["input_tokens"] == 100 and doc["totals"]["responses"] == 1  # measured only
    entries = doc["imported"]["entries"]
    by_label = {(e["label"], e["models"][0] if e["models"] else None): e for e in entries}
    assert by_label[("2026-11-11", "claude-opus-4-5")]["superseded"] is True
    assert by_label[("2026-11-10", "claude-sonnet-4-5")]["superseded"] is False
    assert doc["imported"]["superseded"] == 2 and "measured wins" in doc["imported"]["rule"]
    # A day's report leaves other days' imports out; the text report marks them.
    assert main(["report", "daily", "--ledger", str(ledger), "--no-ingest", "--tz", "UTC", "--imported",
                 "--since", "2026-11-11", "--until", "2026-11-11"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "Imported usage" in text and "superseded" in text and "2026-11-10" not in text


def test_adopt_limits_writes_the_config_atomically_through_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[report]\ntimezone = "UTC"\n')
    path = write(tmp_path, "usage.json", SAMPLES[5][2])
    argv = ["import", str(path), "--ledger", str(tmp_path / "l.db"), "--config", str(cfg), "--adopt-limits"]
    assert main([*argv, "--dry-run"]) == 0
    assert "would write [limits]" in capsys.readouterr().out
    assert tomllib.loads(cfg.read_text()) == {"report": {"timezone": "UTC"}}
    assert main(argv) == 0
    written = tomllib.loads(cfg.read_text())
    assert written == {"report": {"timezone": "UTC"}, "limits": {
        "five_hour_tokens": 1_500_000, "weekly_tokens": 11_000_000, "monthly_tokens": 45_000_000,
        "token_measure": "no_cache_read"}}  # fmt: skip
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".config")] == []
    # The tracker's v1 file: its plan's 5-hour limit, as v2's migration defaults give it.
    v1 = write(tmp_path, "v1.json", SAMPLES[4][2])
    assert main(["import", str(v1), "--ledger", str(tmp_path / "l.db"), "--config", str(cfg), "--adopt-limits"]) == 0
    limits = tomllib.loads(cfg.read_text())["limits"]
    assert limits["five_hour_tokens"] == 100_000 and limits["token_measure"] == "input_output"
    assert main(["limits", "--ledger", str(tmp_path / "l.db"), "--config", str(cfg), "--json"]) == 0


def test_v1_tracker_reads_as_its_v2_migration() -> None:
    from cchooks.parsers.usage_files.tracker import migrate_v1

    v1 = SAMPLES[4][2]
    a = parse("usage-tracking", v1, UTC)
    b = parse("usage-tracking", migrate_v1(v1), UTC)
    assert [(e.key, e.tokens, e.start_ms, e.end_ms) for e in a.entries] == [
        (e.key, e.tokens, e.start_ms, e.end_ms) for e in b.entries
    ]
    assert a.limits is not None and a.limits.five_hour_tokens == 100_000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
# Shapes near the real ones, so the parsers' deeper branches see odd values too.
KEYS = ["daily", "session", "monthly", "sessions", "totals", "byAgent", "token_usage", "current_window",
        "server_tracking", "servers", "session_tokens", "plan_configuration", "limits", "dailyModelTokens",
        "tokensByModel", "modelUsage", "date", "inputTokens", "tokenUsage", "input", "output", "total",
        "timestamp", "version", "modelBreakdowns", "sessionLimit", "tokens_used", "sessionId"]  # fmt: skip
near = st.recursive(
    st.none() | st.integers(-5, 10**16) | st.floats() | st.sampled_from(["2026-11-10", "x", "2026-13", "1.0", "2.0"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values | near, fmt=st.sampled_from([None, *FORMATS]))
def test_parsers_never_crash_on_arbitrary_json(value: object, fmt: str | None) -> None:
    try:
        parsed = parse(fmt, value, UTC)
    except FormatError as exc:
        assert "\n" not in str(exc)
        return
    for e in parsed.entries:
        assert e.tokens >= 0


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64))
def test_decode_never_crashes_on_bytes(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        decode(data)
