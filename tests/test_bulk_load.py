"""Backfills into an empty ledger: loaded without the secondary indexes, which always come back
(also after a crash), and the same ledger whichever way the parse processes start."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchooks.ledger import ingest
from cchooks.ledger.schema import REBUILD_ROLLUP
from cchooks.ledger.store import Ledger
from tests.test_ledger_robustness import _ledger_totals, _write_corpus
from tests.transcript_factory import totals

INDEXES = {"responses_ts", "responses_session", "responses_request"}


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def _dump(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT * FROM responses ORDER BY rkey").fetchall()
        rollup = db.execute("SELECT * FROM usage_rollup ORDER BY 1, 2, 3").fetchall()
        dims = db.execute("SELECT * FROM usage_dims WHERE responses > 0 ORDER BY 1, 2, 3, 4, 5").fetchall()
    assert dims
    return rows + rollup + dims


def _backfill(base: Path, ledger: Path, workers: int, method: str | None = None) -> None:
    with Ledger.open(ledger) as led:
        files = list(ingest.discover(base / "projects"))
        ingest.ingest_files(led, files, workers=workers, start_method=method)


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    # A small corpus taken as a bulk, parallel backfill (the thresholds are for real histories).
    monkeypatch.setattr(ingest, "BULK_BYTES", 0)
    monkeypatch.setattr(ingest, "TASK_BYTES", 64 << 10)
    resps = _write_corpus(tmp_path / "claude", 24, 30, seed=5)
    return tmp_path / "claude", totals(resps)


def test_cold_backfill_builds_the_indexes_it_skipped(tmp_path: Path, corpus: tuple[Path, dict[str, int]]) -> None:
    base, want = corpus
    _backfill(base, tmp_path / "cold.db", workers=1)
    assert _indexes(tmp_path / "cold.db") >= INDEXES
    assert _ledger_totals(tmp_path / "cold.db") == want
    # The same rows as a ledger that had the indexes all along (a warm one, file by file).
    with Ledger.open(tmp_path / "warm.db") as led:
        for tf in ingest.discover(base / "projects"):
            ingest.ingest_file(led, tf)
    assert _dump(tmp_path / "cold.db") == _dump(tmp_path / "warm.db")


def test_indexes_dropped_by_a_crashed_backfill_come_back(tmp_path: Path, corpus: tuple[Path, dict[str, int]]) -> None:
    base, want = corpus
    ledger = tmp_path / "l.db"
    with Ledger.open(ledger) as led:
        led.drop_indexes_if_empty()  # what a backfill killed before its end leaves behind
    assert not INDEXES & _indexes(ledger)
    _backfill(base, ledger, workers=1)
    assert _indexes(ledger) >= INDEXES
    assert _ledger_totals(ledger) == want
    with Ledger.open(ledger) as led:
        assert led.meta_get("indexes_dropped") is None
        led.drop_indexes_if_empty()  # not empty: the indexes stay
    assert _indexes(ledger) >= INDEXES


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_parallel_backfill_gives_the_same_ledger_however_workers_start(
    tmp_path: Path, corpus: tuple[Path, dict[str, int]], method: str
) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    base, want = corpus
    _backfill(base, tmp_path / "one.db", workers=1)
    _backfill(base, tmp_path / "par.db", workers=2, method=method)
    assert _ledger_totals(tmp_path / "par.db") == want
    assert _dump(tmp_path / "par.db") == _dump(tmp_path / "one.db")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_session_rollup_always_equals_the_responses_it_summarises(tmp_path: Path, data: st.DataObject) -> None:
    """Writes through the per-row triggers (inserts, better copies, re-credited sessions, folds)
    leave usage_dims as a rebuild from the responses makes it."""
    from cchooks.records import UsageRecord

    path = tmp_path / f"l{data.draw(st.integers(0, 10**9))}.db"
    with Ledger.open(path) as led:
        for _ in range(data.draw(st.integers(1, 6))):
            recs = [
                UsageRecord(
                    data.draw(st.sampled_from([f"m{k}", ""])), f"r{k}", data.draw(st.sampled_from(["s", "t"])),
                    data.draw(st.integers(0, 10**9)), data.draw(st.sampled_from(["a", "b"])),
                    data.draw(st.integers(0, 300_000)), data.draw(st.integers(0, 5000)), 0, 0,
                    data.draw(st.integers(0, 100_000)),
                    agent_id=data.draw(st.sampled_from([None, "x"])), project=data.draw(st.sampled_from([None, "p"])),
                    project_dir="d", source=data.draw(st.sampled_from(["transcript", "otlp"])),
                    credit=data.draw(st.integers(0, 3)),
                )
                for k in data.draw(st.lists(st.integers(0, 9), max_size=8))
            ]
            with led.write():
                led.upsert_records(recs)
        q = (
            "SELECT session_id, project, agent, model, long_context, responses, input_tokens, output_tokens,"
            " cache_read_tokens, first_ms, last_ms FROM usage_dims WHERE responses > 0 ORDER BY 1, 2, 3, 4, 5"
        )
        kept = led.conn.execute(q).fetchall()
        with led.write():
            for sql in REBUILD_ROLLUP:
                led.conn.execute(sql)
        assert kept == led.conn.execute(q).fetchall()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_blocks_from_the_rollup_equal_blocks_from_the_responses(tmp_path: Path, data: st.DataObject) -> None:
    from cchooks.api import price_table
    from cchooks.records import UsageRecord
    from cchooks.reports.query import _bucket_items
    from cchooks.windows import session_blocks

    path = tmp_path / f"b{data.draw(st.integers(0, 10**9))}.db"
    t = 1_760_000_000_000
    recs = []
    for k in range(data.draw(st.integers(1, 60))):
        # steps from seconds to days: same bucket, same block, the 5-hour edges, idle gaps
        t += data.draw(st.sampled_from([1, 60_000, 899_999, 900_000, 3_600_000, 17_999_999, 18_000_000, 86_400_000]))
        model = data.draw(st.sampled_from(["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "mystery"]))
        recs.append(UsageRecord(f"m{k}", f"r{k}", "s", t, model, data.draw(st.integers(0, 300_000)),
                                data.draw(st.integers(0, 5000)), 10, 0, data.draw(st.integers(0, 100_000))))
    with Ledger.open(path) as led:
        with led.write():
            led.upsert_records(recs)
        prices = price_table(led)
        items = _bucket_items(led, None, None, prices)
        records = list(led.records())
    assert items is not None
    now = t + data.draw(st.sampled_from([0, 3_600_000, 10 * 3_600_000]))
    got = session_blocks(items, now, prices.record_cost)
    want = session_blocks(records, now, prices.record_cost)

    def shape(b):  # type: ignore[no-untyped-def]
        tot = b.totals
        return (b.start_ms, b.end_ms, b.is_gap, b.is_active, tot.responses, tot.input_tokens, tot.output_tokens,
                tot.cache_read_tokens, tot.first_ms, tot.last_ms, sorted(tot.models), tot.unpriced_tokens)

    assert [shape(b) for b in got] == [shape(b) for b in want]
    assert [b.totals.cost_usd for b in got] == pytest.approx([b.totals.cost_usd for b in want], rel=1e-9)
