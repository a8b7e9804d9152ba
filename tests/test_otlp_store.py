"""Storing OTLP in the ledger: idempotence, cumulative series, the writer thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cchooks.ledger.otlp_store import (
    BatchWriter,
    QueueFull,
    WriterUnavailable,
    cumulative_delta,
    store_batches,
)
from cchooks.ledger.store import Ledger
from cchooks.parsers.otlp import TOKEN_USAGE, ExportBatch, decode, decode_metrics
from tests.test_otlp_common import SCENARIO_TOKENS, SCENARIOS, all_bodies, bodies


@pytest.fixture()
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger.open(tmp_path / "ledger.sqlite3")
    yield led
    led.close()


def _token_sums(ledger: Ledger, session: str | None = None) -> dict[str, int]:
    sql = "SELECT type, sum(delta) FROM otlp_points WHERE metric = ?"
    params: list[object] = [TOKEN_USAGE]
    if session:
        sql += " AND session_id = ?"
        params.append(session)
    return {t: int(v) for t, v in ledger.conn.execute(sql + " GROUP BY type", params)}


def _batches() -> list[ExportBatch]:
    return [decode(sig, raw, enc) for _s, sig, enc, raw in all_bodies()]  # type: ignore[arg-type]


def test_store_all_fixtures_twice_is_idempotent(ledger: Ledger) -> None:
    first = store_batches(ledger, _batches())
    assert first.points_new == 138 and first.api_new == 28 and first.points_dup == 0
    snapshot = [
        ledger.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("otlp_points", "otlp_api_requests", "otlp_events", "responses")
    ]
    second = store_batches(ledger, _batches())
    assert second.points_new == second.api_new == second.events_new == 0
    assert second.points_dup == 138 and second.api_dup == 28 and second.events_dup == first.events_new
    again = [
        ledger.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("otlp_points", "otlp_api_requests", "otlp_events", "responses")
    ]
    assert again == snapshot
    total = {k: sum(SCENARIO_TOKENS[s][k] for s in SCENARIOS) for k in SCENARIO_TOKENS["p-json"]}
    assert _token_sums(ledger) == total
    # Without transcripts every api_request is an OTLP-only response, counted once.
    assert snapshot[3] == 28
    assert {r.source for r in ledger.records()} == {"otlp"}


def test_other_metrics_and_events_are_stored_generically(ledger: Ledger) -> None:
    store_batches(ledger, [decode(sig, raw, enc) for sig, enc, raw in bodies("interactive")])  # type: ignore[arg-type]
    metrics = {m for (m,) in ledger.conn.execute("SELECT DISTINCT metric FROM otlp_points")}
    assert metrics == {"claude_code.session.count", "claude_code.cost.usage", "claude_code.token.usage",
                       "claude_code.active_time.total"}  # fmt: skip
    names = dict(ledger.conn.execute("SELECT name, count(*) FROM otlp_events GROUP BY name").fetchall())
    assert names["compaction"] == 1 and names["user_prompt"] == 4 and names["hook_registered"] == 31
    assert "api_request" not in names
    row = ledger.conn.execute(
        "SELECT e.attributes, r.attributes FROM otlp_events e JOIN otlp_resources r ON r.id = e.resource_id"
        " WHERE e.name = 'compaction'"
    ).fetchone()
    assert json.loads(row[0])["session.id"] == "bbe7d8d4-7b54-40f3-a9b2-45f3ad620b22"
    assert json.loads(row[1])["service.version"] == "2.1.330"


def _cumulative(points: list[tuple[int, int, float]], attrs: str = "a") -> ExportBatch:
    dps = [
        {"attributes": [{"key": "type", "value": {"stringValue": attrs}},
                        {"key": "session.id", "value": {"stringValue": "s"}}],
         "startTimeUnixNano": str(start), "timeUnixNano": str(t), "asDouble": v}
        for start, t, v in points
    ]  # fmt: skip
    body = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": TOKEN_USAGE, "sum": {
        "aggregationTemporality": 2, "isMonotonic": True, "dataPoints": dps}}]}]}]}  # fmt: skip
    return decode_metrics(json.dumps(body).encode(), "json")


def _deltas(ledger: Ledger) -> list[tuple[int, float]]:
    return [(t, d) for t, d in ledger.conn.execute("SELECT time_ns, delta FROM otlp_points ORDER BY time_ns")]


def test_cumulative_series_become_deltas_with_restart_detection(ledger: Ledger) -> None:
    store_batches(ledger, [_cumulative([(1, 10, 5.0), (1, 20, 12.0)])])
    store_batches(ledger, [_cumulative([(1, 30, 12.0)])])  # no change
    store_batches(ledger, [_cumulative([(1, 40, 4.0)])])  # value decreased: restart
    store_batches(ledger, [_cumulative([(45, 50, 20.0)])])  # new start time: restart
    store_batches(ledger, [_cumulative([(45, 60, 26.0)])])
    assert _deltas(ledger) == [(10, 5.0), (20, 7.0), (30, 0.0), (40, 4.0), (50, 20.0), (60, 6.0)]
    assert _token_sums(ledger) == {"a": 42}  # 12 before the first restart + 4 + 26
    # A retry of the whole history changes nothing.
    store_batches(ledger, [_cumulative([(1, 10, 5.0), (1, 20, 12.0), (1, 30, 12.0), (1, 40, 4.0)])])
    assert _token_sums(ledger) == {"a": 42}


def test_cumulative_point_arriving_late_fixes_its_successor(ledger: Ledger) -> None:
    store_batches(ledger, [_cumulative([(1, 10, 5.0), (1, 30, 20.0)])])
    assert _token_sums(ledger) == {"a": 20}
    store_batches(ledger, [_cumulative([(1, 20, 9.0)])])
    assert _deltas(ledger) == [(10, 5.0), (20, 4.0), (30, 11.0)]
    assert _token_sums(ledger) == {"a": 20}


def test_cumulative_delta_rules() -> None:
    assert cumulative_delta(None, 1, 7.0, True) == 7.0
    assert cumulative_delta((1, 5.0), 1, 7.0, True) == 2.0
    assert cumulative_delta((1, 5.0), 1, 3.0, True) == 3.0
    assert cumulative_delta((1, 5.0), 1, 3.0, False) == -2.0  # an up-down counter may go down
    assert cumulative_delta((1, 5.0), 2, 3.0, False) == 3.0


def test_writer_thread_group_commits_and_dedupes(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path / "l.sqlite3")
    writer.start()
    batches = _batches()
    errors: list[BaseException] = []

    def post(offset: int) -> None:
        try:
            for b in batches[offset:] + batches[:offset]:
                writer.submit(b)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i * 3,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.stop()
    assert not errors
    stats = writer.stats
    assert stats.jobs == 8 * len(batches) and stats.failed_jobs == 0
    assert stats.stored.points_new == 138 and stats.stored.points_dup == 7 * 138
    assert stats.stored.api_new == 28
    assert stats.transactions < stats.jobs  # several exports per transaction
    with Ledger.open(tmp_path / "l.sqlite3") as led:
        assert led.conn.execute("SELECT count(*) FROM otlp_points").fetchone()[0] == 138
        assert led.conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 28


def test_writer_refuses_when_full_or_stopped(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path / "l.sqlite3", max_queue=1)
    with pytest.raises(WriterUnavailable):
        writer.submit(_batches()[0])
    writer.start()
    # Hold the ledger's write lock from another connection so the writer cannot drain.
    other = Ledger.open(tmp_path / "l.sqlite3")
    other.conn.execute("BEGIN IMMEDIATE")
    results: list[object] = []
    b = _batches()
    t1 = threading.Thread(target=lambda: results.append(_try(writer, b[0], 0.5)))
    t1.start()
    t1.join()
    # The first job is being written (blocked on the lock); the queue holds one more, then it is full.
    fill = threading.Thread(target=lambda: results.append(_try(writer, b[1], 0.5)))
    fill.start()
    fill.join()
    assert _try(writer, b[2], 0.5) in (QueueFull, WriterUnavailable)
    other.conn.execute("ROLLBACK")
    other.close()
    writer.stop()
    assert results and all(r in (QueueFull, WriterUnavailable, "ok") for r in results)


def _try(writer: BatchWriter, batch: ExportBatch, timeout: float) -> object:
    try:
        writer.submit(batch, timeout=timeout)
        return "ok"
    except (QueueFull, WriterUnavailable) as exc:
        return type(exc)


def test_writer_learns_prices_of_unknown_models(tmp_path: Path) -> None:
    from cchooks.ledger.learned import learned_prices
    from cchooks.pricing.learned import LEARNED_SOURCE

    batches = _batches()
    for b in batches:
        for a in b.api_requests:
            a.model = "claude-unknown-7"
    writer = BatchWriter(tmp_path / "l.sqlite3")
    writer.start()
    for b in batches:
        writer.submit(b)
    writer.stop()  # learns from everything that arrived since the last fit
    with Ledger.open(tmp_path / "l.sqlite3") as led:
        (price,) = learned_prices(led)
    assert price.model == "claude-unknown-7" and price.source == LEARNED_SOURCE
    assert (price.input, price.output, price.cache_read, price.cache_write_5m, price.cache_write_1h) == (
        4,
        20,
        0.2,
        5,
        8,
    )
