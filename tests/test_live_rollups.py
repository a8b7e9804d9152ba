"""The statusline's and budgets' spend (`cchooks.ledger.live`) reads a session from `usage_dims` and
a period on the hour from `rollup_1h`, else on the 15-minute grid from `rollup_15m`; whatever the data, that must equal the sum of
the responses themselves, which is what it falls back to (a stale rollup, a price entry with
another long-context threshold)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchooks.ledger import Ledger
from cchooks.ledger.live import session_spend, spend, spend_between
from cchooks.pricing import load_price_table
from cchooks.records import UsageRecord
from cchooks.totals import Totals

T0 = 1_790_000_100_000 // 900_000 * 900_000  # on the 15-minute grid
HOUR = 3_600_000
MODELS = ["claude-sonnet-4-5", "claude-opus-4-6", "claude-haiku-4-5", "some-unknown-model"]


def _same(a: Totals, b: Totals) -> None:
    """Equal sums and costs (the cost unrounded: to_json's rounding to 1e-6 would turn a last-bit
    difference into a visible one)."""
    ja, jb = a.to_json(), b.to_json()
    ja.pop("cost_usd"), jb.pop("cost_usd")
    assert ja == jb
    assert a.cost_usd == pytest.approx(b.cost_usd, rel=1e-12, abs=1e-12)


_resp = st.tuples(
    st.integers(0, 40),  # message number (repeats update a stored response)
    st.sampled_from(["s1", "s2"]),
    st.integers(0, 3 * 86_400_000),  # ms after T0
    st.sampled_from(MODELS),
    st.sampled_from([5, 150_000, 260_000]),  # input tokens: both sides of the 200k split
    st.integers(0, 5000),
    st.booleans(),  # partial (no stop reason yet)
)


def _records(draws: list[tuple[int, str, int, str, int, int, bool]]) -> list[UsageRecord]:
    return [
        UsageRecord(f"msg_{n}", f"req_{n}", sid, T0 + dt, model, inp, out, 100, 7, 1000, partial=partial)
        for n, sid, dt, model, inp, out, partial in draws
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(_resp, max_size=12), min_size=1, max_size=4), lazy=st.booleans(),
       since=st.integers(0, 12 * 24), length=st.one_of(st.none(), st.integers(1, 8 * 24)))  # fmt: skip
def test_rolled_spend_equals_the_responses(
    tmp_path_factory: pytest.TempPathFactory,
    batches: list[list[tuple[int, str, int, str, int, int, bool]]],
    lazy: bool,
    since: int,
    length: int | None,
) -> None:
    prices = load_price_table()
    path = tmp_path_factory.mktemp("live") / "l.db"
    with Ledger.open(path, lazy_triggers=lazy) as led:
        for batch in batches:
            with led.write(lazy=lazy):
                led.upsert_records(_records(batch))
        for sid in ("s1", "s2", "none"):
            _same(session_spend(led, prices, sid), spend(led, prices, "session_id = ?", (sid,)))
        lo = T0 + since * 900_000
        hi = None if length is None else lo + length * 900_000
        direct = spend(led, prices, "ts_ms >= ?", (lo,)) if hi is None else spend(
            led, prices, "ts_ms >= ? AND ts_ms < ?", (lo, hi)
        )  # fmt: skip
        _same(spend_between(led, prices, lo, hi), direct)
        _same(spend_between(led, None, lo, hi), spend(led, None, "ts_ms >= ?" + ("" if hi is None else " AND ts_ms < ?"),
                                                          (lo,) if hi is None else (lo, hi)))  # fmt: skip
        # The same period moved onto the hour, which the hourly rollup answers.
        lo_h, hi_h = lo // HOUR * HOUR, None if hi is None else (hi // HOUR + 1) * HOUR
        direct = spend(led, prices, "ts_ms >= ?", (lo_h,)) if hi_h is None else spend(
            led, prices, "ts_ms >= ? AND ts_ms < ?", (lo_h, hi_h)
        )  # fmt: skip
        _same(spend_between(led, prices, lo_h, hi_h), direct)


def test_a_stale_rollup_or_another_threshold_reads_the_responses(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    recs = _records([(1, "s1", 0, "claude-sonnet-4-5", 260_000, 10, False), (2, "s1", 60_000, "claude-sonnet-4-5", 5, 10, False)])
    with Ledger.open(path) as led:
        with led.write():
            led.upsert_records(recs)
        prices = load_price_table()
        right = session_spend(led, prices, "s1")
        # A threshold of 100k puts both requests on the long side: only the responses can say so.
        other = load_price_table({"claude-sonnet-4-5": {"long_context_threshold": 1}})
        both_long = session_spend(led, other, "s1")
        assert both_long.cost_usd is not None and right.cost_usd is not None
        assert both_long.cost_usd > right.cost_usd
        _same(both_long, spend(led, other, "session_id = ?", ("s1",)))
        _same(spend_between(led, other, T0), spend(led, other, "ts_ms >= ?", (T0,)))
        with led.write():  # as a bulk load in another process leaves it until its end
            led.conn.execute("INSERT OR REPLACE INTO meta VALUES ('rollup_stale', '1')")
            led.conn.execute("UPDATE usage_dims SET output_tokens = 0")
            led.conn.execute("UPDATE rollup_15m SET output_tokens = 0")
            led.conn.execute("UPDATE rollup_1h SET output_tokens = 0")
        _same(session_spend(led, prices, "s1"), right)
        assert spend_between(led, prices, T0).output_tokens == 20


def test_bench_live_runs_and_both_ways_agree() -> None:
    """benchmarks/bench_live.py asserts the two ways give the same totals; a small run of it."""
    import subprocess
    import sys

    bench = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_live.py"
    r = subprocess.run([sys.executable, str(bench), "--history", "3000", "--responses", "400", "--runs", "2"],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "| session (400 responses) |" in r.stdout and "current 5-hour block" in r.stdout
