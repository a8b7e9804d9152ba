"""Pure pieces of the statusline and hot-path queries, in process."""

from __future__ import annotations

import random
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cchooks.ledger import live
from cchooks.ledger.store import Ledger
from cchooks.records import RateLimitSnapshot, UsageRecord
from cchooks.statusline.figures import CC, ESTIMATE, LEDGER, Figures, WindowFigure
from cchooks.statusline.payload import epoch_ms, parse_payload
from cchooks.statusline.render import fmt_duration, fmt_pct, fmt_tokens, render_lines
from cchooks.statusline.settings import DEFAULT_SEGMENTS, StatuslineSettings, settings_from_config
from cchooks.totals import Totals

ROOT = Path(__file__).resolve().parent.parent


def test_default_segments_match_the_config_model() -> None:
    from cchooks.config.model import StatuslineConfig

    cfg = StatuslineConfig()
    assert cfg.segments == DEFAULT_SEGMENTS
    s = StatuslineSettings()
    for key in ("separator", "icons", "colors", "ledger_marker", "estimate_marker", "burn_minutes",
                "chain_position", "chain_timeout", "timeout"):  # fmt: skip
        assert getattr(cfg, key) == getattr(s, key), key
    assert tuple(cfg.thresholds) == s.thresholds


def test_payload_parsing_is_lenient() -> None:
    p = parse_payload((ROOT / "fixtures/statusline/0002-statusline.json").read_bytes())
    assert p.valid and p.session_id == "bbe7d8d4-7b54-40f3-a9b2-45f3ad620b22"
    assert (p.model_id, p.model_name, p.cost_usd) == ("claude-opus-5-5", "Opus 5.5", 0.033766)
    assert (p.context_used_pct, p.context_window_size, p.context_tokens) == (3, 1_000_000, 33245)
    assert p.rate_limits == {}
    for garbage in (b"", b"nope", b"[]", b"null", b"\xff"):
        assert not parse_payload(garbage).valid
    odd = parse_payload(
        b'{"model": "m", "cost": {"total_cost_usd": true}, "context_window": {"used_percentage": "9"},'
        b' "rate_limits": {"five_hour": {"used_percentage": 12.5, "resets_at": "2026-01-01T00:00:00Z"},'
        b' "seven_day": {"used_percentage": null}, "x": 5}}'
    )
    assert odd.valid and odd.model_id == "m" and odd.cost_usd is None and odd.context_used_pct is None
    assert list(odd.rate_limits) == ["five_hour"]
    assert odd.rate_limits["five_hour"].resets_at_ms == 1767225600000


def test_reset_times_in_seconds_milliseconds_or_iso() -> None:
    assert epoch_ms(1795348251) == 1795348251000
    assert epoch_ms(1795348251.5) == 1795348251500
    assert epoch_ms(1795348251000) == 1795348251000
    assert epoch_ms("2026-11-22T11:45:50Z") == 1795347950000
    assert (
        epoch_ms(0) is None and epoch_ms(None) is None and epoch_ms("soon") is None and epoch_ms(True) is None
    )


def test_number_formats() -> None:
    assert fmt_tokens(54231) == "54,231" and fmt_tokens(12_345_678) == "12.3M"
    assert fmt_pct(62) == "62%" and fmt_pct(0.42) == "0.4%" and fmt_pct(0) == "0%"
    assert fmt_duration(2 * 3_600_000 + 13 * 60_000 + 5) == "2h13m"
    assert fmt_duration(45 * 60_000) == "45m" and fmt_duration(3 * 86_400_000 + 4 * 3_600_000) == "3d4h"


def _fig(**kw: object) -> Figures:
    f = Figures(now_ms=1_000_000_000_000)
    for k, v in kw.items():
        setattr(f, k, v)
    return f


def test_markers_say_where_each_figure_comes_from() -> None:
    s = StatuslineSettings(colors=False)
    f = _fig(
        model="Opus 5.5",
        session_cost=0.42,
        today=Totals(responses=3, output_tokens=155_000, cost_usd=3.1),
        five_hour=WindowFigure("5h", ESTIMATE, 62.0, 1_000_000_000_000 + 7_980_000),
        seven_day=WindowFigure("7d", LEDGER, 35.0, None),
        context_pct=41.0,
        context_source=CC,
    )
    assert render_lines(f, s) == [
        "Opus 5.5 | $0.42 session / $3.10* today | 5h ~62% 2h13m left | 7d 35%* | ctx 41%"
    ]
    s.ledger_marker, s.estimate_marker = "", "≈"
    assert (
        render_lines(f, s)[0]
        == "Opus 5.5 | $0.42 session / $3.10 today | 5h ≈62% 2h13m left | 7d 35% | ctx 41%"
    )


