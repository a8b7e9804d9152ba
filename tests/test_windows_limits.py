"""Burn rate, projections, limits (presets, overrides, learned, p90) and limits_summary."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchooks.records import RateLimitSnapshot, UsageRecord
from cchooks.windows import (
    PLAN_PRESETS,
    PlanConfig,
    PlanPreset,
    Totals,
    burn_rate,
    burn_rate_last,
    learn_from_snapshots,
    limits_summary,
    p90_block_limit,
    project,
    resolve_limit,
    session_blocks,
    time_to_limit_ms,
    window_burn_rate,
)

_ids = itertools.count()
MIN = 60_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def rec(
    ts: str | int, inp: int = 800, out: int = 200, cr: int = 0, model: str = "claude-sonnet-4"
) -> UsageRecord:
    n = next(_ids)
    return UsageRecord(
        f"m{n}", f"r{n}", "s1", ms(ts) if isinstance(ts, str) else ts, model, inp, out, 0, 0, cr
    )


def cost_of(r: UsageRecord) -> float | None:
    if r.model == "unknown":
        return None
    return (r.input_tokens * 3 + r.output_tokens * 15) / 1_000_000


def snap(observed: str, resets: str, pct: float, window: str = "five_hour") -> RateLimitSnapshot:
    return RateLimitSnapshot(ms(observed), window, pct, ms(resets))


# --- burn rate ----------------------------------------------------------------------------------------

NOW = ms("2024-05-01T12:00:00Z")


def test_burn_rate_last_minutes() -> None:
    rs = [
        rec(NOW - 70 * MIN, inp=5000),  # outside the last hour
        rec(NOW - 50 * MIN, inp=600, out=0, cr=400),
        rec(NOW - 20 * MIN, inp=300, out=100),
        rec(NOW, inp=0, out=200, model="unknown"),  # now itself counts; unpriced
    ]
    b = burn_rate_last(rs, NOW, 60, cost_of)
    assert b is not None
    assert (b.minutes, b.totals.responses) == (60, 3)
    assert b.tokens_per_minute == pytest.approx(1600 / 60)
    assert b.tokens_per_minute_no_cache_read == pytest.approx(1200 / 60)
    assert b.per_minute("input_output") == pytest.approx(1200 / 60)
    assert b.cost_per_hour == pytest.approx((900 * 3 + 100 * 15) / 1e6)
    assert b.totals.unpriced_tokens == 200
    assert burn_rate_last(rs, NOW - 200 * MIN, 60, cost_of) is None
    with pytest.raises(ValueError):
        burn_rate_last(rs, NOW, 0, cost_of)


def test_window_burn_rate_from_first_record_to_now() -> None:
    start = NOW - 3 * 60 * MIN
    rs = [rec(start - MIN), rec(NOW - 100 * MIN, inp=1000, out=0), rec(NOW - 40 * MIN, inp=1000, out=0)]
    b = window_burn_rate(rs, start, NOW, cost_of)
    assert b is not None and b.minutes == 100 and b.tokens_per_minute == pytest.approx(20)
    # one record just now: the span is stretched to a minute
    b = window_burn_rate([rec(NOW, inp=50, out=0)], start, NOW, cost_of)
    assert b is not None and (b.minutes, b.tokens_per_minute) == (1, 50)
    assert window_burn_rate([], start, NOW, cost_of) is None
    assert burn_rate(rs, NOW, NOW - 1, cost_of) is None


def test_projection() -> None:
    rs = [rec(NOW - 60 * MIN, inp=3000, out=0), rec(NOW - 30 * MIN, inp=3000, out=0)]
    t = Totals()
    for r in rs:
        t.add_record(r, cost_of(r))
    rate = window_burn_rate(rs, NOW - 120 * MIN, NOW, cost_of)  # 6000 tokens / 60 min
    p = project(t, rate, NOW, NOW + 90 * MIN)
    assert p.tokens == pytest.approx(6000 + 100 * 90)
    assert p.cost_usd == pytest.approx(0.018 + 0.018 / 60 * 90)
    assert p.remaining_ms == 90 * MIN
    p = project(t, None, NOW, NOW - 1)
    assert (p.tokens, p.remaining_ms) == (6000, 0)


@pytest.mark.parametrize(
    ("used", "limit", "rate", "within", "expected"),
    [
        (100, 1000, 10.0, None, 90 * MIN),
        (1000, 1000, 0.0, None, 0),  # already there
        (1500, 1000, None, None, 0),
        (100, None, 10.0, None, None),  # no limit
        (100, 1000, 0.0, None, None),  # no pace: never
        (100, 1000, None, None, None),
        (100, 1000, 10.0, 60 * MIN, None),  # the window resets first
        (100, 1000, 10.0, 90 * MIN, 90 * MIN),
        (0, 1, 3.0, None, 20_000),  # rounded up to the millisecond
    ],
)
def test_time_to_limit(
    used: float, limit: float | None, rate: float | None, within: int | None, expected: int | None
) -> None:
    assert time_to_limit_ms(used, limit, rate, within_ms=within) == expected


# --- limits -------------------------------------------------------------------------------------------

RESET = "2024-05-01T15:00:00Z"  # official window [10:00, 15:00)


def learning_fixture() -> tuple[list[UsageRecord], list[RateLimitSnapshot]]:
    # 1000 input+output tokens and $0.0054 every ten minutes from 10:10
    rs = [rec(f"2024-05-01T10:{m}:00Z") for m in ("10", "20", "30", "40", "50")]
    snaps = [
        snap("2024-05-01T10:15:00Z", RESET, 3),  # below 5 %: too coarse, ignored
        snap("2024-05-01T10:30:00Z", RESET, 10),  # 3000 tokens -> 30,000
        snap("2024-05-01T10:45:00Z", RESET, 12.5),  # 4000 -> 32,000
        snap("2024-05-01T10:50:00Z", RESET, 20),  # 5000 -> 25,000
        snap("2024-05-01T10:55:00Z", RESET, 20),  # the same percentage again: counted once (at 10:50)
    ]
    return rs, snaps


def test_learn_from_snapshots_median() -> None:
    rs, snaps = learning_fixture()
    lim = learn_from_snapshots(rs, snaps, cost_of)
    assert lim is not None
    assert (lim.tokens, lim.tokens_source, lim.samples, lim.measure) == (30_000, "learned", 3, "input_output")
    assert lim.cost_usd == pytest.approx(0.0162 * 10)
    assert lim.cost_source == "learned"
    # other token measures learn in their own unit
    # (3000 cache-read tokens at 10:29: 6000 / 10 %, 7000 / 12.5 %, 8000 / 20 % -> median 56,000)
    extra = rec("2024-05-01T10:29:00Z", 0, 0, cr=3000)
    lim_all = learn_from_snapshots([*rs, extra], snaps, cost_of, measure="all")
    assert lim_all is not None and lim_all.tokens == 56_000


def test_learn_skips_superseded_windows_and_usage_from_elsewhere() -> None:
    rs, snaps = learning_fixture()
    moved = snap("2024-05-01T11:00:00Z", "2024-05-01T15:30:00Z", 50)  # latest: replaces the 15:00 window
    assert learn_from_snapshots(rs, [*snaps, moved], cost_of, max_samples=1) is not None
    lim = learn_from_snapshots(rs, [*snaps, moved], cost_of)
    # [10:30, 15:30): 3000 tokens by 11:00 = 50 %
    assert lim is not None and lim.samples == 1 and lim.tokens == 6_000
    # no local tokens in the window: nothing to learn
    assert learn_from_snapshots([], snaps, cost_of) is None
    # unpriced records make the USD estimate unreliable: tokens only
    lim = learn_from_snapshots([*rs, rec("2024-05-01T10:05:00Z", model="unknown")], snaps, cost_of)
    assert lim is not None and lim.cost_usd is None and lim.tokens is not None


def p90_records() -> list[UsageRecord]:
    # ten completed blocks on ten days with 1000 .. 10000 input tokens
    return [rec(f"2024-04-{d:02d}T09:00:00Z", inp=1000 * d, out=0) for d in range(1, 11)]


def test_p90_of_completed_blocks() -> None:
    blocks = session_blocks([*p90_records(), rec(NOW - MIN, inp=10**9)], NOW, cost_of)
    lim = p90_block_limit(blocks)  # the active block (10**9 tokens) does not count
    assert lim is not None
    assert (lim.tokens, lim.tokens_source, lim.samples) == (9_100, "estimated", 10)
    assert lim.cost_usd == pytest.approx(0.0273)
    assert p90_block_limit([]) is None


def test_resolve_limit_precedence() -> None:
    rs, snaps = learning_fixture()
    blocks = session_blocks(p90_records(), NOW, cost_of)
    auto = PlanConfig()
    assert resolve_limit("five_hour", auto, rs, snaps, cost_of, blocks).tokens_source == "learned"
    lim = resolve_limit("five_hour", auto, p90_records(), [], cost_of, blocks)
    assert (lim.tokens, lim.tokens_source) == (9_100, "estimated")
    assert resolve_limit("five_hour", auto, [], [], cost_of).tokens is None  # nothing to go on: unknown
    pro = resolve_limit("five_hour", PlanConfig(plan="pro"), rs, snaps, cost_of, blocks)
    assert (pro.tokens, pro.cost_usd, pro.tokens_source, pro.measure) == (
        44_000,
        18.0,
        "configured",
        "input_output",
    )
    mixed = resolve_limit("five_hour", PlanConfig(plan="max5", five_hour_usd=50), rs, snaps, cost_of)
    assert (mixed.tokens, mixed.cost_usd, mixed.cost_source) == (88_000, 50.0, "configured")
    learned_and_override = resolve_limit("five_hour", PlanConfig(five_hour_tokens=123), rs, snaps, cost_of)
    assert (learned_and_override.tokens, learned_and_override.tokens_source) == (123, "configured")
    assert learned_and_override.cost_source == "learned"
    custom = resolve_limit("five_hour", PlanConfig(plan="custom"), rs, snaps, cost_of, blocks)
    assert custom.tokens is None and custom.cost_usd is None
    # presets have no weekly figures
    assert resolve_limit("week", PlanConfig(plan="pro"), rs, snaps, cost_of).tokens is None
    month = resolve_limit("month", PlanConfig(monthly_usd=100.0), rs, snaps, cost_of)
    assert (month.cost_usd, month.cost_source, month.tokens) == (100.0, "configured", None)
    with pytest.raises(ValueError):
        resolve_limit("day", auto, rs, snaps, cost_of)


def test_learned_weekly_limit() -> None:
    rs = [rec("2024-05-01T10:00:00Z", inp=40_000, out=10_000)]
    snaps = [snap("2024-05-02T00:00:00Z", "2024-05-06T00:00:00Z", 25, window="seven_day")]
    lim = resolve_limit("week", PlanConfig(), rs, snaps, cost_of)
    assert (lim.tokens, lim.tokens_source) == (200_000, "learned")


def test_plan_config_from_mapping() -> None:
    dumped = {  # what config.LimitsConfig().model_dump() gives
        "plan": "max20",
        "five_hour_tokens": None,
        "five_hour_usd": None,
        "weekly_tokens": None,
        "weekly_usd": 500.0,
        "monthly_usd": None,
        "weekly_reset_weekday": 3,
        "weekly_reset_hour": 17,
    }
    cfg = PlanConfig.from_mapping(dumped)
    assert (cfg.plan, cfg.weekly_usd, cfg.weekly_reset_weekday, cfg.weekly_reset_hour) == (
        "max20",
        500.0,
        3,
        17,
    )
    cfg = PlanConfig.from_mapping({"plan": "pro", "presets": {"pro": {"five_hour_tokens": 19_000}}})
    assert cfg.presets["pro"] == PlanPreset(19_000, None)
    assert PLAN_PRESETS["pro"].five_hour_tokens == 44_000  # the module defaults are untouched
    with pytest.raises(ValueError):
        PlanConfig.from_mapping({"plan": "pro", "five_hour_tokenz": 1})
    with pytest.raises(ValueError):
        PlanConfig(plan="ultra")
    with pytest.raises(ValueError):
        PlanConfig(token_measure="some")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PlanConfig(weekly_reset_hour=24)


# --- limits_summary -----------------------------------------------------------------------------------

SOURCES = {None, "official", "learned", "estimated", "configured"}


def check_sources(entry: dict[str, Any]) -> None:
    for key, value in entry.items():
        if key.endswith("_source") and key != "used_source":
            assert value in SOURCES, key


def test_summary_official_percent_becomes_tokens_left() -> None:
    rs, snaps = learning_fixture()
    rs.append(rec("2024-05-01T10:58:00Z"))  # after the latest snapshot (10:55, 20 %)
    now = ms("2024-05-01T11:00:00Z")
    out = limits_summary(rs, snaps, now, "Europe/Berlin", None, cost_of)
    json.dumps(out, allow_nan=False)
    five = out["five_hour"]
    check_sources(five)
    assert five["active"] and five["window_source"] == "official"
    assert (five["start"], five["reset_at"]) == ("2024-05-01T12:00:00+02:00", "2024-05-01T17:00:00+02:00")
    assert (five["percent"], five["percent_source"]) == (20, "official")
    assert five["percent_observed_ms"] == ms("2024-05-01T10:55:00Z")
    assert (five["token_limit"], five["token_limit_source"]) == (30_000, "learned")
    assert (five["used_tokens"], five["responses"], five["used_source"]) == (6000, 6, "ledger")
    # 20 % used of about 30,000, and 1000 more since the snapshot: about 23,000 left
    assert (five["tokens_left"], five["tokens_left_source"]) == (23_000, "learned")
    assert five["cost_left_usd"] == pytest.approx(0.162 * 0.8 - 0.0054)
    # pace: 6000 tokens over the 50 minutes since 10:10 -> 120 tokens/min -> 191 min 40 s to the limit
    assert five["burn"]["tokens_per_minute_input_output"] == pytest.approx(120)
    assert five["time_to_limit_ms"] == pytest.approx(23_000 / 120 * MIN, abs=2)
    assert five["limited_by"] in ("tokens", "cost") and five["time_to_limit_source"] == "learned"
    assert five["projected_tokens"] == 6000 + 120 * 240
    assert out["official"]["five_hour"]["used_percentage"] == 20
    # the week and month have no limit here: figures are None, not zero
    assert out["week"]["token_limit"] is None and out["week"]["percent"] is None
    assert out["week"]["window_source"] == "configured" and out["month"]["used_tokens"] == 6000


def test_summary_without_active_block_and_with_presets() -> None:
    rs = p90_records()
    out = limits_summary(rs, [], NOW, "UTC", {"plan": "pro", "monthly_usd": 1.0}, cost_of)
    json.dumps(out, allow_nan=False)
    five = out["five_hour"]
    assert not five["active"] and five["reset_at"] is None and five["used_tokens"] == 0
    assert (five["token_limit"], five["percent"], five["percent_source"]) == (44_000, 0.0, "configured")
    assert five["time_to_limit_ms"] is None and five["burn"] is None
    month = out["month"]
    assert month["start"] == "2024-05-01T00:00:00+00:00" and month["responses"] == 0
    april = limits_summary(rs, [], ms("2024-04-20T00:00:00Z"), "UTC", {"monthly_usd": 1.0}, cost_of)["month"]
    assert april["used_cost_usd"] == pytest.approx(0.165)
    assert (april["percent"], april["percent_source"]) == (pytest.approx(16.5), "configured")


def test_summary_week_official_and_limit_reached() -> None:
    rs = [rec("2024-05-01T10:00:00Z", inp=40_000, out=10_000), rec("2024-05-01T11:00:00Z", inp=90_000, out=0)]
    snaps = [snap("2024-05-01T10:30:00Z", "2024-05-06T00:00:00Z", 25, window="seven_day")]
    out = limits_summary(rs, snaps, ms("2024-05-01T11:30:00Z"), "UTC", PlanConfig(), cost_of)
    week = out["week"]
    check_sources(week)
    assert (week["window_source"], week["percent"], week["percent_source"]) == ("official", 25, "official")
    assert (week["token_limit"], week["token_limit_source"]) == (200_000, "learned")
    assert week["tokens_left"] == 200_000 * 0.75 - 90_000
    # the 5-hour window: one block, no snapshots, no completed blocks -> no limit known
    assert out["five_hour"]["token_limit"] is None and out["five_hour"]["window_source"] == "estimated"
    over = limits_summary(rs, snaps, ms("2024-05-01T11:30:00Z"), "UTC", {"weekly_tokens": 100_000}, cost_of)
    assert over["week"]["time_to_limit_ms"] == 0 and over["week"]["tokens_left"] == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 20 * 24 * 60), max_size=40),
    st.lists(
        st.tuples(
            st.integers(0, 20 * 24 * 60),
            st.integers(-300, 300),
            st.floats(0, 100),
            st.sampled_from(["five_hour", "seven_day"]),
        ),
        max_size=8,
    ),
    st.integers(0, 21 * 24 * 60),
    st.sampled_from(["auto", "pro", "custom"]),
)
def test_summary_is_always_json(
    mins: list[int], raw: list[tuple[int, int, float, str]], now_min: int, plan: str
) -> None:
    base = ms("2024-03-20T00:00:00Z")
    rs = [rec(base + m * MIN, inp=m % 1000, out=m % 7) for m in mins]
    snaps = [
        RateLimitSnapshot(
            base + o * MIN, w, p, base + (o + d + (300 if w == "five_hour" else 7 * 1440)) * MIN
        )
        for o, d, p, w in raw
    ]
    out = limits_summary(rs, snaps, base + now_min * MIN, "Europe/Berlin", {"plan": plan}, cost_of)
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text) == out
    for kind in ("five_hour", "week", "month"):
        check_sources(out[kind])
        ttl = out[kind]["time_to_limit_ms"]
        assert ttl is None or ttl >= 0
