"""5-hour blocks: hand-computed tables and properties (hypothesis)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchooks.records import RateLimitSnapshot, UsageRecord
from cchooks.windows import Block, active_block, block_at, official_windows, session_blocks
from cchooks.windows._common import FIVE_HOURS_MS, HOUR_MS, MINUTE_MS

_ids = itertools.count()


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def rec(
    ts: str | int, inp: int = 100, out: int = 50, cr: int = 0, model: str = "claude-sonnet-4"
) -> UsageRecord:
    n = next(_ids)
    t = ms(ts) if isinstance(ts, str) else ts
    return UsageRecord(f"m{n}", f"r{n}", "s1", t, model, inp, out, 10, 5, cr)


def cost_of(r: UsageRecord) -> float | None:
    if r.model == "unknown":
        return None
    return (r.input_tokens * 3 + r.output_tokens * 15) / 1_000_000


def snap(observed: str, resets: str, pct: float = 10.0, window: str = "five_hour") -> RateLimitSnapshot:
    return RateLimitSnapshot(ms(observed), window, pct, ms(resets))


def shape(blocks: list[Block]) -> list[tuple[str, str, str, bool, int]]:
    def hhmm(t: int) -> str:
        return datetime.fromtimestamp(t / 1000, UTC).strftime("%d %H:%M")

    return [(hhmm(b.start_ms), hhmm(b.end_ms), b.source, b.is_gap, b.responses) for b in blocks]


NOW = ms("2024-01-05T00:00:00Z")  # well after every table's records


def test_no_records_no_blocks() -> None:
    assert session_blocks([], NOW, cost_of) == []


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        # one block, start floored to the UTC hour
        (["01T10:55", "01T11:30", "01T14:10"], [("01 10:00", "01 15:00", "estimated", False, 3)]),
        # exactly 5 h after the block start opens a new block (half-open [start, start + 5 h)); idle 40 min: no gap
        (
            ["01T10:20", "01T14:59", "01T15:00"],
            [
                ("01 10:00", "01 15:00", "estimated", False, 2),
                ("01 15:00", "01 20:00", "estimated", False, 1),
            ],
        ),
        # ccusage's own example: 10:00 and 6 h later -> block, gap, block
        (
            ["01T10:00", "01T16:00"],
            [
                ("01 10:00", "01 15:00", "estimated", False, 1),
                ("01 15:00", "01 16:00", "estimated", True, 0),
                ("01 16:00", "01 21:00", "estimated", False, 1),
            ],
        ),
        # idle of 5 h 30 min after 11:00 starts a new block at 16:00 (floored), gap in between
        (
            ["01T10:00", "01T11:00", "01T16:30"],
            [
                ("01 10:00", "01 15:00", "estimated", False, 2),
                ("01 15:00", "01 16:00", "estimated", True, 0),
                ("01 16:00", "01 21:00", "estimated", False, 1),
            ],
        ),
        # idle of exactly 5 h (12:30 -> 17:30) is enough for a gap block
        (
            ["01T10:00", "01T12:30", "01T17:30"],
            [
                ("01 10:00", "01 15:00", "estimated", False, 2),
                ("01 15:00", "01 17:00", "estimated", True, 0),
                ("01 17:00", "01 22:00", "estimated", False, 1),
            ],
        ),
        # a block spanning midnight
        (
            ["01T22:30", "01T23:50", "02T01:15", "02T02:59", "02T03:00"],
            [
                ("01 22:00", "02 03:00", "estimated", False, 4),
                ("02 03:00", "02 08:00", "estimated", False, 1),
            ],
        ),
        # a long idle day: gap from the end of the first block to the next block's start
        (
            ["01T08:10", "02T09:45"],
            [
                ("01 08:00", "01 13:00", "estimated", False, 1),
                ("01 13:00", "02 09:00", "estimated", True, 0),
                ("02 09:00", "02 14:00", "estimated", False, 1),
            ],
        ),
    ],
)
def test_heuristic_blocks(times: list[str], expected: list[tuple[str, str, str, bool, int]]) -> None:
    blocks = session_blocks([rec(f"2024-01-{t}:00Z") for t in times], NOW, cost_of)
    assert shape(blocks) == expected


def test_idle_exactly_five_hours_no_gap_when_blocks_touch() -> None:
    # 10:30 -> block [10:00, 15:00); 15:30 is 5 h idle but its block starts at 15:00 = previous end: no gap
    blocks = session_blocks([rec("2024-01-01T10:30:00Z"), rec("2024-01-01T15:30:00Z")], NOW, cost_of)
    assert [b.is_gap for b in blocks] == [False, False]
    assert blocks[1].start_ms == ms("2024-01-01T15:00:00Z")


def test_unsorted_input_is_sorted() -> None:
    rs = [rec("2024-01-01T12:00:00Z"), rec("2024-01-01T10:05:00Z"), rec("2024-01-01T11:00:00Z")]
    (b,) = session_blocks(rs, NOW, cost_of)
    assert b.start_ms == ms("2024-01-01T10:00:00Z")
    assert b.first_ms == ms("2024-01-01T10:05:00Z")
    assert b.actual_end_ms == ms("2024-01-01T12:00:00Z")


def test_block_totals_cost_models_and_unpriced() -> None:
    rs = [
        rec("2024-01-01T10:00:00Z", inp=1000, out=500, cr=200),
        rec("2024-01-01T10:30:00Z", inp=2000, out=100, model="claude-opus-4"),
        rec("2024-01-01T11:00:00Z", inp=7, out=3, cr=40, model="unknown"),
    ]
    (b,) = session_blocks(rs, NOW, cost_of)
    t = b.totals
    assert (t.input_tokens, t.output_tokens, t.cache_read_tokens) == (3007, 603, 240)
    assert (t.cache_creation_5m_tokens, t.cache_creation_1h_tokens) == (30, 15)
    assert t.total_tokens == 3007 + 603 + 240 + 45
    assert t.cost_usd == pytest.approx((1000 * 3 + 500 * 15 + 2000 * 3 + 100 * 15) / 1e6)
    assert b.unpriced_tokens == 7 + 3 + 40 + 15 and t.unpriced_responses == 1
    assert b.models == ["claude-sonnet-4", "claude-opus-4", "unknown"]
    assert b.id == "2024-01-01T10:00:00+00:00"


def test_active_block() -> None:
    rs = [rec("2024-01-01T10:10:00Z"), rec("2024-01-01T12:00:00Z")]
    blocks = session_blocks(rs, ms("2024-01-01T14:59:00Z"), cost_of)
    assert active_block(blocks) is blocks[0]
    blocks = session_blocks(rs, ms("2024-01-01T15:00:00Z"), cost_of)
    assert active_block(blocks) is None


def test_block_at() -> None:
    blocks = session_blocks([rec("2024-01-01T10:00:00Z"), rec("2024-01-01T18:00:00Z")], NOW, cost_of)
    gap = block_at(blocks, ms("2024-01-01T16:00:00Z"))
    assert gap is not None and gap.is_gap
    assert block_at(blocks, ms("2024-01-01T10:00:00Z")) is blocks[0]
    assert block_at(blocks, ms("2024-01-01T09:59:59Z")) is None
    assert block_at(blocks, ms("2024-01-01T23:00:00Z")) is None


# --- official windows ---------------------------------------------------------------------------------


def test_official_window_takes_its_records_and_clips_heuristic_neighbours() -> None:
    snaps = [snap("2024-01-01T11:00:00Z", "2024-01-01T15:30:00Z")]  # window [10:30, 15:30)
    rs = [rec(f"2024-01-01T{t}:00Z") for t in ("09:50", "10:40", "15:20", "15:40")]
    blocks = session_blocks(rs, NOW, cost_of, snaps)
    assert shape(blocks) == [
        ("01 09:00", "01 10:30", "estimated", False, 1),  # clipped where the official window begins
        ("01 10:30", "01 15:30", "official", False, 2),
        ("01 15:30", "01 20:30", "estimated", False, 1),  # floored to 15:00, pushed to the official end
    ]
    assert blocks[1].official is not None and blocks[1].official.used_percentage == 10.0


def test_official_reset_moves_latest_snapshot_wins() -> None:
    early = snap("2024-01-01T11:00:00Z", "2024-01-01T15:00:00Z", 5)  # [10:00, 15:00)
    late = snap("2024-01-01T12:00:00Z", "2024-01-01T16:00:00Z", 20)  # [11:00, 16:00), observed later
    rs = [rec(f"2024-01-01T{t}:00Z") for t in ("10:30", "11:30", "15:30")]
    blocks = session_blocks(rs, NOW, cost_of, [late, early])
    assert shape(blocks) == [
        ("01 10:00", "01 11:00", "estimated", False, 1),
        ("01 11:00", "01 16:00", "official", False, 2),
    ]
    # the same reset times observed in the opposite order: the 15:00 reset wins
    early2 = snap("2024-01-01T12:30:00Z", "2024-01-01T15:00:00Z", 25)
    blocks = session_blocks(rs, NOW, cost_of, [early, late, early2])
    assert shape(blocks) == [
        ("01 10:00", "01 15:00", "official", False, 2),
        ("01 15:00", "01 20:00", "estimated", False, 1),
    ]
    assert blocks[0].official is not None
    assert (blocks[0].official.used_percentage, blocks[0].official.snapshots) == (25, 2)


def test_official_windows_resolution() -> None:
    s = [
        snap("2024-01-01T11:00:00Z", "2024-01-01T15:00:00Z", 5),
        snap("2024-01-01T14:00:00Z", "2024-01-01T15:00:00Z", 30),
        snap("2024-01-01T16:00:00Z", "2024-01-01T20:00:00Z", 7),  # touches, does not overlap
        snap("2024-01-01T12:00:00Z", "2024-01-01T16:00:00Z", 9),  # overlaps, but observed before 14:00
        RateLimitSnapshot(ms("2024-01-01T12:00:00Z"), "five_hour", 50, None),  # no reset: ignored
        snap("2024-01-01T12:00:00Z", "2024-01-08T00:00:00Z", 3, window="seven_day"),  # other window
    ]
    ws = official_windows(s)
    assert [(w.start_ms, w.end_ms, w.used_percentage, w.snapshots) for w in ws] == [
        (ms("2024-01-01T10:00:00Z"), ms("2024-01-01T15:00:00Z"), 30, 2),
        (ms("2024-01-01T15:00:00Z"), ms("2024-01-01T20:00:00Z"), 7, 1),
    ]


def test_empty_official_window_is_a_block_and_can_be_active() -> None:
    snaps = [snap("2024-01-02T09:00:00Z", "2024-01-02T13:00:00Z", 40)]  # [08:00, 13:00), used elsewhere
    rs = [rec("2024-01-01T10:00:00Z")]
    now = ms("2024-01-02T09:30:00Z")
    blocks = session_blocks(rs, now, cost_of, snaps)
    assert shape(blocks) == [
        ("01 10:00", "01 15:00", "estimated", False, 1),
        ("01 15:00", "02 08:00", "estimated", True, 0),
        ("02 08:00", "02 13:00", "official", False, 0),
    ]
    assert active_block(blocks) is blocks[2]
    assert blocks[2].actual_end_ms is None


# --- properties ---------------------------------------------------------------------------------------

BASE = ms("2024-01-01T00:00:00Z")
SPAN = 6 * 24 * 60  # minutes

offsets = st.lists(st.integers(0, SPAN), max_size=60)
snapshot_st = st.builds(
    lambda obs, reset_min, pct: RateLimitSnapshot(
        BASE + obs * MINUTE_MS, "five_hour", float(pct), BASE + reset_min * MINUTE_MS
    ),
    st.integers(0, SPAN),
    st.integers(0, SPAN + 300),
    st.integers(0, 100),
)


def _records(mins: list[int]) -> list[UsageRecord]:
    return [rec(BASE + m * MINUTE_MS + (m % 7) * 1000, inp=m % 97, out=m % 13, cr=m % 5) for m in mins]


@settings(max_examples=300, deadline=None)
@given(offsets, st.lists(snapshot_st, max_size=6), st.integers(0, SPAN + 600))
def test_block_properties(mins: list[int], snaps: list[RateLimitSnapshot], now_min: int) -> None:
    rs = _records(mins)
    now = BASE + now_min * MINUTE_MS
    blocks = session_blocks(rs, now, cost_of, snaps)
    # sorted, non-overlapping, non-empty intervals
    for a, b in itertools.pairwise(blocks):
        assert a.end_ms <= b.start_ms
    assert all(b.start_ms < b.end_ms for b in blocks)
    real = [b for b in blocks if not b.is_gap]
    # every record lies in exactly one non-gap block, and that block counted it
    for r in rs:
        holders = [b for b in real if b.contains(r.timestamp_ms)]
        assert len(holders) == 1
    assert sum(b.responses for b in real) == len(rs)
    # block totals add up to the period's totals
    assert sum(b.totals.total_tokens for b in real) == sum(r.total_tokens for r in rs)
    assert sum(b.cost_usd for b in real) == pytest.approx(sum(cost_of(r) or 0.0 for r in rs))
    # a block never lasts more than 5 h; gaps hold nothing; at most one block is active
    assert all(b.end_ms - b.start_ms <= FIVE_HOURS_MS for b in real)
    assert all(b.responses == 0 and not b.is_active for b in blocks if b.is_gap)
    assert sum(b.is_active for b in blocks) <= 1
    # official windows appear exactly as resolved, and resolved windows don't overlap
    ws = official_windows(snaps)
    assert [(b.start_ms, b.end_ms) for b in real if b.source == "official"] == [
        (w.start_ms, w.end_ms) for w in ws
    ]
    for w1, w2 in itertools.pairwise(ws):
        assert w1.end_ms <= w2.start_ms


def _reference_starts(times: list[int]) -> list[int]:
    """ccusage's rule, restated: new block when >= 5 h after the block start or the previous record."""
    starts: list[int] = []
    prev = None
    for t in sorted(times):
        if not starts or t - starts[-1] >= FIVE_HOURS_MS or (prev is not None and t - prev >= FIVE_HOURS_MS):
            starts.append(t - t % HOUR_MS)
        prev = t
    return starts