def test_unpriced_spend_is_never_zero_dollars() -> None:
    s = StatuslineSettings(colors=False)
    unpriced = Totals(responses=2, input_tokens=1000, output_tokens=500, unpriced_tokens=1500, unpriced_responses=2)
    f = _fig(session=unpriced, session_cost=None, session_cost_source=LEDGER, today=unpriced)
    line = render_lines(f, s)[0]
    assert "$0.00" not in line
    assert line == "$?* (1,500 tok) session / $?* (1,500 tok) today | 1,500* tok"


def test_settings_from_config_maps_the_validated_config() -> None:
    from cchooks.config.model import Config

    cfg = Config.model_validate(
        {"statusline": {"segments": ["model"], "thresholds": [50, 70], "timeout": 0.5},
         "limits": {"plan": "max5"}, "budget": {"daily_usd": 20}}
    ).model_dump(mode="json")  # fmt: skip
    s = settings_from_config(cfg)
    assert s.lines == [["model"]] and s.thresholds == (50.0, 70.0) and s.burn_minutes == 60 and s.timeout == 0.5
    assert s.plan == "max5" and s.five_hour_usd is None and s.daily_budget_usd == 20.0 and s.problems == []
    lines = Config.model_validate({"statusline": {"lines": [["cost"], ["model", "context"]]}})
    assert settings_from_config(lines.model_dump(mode="json")).lines == [["cost"], ["model", "context"]]


def _blocks_reference(times: list[int], now: int) -> tuple[int, int] | None:
    """The active block by cchooks.windows (full history), if that package is present."""
    blocks_mod = pytest.importorskip("cchooks.windows.blocks")
    recs = [UsageRecord(f"m{t}", f"r{t}", "s", t, "x") for t in times]
    blocks = blocks_mod.session_blocks(recs, now, lambda r: 0.0, gaps=False)
    active = blocks_mod.active_block(blocks)
    return None if active is None else (active.start_ms, active.end_ms)


