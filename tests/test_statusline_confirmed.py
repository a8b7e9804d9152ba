"""The statusline's OTLP confirmation (`✓`) and OTLP-only usage, against a real ledger.

A session's ledger figures are marked confirmed when an OTLP api_request event of the session
arrived in the last 60 s and every response since its first event is source 'both' or
'otlp'; OTLP-only calls (the /compact summary) count in every figure either way.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cchooks.ledger import live
from cchooks.ledger.otlp_store import store_many
from cchooks.ledger.store import Ledger
from cchooks.parsers.otlp import ApiRequest, ExportBatch
from cchooks.pricing import load_price_table
from cchooks.records import SOURCE_TRANSCRIPT, UsageRecord
from cchooks.statusline.figures import CONFIRMED, LEDGER, Figures, gather
from cchooks.statusline.payload import payload_from_dict
from cchooks.statusline.render import render_lines
from cchooks.statusline.settings import StatuslineSettings, settings_from_config

ROOT = Path(__file__).resolve().parent.parent
MODEL = "claude-opus-5-5"
SID = "sess-confirm"
T0 = 1_795_347_900_000  # responses' times
NOW = T0 + 120_000  # the statusline's clock
SEGMENTS = {"cost", "tokens"}

# (request id, input, output, 5m write, 1h write, cache read): the interactive fixture's first
# two main-thread calls and its /compact summary call (OTLP only).
TURN1 = ("req_t1", 1235, 565, 1505, 500, 30005)
TURN2 = ("req_t2", 2345, 675, 2205, 800, 31005)
COMPACT = ("req_compact", 7895, 455, 0, 0, 40005)


def _tokens(call: tuple[str, int, int, int, int, int]) -> int:
    return sum(call[1:])


def _usd(call: tuple[str, int, int, int, int, int]) -> float:
    # claude-opus-5-5 in the bundled table: $4 in, $20 out, $5 / $8 cache writes, $0.20 cache read
    _rid, inp, out, c5, c1, cr = call
    return (inp * 4 + out * 20 + c5 * 5 + c1 * 8 + cr * 0.2) / 1e6


def transcript(led: Ledger, call: tuple[str, int, int, int, int, int], ts: int, session: str = SID) -> None:
    rid, inp, out, c5, c1, cr = call
    rec = UsageRecord(f"msg_{rid}", rid, session, ts, MODEL, inp, out, c5, c1, cr)
    with led.write():
        led.upsert_records([rec])


def otlp(
    led: Ledger,
    call: tuple[str, int, int, int, int, int],
    ts: int,
    received_ms: int,
    session: str = SID,
    query_source: str = "repl_main_thread",
) -> None:
    rid, inp, out, c5, c1, cr = call
    a = ApiRequest(
        key=f"ev-{session}-{rid}", session_id=session, model=MODEL, ts_ms=ts, request_id=rid,
        input_tokens=inp, output_tokens=out, cache_read_tokens=cr, cache_creation_tokens=c5 + c1,
        cache_5m_tokens=c5, cache_1h_tokens=c1, cost_usd=_usd(call), query_source=query_source,
    )  # fmt: skip
    with led.write():
        store_many(led, [ExportBatch("logs", api_requests=[a])], received_ms)


@pytest.fixture
def led(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger.open(tmp_path / "ledger.sqlite3")
    yield ledger
    ledger.close()


def figures(led: Ledger, cost_usd: float | None = None, now: int = NOW) -> Figures:
    payload = payload_from_dict({"session_id": SID, "cost": {"total_cost_usd": cost_usd}})
    return gather(payload, led, StatuslineSettings(colors=False), now, SEGMENTS)


def line(led: Ledger, cost_usd: float | None = None, now: int = NOW, **settings: str) -> str:
    s = StatuslineSettings(colors=False)
    s.lines = [["session_cost", "tokens"]]
    for k, v in settings.items():
        setattr(s, k, v)
    f = figures(led, cost_usd, now)
    return render_lines(f, s)[0]


def sources(led: Ledger) -> dict[str, str]:
    return dict(
        led.conn.execute("SELECT request_id, source FROM responses WHERE session_id = ?", (SID,)).fetchall()
    )


def test_transcripts_alone_are_ledger_figures(led: Ledger) -> None:
    transcript(led, TURN1, T0)
    transcript(led, TURN2, T0 + 5_000)
    assert not live.session_confirmed(led, SID, NOW)
    f = figures(led)
    assert f.session is not None and f.session.responses == 2 and not f.session_confirmed
    tokens = _tokens(TURN1) + _tokens(TURN2)
    assert line(led) == f"${_usd(TURN1) + _usd(TURN2):.2f}* session | {tokens:,}* tok"


def test_fresh_agreeing_otlp_confirms_and_otlp_only_calls_count(led: Ledger) -> None:
    transcript(led, TURN1, T0)
    transcript(led, TURN2, T0 + 5_000)
    otlp(led, TURN1, T0 + 200, received_ms=NOW - 50_000)
    otlp(led, TURN2, T0 + 5_200, received_ms=NOW - 40_000)
    otlp(led, COMPACT, T0 + 30_000, received_ms=NOW - 30_000, query_source="compact")
    assert sources(led) == {"req_t1": "both", "req_t2": "both", "req_compact": "otlp"}
    assert live.session_confirmed(led, SID, NOW)

    f = figures(led)
    assert f.session_confirmed and f.session is not None and f.session.responses == 3
    calls = (TURN1, TURN2, COMPACT)
    usd, tokens = sum(_usd(c) for c in calls), sum(_tokens(c) for c in calls)
    assert f.session.total_tokens == tokens
    assert f.session.cost_usd == pytest.approx(usd, abs=1e-12)
    assert f.session.cost_usd == pytest.approx(live.session_spend(led, load_price_table(), SID).cost_usd)
    assert line(led) == f"${usd:.2f}✓ session | {tokens:,}✓ tok"
    # Claude Code's own cost needs no confirmation: it keeps no mark; the tokens still get theirs.
    assert line(led, cost_usd=0.1234) == f"$0.12 session | {tokens:,}✓ tok"
    # Other marks, or none (then the ledger's).
    assert line(led, confirmed_marker="=") == f"${usd:.2f}= session | {tokens:,}= tok"
    assert line(led, confirmed_marker="") == f"${usd:.2f}* session | {tokens:,}* tok"
    assert line(led, confirmed_marker="", ledger_marker="") == f"${usd:.2f} session | {tokens:,} tok"


def test_otlp_older_than_a_minute_confirms_nothing(led: Ledger) -> None:
    transcript(led, TURN1, T0)
    otlp(led, TURN1, T0 + 200, received_ms=NOW - 60_001)
    assert sources(led) == {"req_t1": "both"}
    assert not live.session_confirmed(led, SID, NOW)
    assert line(led).endswith(f"{_tokens(TURN1):,}* tok")
    assert live.session_confirmed(led, SID, NOW - 1)  # 60 s to the millisecond
    assert live.session_confirmed(led, SID, NOW, fresh_ms=120_000)


def test_a_transcript_only_response_after_the_first_event_disagrees(led: Ledger) -> None:
    transcript(led, TURN1, T0)
    otlp(led, TURN1, T0 + 200, received_ms=NOW - 5_000)
    assert live.session_confirmed(led, SID, NOW)
    # Turn 2 is in the transcript, its event not here yet: not confirmed until it arrives.
    transcript(led, TURN2, T0 + 5_000)
    assert not live.session_confirmed(led, SID, NOW)
    assert line(led).endswith("* tok")
    otlp(led, TURN2, T0 + 5_200, received_ms=NOW - 1_000)
    assert live.session_confirmed(led, SID, NOW)
    assert line(led).endswith("✓ tok")


def test_responses_before_the_first_event_do_not_count_against_it(led: Ledger) -> None:
    # Telemetry switched on mid-session: what came before has no event and cannot have one.
    transcript(led, TURN1, T0)
    transcript(led, TURN2, T0 + 60_000)
    otlp(led, TURN2, T0 + 60_200, received_ms=NOW - 1_000)
    assert sources(led) == {"req_t1": "transcript", "req_t2": "both"}
    assert live.session_confirmed(led, SID, NOW)
    assert line(led).endswith(f"{_tokens(TURN1) + _tokens(TURN2):,}✓ tok")


def test_another_sessions_otlp_confirms_nothing_here(led: Ledger) -> None:
    transcript(led, TURN1, T0)
    transcript(led, TURN2, T0, session="other")
    otlp(led, TURN2, T0 + 200, received_ms=NOW - 1_000, session="other")
    assert live.session_confirmed(led, "other", NOW)
    assert not live.session_confirmed(led, SID, NOW)
    assert not live.session_confirmed(led, "no-such-session", NOW)


def test_an_otlp_only_session_is_confirmed(led: Ledger) -> None:
    # e.g. transcripts on another machine: OTLP is the only witness, and it is fresh.
    otlp(led, COMPACT, T0, received_ms=NOW - 1_000, query_source="compact")
    f = figures(led)
    assert f.session_confirmed and f.session is not None and f.session.total_tokens == _tokens(COMPACT)


def test_no_session_figures_no_confirmation_query(led: Ledger) -> None:
    payload = payload_from_dict({"session_id": SID, "cost": {"total_cost_usd": 0.5}})
    f = gather(payload, led, StatuslineSettings(colors=False), NOW, {"model", "context"})
    assert f.session is None and not f.session_confirmed


def test_the_confirmation_is_one_statement_of_index_seeks(led: Ledger) -> None:
    params = (SID, NOW, SOURCE_TRANSCRIPT)
    plan = [r[3] for r in led.conn.execute("EXPLAIN QUERY PLAN " + live._CONFIRMED_SQL, params)]
    searches = [p for p in plan if p.startswith("SEARCH")]
    assert not [p for p in plan if p.startswith("SCAN") and "CONSTANT ROW" not in p], plan
    assert any("otlp_api_requests_received" in p for p in searches), plan
    assert any("otlp_api_requests_session" in p for p in searches), plan
    assert any("responses_session" in p for p in searches), plan


def test_an_older_ledger_gets_the_indexes(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    Ledger.open(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP INDEX otlp_api_requests_received")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    with Ledger.open(path) as led:
        names = {n for (n,) in led.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "otlp_api_requests_received" in names
        assert led.conn.execute("PRAGMA user_version").fetchone()[0] >= 4


def test_confirmed_marker_setting() -> None:
    from cchooks.config.model import StatuslineConfig

    assert StatuslineConfig().confirmed_marker == StatuslineSettings().confirmed_marker == "✓"
    cfg = StatuslineConfig(confirmed_marker="=").model_dump(mode="json")
    assert settings_from_config({"statusline": cfg}).confirmed_marker == "="
    assert CONFIRMED != LEDGER


def test_the_statusline_command_prints_the_mark(led: Ledger, tmp_path: Path) -> None:
    import time

    now = int(time.time() * 1000)
    transcript(led, TURN1, now - 10_000)
    otlp(led, TURN1, now - 9_800, received_ms=now - 5_000)
    otlp(led, COMPACT, now - 4_000, received_ms=now - 3_000, query_source="compact")
    led.close()
    payload = {"session_id": SID, "model": {"id": MODEL, "display_name": "Opus 5.5"},
               "cost": {"total_cost_usd": 0.06}}  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-m", "cchooks", "statusline", "--ledger", str(led.path), "--no-ingest",
         "--color", "never", "--config", str(tmp_path / "none.toml")],
        input=json.dumps(payload), capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0 and r.stderr == ""
    tokens = _tokens(TURN1) + _tokens(COMPACT)
    assert r.stdout.startswith("Opus 5.5 | $0.06 session / ")  # Claude Code's own cost, then today's
    assert f" | {tokens:,}✓ tok | " in r.stdout
