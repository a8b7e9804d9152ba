"""`Ledger.write(lazy=True)` on a ledger opened with lazy triggers (the statusline, hooks, views):
new responses are added to the rollups by `ROLLUP_ADD_STORED` without making the TEMP triggers;
anything else makes them inside the transaction. Whatever the mix, the derived tables must equal
a rebuild from the responses."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchooks.ledger import Ledger
from cchooks.records import UsageRecord
from tests.derived_tables import derived, rebuilt


def _temp_triggers(ledger: Ledger) -> int:
    return int(ledger.conn.execute("SELECT count(*) FROM sqlite_temp_master WHERE type = 'trigger'").fetchone()[0])


def _rec(n: int, out: int = 20, *, ts: int = 0, mid: bool = True, agent: str | None = None,
         source: str = "transcript", model: str = "claude-sonnet-4-5", inp: int = 10) -> UsageRecord:
    return UsageRecord(f"msg_{n}" if mid else "", f"req_{n}", f"s{n % 3}", 1_790_000_000_000 + (ts or n) * 60_000,
                       model, inp, out, 3, 1, 100, agent_id=agent, source=source)  # fmt: skip


def test_new_responses_need_no_triggers_and_keep_every_derived_table_exact(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger.open(path) as led, led.write():
        led.upsert_records([_rec(1), _rec(2, agent="a1")])
    with Ledger.open(path, lazy_triggers=True) as led:
        with led.write(lazy=True):
            led.upsert_records([_rec(3), _rec(4, agent="a2"), _rec(5, inp=250_000), _rec(6, source="otlp")])
        assert _temp_triggers(led) == 0  # the path the hot paths take: no triggers made
        assert derived(led.conn) == rebuilt(led.conn)
        assert led.conn.execute("SELECT sum(responses) FROM usage_rollup").fetchone()[0] == 6


def test_a_stored_response_makes_the_triggers_and_a_rollback_takes_them_away(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger.open(path) as led, led.write():
        led.upsert_records([_rec(1), _rec(2)])
    with Ledger.open(path, lazy_triggers=True) as led:
        with pytest.raises(RuntimeError, match="rolled back"), led.write(lazy=True):
            led.upsert_records([_rec(1, out=90), _rec(7)])  # msg_1 is stored: the triggers' way
            assert _temp_triggers(led) > 0
            raise RuntimeError("rolled back")
        assert _temp_triggers(led) == 0
        assert derived(led.conn) == rebuilt(led.conn)
        with led.write(lazy=True):  # must make them again, not trust a flag the rollback made wrong
            led.upsert_records([_rec(2, out=99), _rec(8)])
        assert _temp_triggers(led) > 0
        assert derived(led.conn) == rebuilt(led.conn)
        assert led.conn.execute("SELECT output_tokens FROM responses WHERE message_id = 'msg_2'").fetchone()[0] == 99


def test_with_otlp_rows_stored_new_responses_still_need_no_triggers(tmp_path: Path) -> None:
    """A ledger that also holds OTLP rows (known by request id alone) keeps the fast way for
    responses none of those rows is; the one that is gets folded, by the triggers' way."""
    path = tmp_path / "l.db"
    with Ledger.open(path) as led, led.write():
        led.upsert_records([_rec(1), _rec(9, out=5, mid=False, source="otlp")])
    with Ledger.open(path, lazy_triggers=True) as led:
        with led.write(lazy=True):
            led.upsert_records([_rec(2), _rec(3)])
        assert _temp_triggers(led) == 0
        assert derived(led.conn) == rebuilt(led.conn)
        with led.write(lazy=True):
            led.upsert_records([_rec(9, out=7), _rec(4)])  # msg_9 is the OTLP row's response
        assert _temp_triggers(led) > 0
        assert derived(led.conn) == rebuilt(led.conn)
        assert led.conn.execute("SELECT count(*) FROM responses WHERE request_id = 'req_9'").fetchone()[0] == 1


def test_outside_write_a_lazy_ledger_still_refuses_to_write_responses(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db", lazy_triggers=True) as led:
        with pytest.raises(RuntimeError, match="outside Ledger.write"):
            led.upsert_records([_rec(1)])
        with led.write(lazy=True):
            pass
        with pytest.raises(RuntimeError, match="outside Ledger.write"):  # the lazy mode ended with its transaction
            led.upsert_records([_rec(1)])


_batch = st.lists(
    st.tuples(
        st.integers(0, 12),  # response number: small, so batches repeat stored responses and each other
        st.integers(0, 400),  # output tokens
        st.integers(0, 30),  # minute
        st.booleans(),  # carries a message id (False: an OTLP-like copy known by request id only)
        st.sampled_from([None, "a1"]),
        st.sampled_from(["transcript", "otlp"]),
        st.sampled_from([10, 250_000]),  # input tokens: both sides of the long-context split
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.tuples(_batch, st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_any_mix_of_lazy_writes_keeps_the_derived_tables_equal_to_a_rebuild(
    tmp_path_factory: pytest.TempPathFactory, batches: list[tuple[list[tuple[object, ...]], bool, bool]]
) -> None:
    path = tmp_path_factory.mktemp("lazy") / "l.db"
    with Ledger.open(path, lazy_triggers=True) as led:
        for batch, lazy, fail in batches:
            recs = [
                _rec(n, out, ts=minute + 1, mid=mid, agent=agent, source=source, inp=inp)  # type: ignore[arg-type]
                for n, out, minute, mid, agent, source, inp in batch
            ]
            try:
                with led.write(lazy=lazy):
                    led.upsert_records(recs)
                    if fail:
                        raise RuntimeError("rolled back")
            except RuntimeError:
                pass
            assert derived(led.conn) == rebuilt(led.conn)