@pytest.mark.parametrize("seed", range(12))
def test_current_block_matches_the_full_history_heuristic(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    now = 1_795_400_000_000 + rng.randrange(3_600_000)
    t = now - 4 * 86_400_000
    times = []
    while t < now:
        times.append(t)
        # Mostly short gaps, sometimes idle hours (>= 5 h gaps reset the chain).
        t += rng.choice([rng.randrange(60_000, 1_800_000)] * 8 + [rng.randrange(3_600_000, 8 * 3_600_000)])
    with Ledger.open(tmp_path / "l.db") as led:
        with led.write():
            led.upsert_records(UsageRecord(f"m{x}", f"r{x}", "s", x, "m") for x in times)
        got = live.current_block(led, now)
    ref = _blocks_reference(times, now)
    assert (None if got is None else (got.start_ms, got.end_ms)) == ref or _chain_started_before_lookback(
        times, now
    )


def _block_by_loop(times: list[int], now: int, lookback_ms: int = 86_400_000) -> tuple[int, int, int] | None:
    """The rule of `live.current_block`, followed response by response (what it did before SQL)."""
    hour, five = 3_600_000, 5 * 3_600_000
    block: list[int] | None = None
    for t in sorted(x for x in times if now - lookback_ms <= x <= now):
        if block is None or t >= block[1] or t - block[2] >= five:
            block = [t - t % hour, t - t % hour + five, t]
        else:
            block[2] = t
    if block is None or now >= block[1] or now - block[2] >= five:
        return None
    return (block[0], block[1], block[2])


_HOUR = 3_600_000
# Gaps around the rule's edges: short, exactly 5 hours, just under, a whole block, idle hours.
_GAPS = st.sampled_from([0, 1, 60_000, 1_800_000, 5 * _HOUR - 1, 5 * _HOUR, 5 * _HOUR + 1, 4 * _HOUR, 7 * _HOUR])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.one_of(st.sampled_from([0, _HOUR]), st.integers(0, 3 * _HOUR)), gaps=st.lists(st.one_of(_GAPS, st.integers(0, 6 * _HOUR)), max_size=40))
@example(first=0, gaps=[5 * _HOUR - 1, 1])  # the last millisecond of a block, then its end
@example(first=0, gaps=[_HOUR, 4 * _HOUR, 5 * _HOUR])  # responses on block ends
def test_current_block_is_the_rule_followed_response_by_response(
    first: int, gaps: list[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    times = [1_795_399_200_000 + first]  # on the hour when `first` is: responses then meet block ends
    for g in gaps:
        times.append(times[-1] + g)
    # Clocks at and around every edge: a response, 5 hours after one, the end of an hour's block.
    nows = {t + d for t in times for d in (0, 1, 5 * _HOUR - 1, 5 * _HOUR)}
    nows |= {t - t % _HOUR + d for t in times for d in (5 * _HOUR - 1, 5 * _HOUR)}
    with Ledger.open(tmp_path_factory.mktemp("block") / "l.db") as led:
        with led.write():
            led.upsert_records(UsageRecord(f"m{i}", f"r{i}", "s", x, "m") for i, x in enumerate(times))
        for now in sorted(nows):
            got = live.current_block(led, now)
            want = _block_by_loop(times, now)
            assert (None if got is None else (got.start_ms, got.end_ms, got.last_ms)) == want, now


def _chain_started_before_lookback(times: list[int], now: int) -> bool:
    """The day-long lookback can only differ when that whole day had no 5-hour idle gap."""
    recent = [t for t in times if t >= now - 86_400_000]
    return all(b - a < 5 * 3_600_000 for a, b in zip(recent, recent[1:], strict=False))


def test_week_and_day_starts() -> None:
    tz = "Europe/Berlin"
    # Wednesday 2026-11-25 10:30 in Berlin.
    now = int(datetime(2026, 11, 25, 10, 30, tzinfo=ZoneInfo(tz)).timestamp() * 1000)
    assert live.local_day_start_ms(now, tz) == int(
        datetime(2026, 11, 25, tzinfo=ZoneInfo(tz)).timestamp() * 1000
    )
    monday = int(datetime(2026, 11, 23, tzinfo=ZoneInfo(tz)).timestamp() * 1000)
    assert live.local_week_start_ms(now, 0, 0, tz) == monday
    assert (
        live.local_week_start_ms(now, 2, 12, tz) == monday - 5 * 86_400_000 + 12 * 3_600_000
    )  # last Wed noon
    # Across the DST change (2026-10-25 in Berlin): a Monday 00:00 two days later.
    now = int(datetime(2026, 10, 27, 8, tzinfo=ZoneInfo(tz)).timestamp() * 1000)
    assert live.local_week_start_ms(now, 6, 0, tz) == int(
        datetime(2026, 10, 25, tzinfo=ZoneInfo(tz)).timestamp() * 1000
    )
    local = live.local_day_start_ms(int(time.time() * 1000))
    assert time.localtime(local / 1000)[3:6] == (0, 0, 0)


def test_snapshots_are_recorded_only_when_they_change(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as led:
        snap = RateLimitSnapshot(1000, "five_hour", 62.0, 99_000, "s")
        assert live.record_snapshots(led, [snap]) == 1
        for t in range(2000, 10000, 1000):
            assert live.record_snapshots(led, [RateLimitSnapshot(t, "five_hour", 62.0, 99_000, "s")]) == 0
        assert live.record_snapshots(led, [RateLimitSnapshot(11000, "five_hour", 63.0, 99_000, "s")]) == 1
        assert live.record_snapshots(led, [RateLimitSnapshot(12000, "five_hour", 63.0, 199_000, "s")]) == 1
        assert [s.used_percentage for s in led.rate_limit_snapshots("five_hour")] == [62.0, 63.0, 63.0]
        assert live.current_official(led, "five_hour", 150_000).resets_at_ms == 199_000  # type: ignore[union-attr]
        assert live.current_official(led, "five_hour", 200_000) is None


def test_spend_prices_per_model_and_counts_unpriced(tmp_path: Path) -> None:
    from cchooks.pricing import load_price_table

    prices = load_price_table()
    with Ledger.open(tmp_path / "l.db") as led:
        with led.write():
            led.upsert_records(
                [
                    UsageRecord(
                        "a", "ra", "s", 10, "claude-opus-5-5", input_tokens=1_000_000, output_tokens=1_000_000
                    ),
                    UsageRecord("b", "rb", "s", 20, "claude-mystery", input_tokens=5, output_tokens=7),
                    UsageRecord("c", "rc", "t", 30, "claude-opus-5-5", cache_read_tokens=1_000_000),
                ]
            )
        s = live.session_spend(led, prices, "s")
        assert (s.responses, s.total_tokens, s.unpriced_tokens) == (3 - 1, 2_000_012, 12)
        assert s.cost_usd == pytest.approx(24.0) and not s.cost_known and s.priced
        t = live.spend_between(led, prices, 15)
        assert t.responses == 2 and t.first_ms == 20 and t.last_ms == 30
        assert live.spend_between(led, None, 0).cost_usd == 0 and not live.spend_between(led, None, 0).priced