@settings(max_examples=300, deadline=None)
@given(offsets)
def test_heuristic_matches_reference(mins: list[int]) -> None:
    rs = _records(mins)
    blocks = session_blocks(rs, BASE, cost_of)
    assert [b.start_ms for b in blocks if not b.is_gap] == _reference_starts([r.timestamp_ms for r in rs])
    # a gap exactly where 5 idle hours separate two blocks
    real = [b for b in blocks if not b.is_gap]
    gaps = [b for b in blocks if b.is_gap]
    expected = [
        (a.end_ms, b.start_ms)
        for a, b in itertools.pairwise(real)
        if b.start_ms > a.end_ms and (b.first_ms or 0) - (a.actual_end_ms or 0) >= FIVE_HOURS_MS
    ]
    assert [(g.start_ms, g.end_ms) for g in gaps] == expected


@settings(max_examples=100, deadline=None)
@given(offsets, st.lists(snapshot_st, max_size=6), st.randoms(use_true_random=False))
def test_order_of_input_does_not_matter(
    mins: list[int], snaps: list[RateLimitSnapshot], rnd: random.Random
) -> None:
    rs = _records(mins)
    shuffled = list(rs)
    snaps2 = list(snaps)
    rnd.shuffle(shuffled)
    rnd.shuffle(snaps2)
    a = session_blocks(rs, BASE, cost_of, snaps)
    b = session_blocks(shuffled, BASE, cost_of, snaps2)
    assert [(x.start_ms, x.end_ms, x.responses, x.source) for x in a] == [
        (x.start_ms, x.end_ms, x.responses, x.source) for x in b
    ]
