"""Plan limits: presets, user overrides, and limits learned from evidence.

How a limit is found, per window (five_hour, week, month), first match wins per figure (tokens, USD):
1. the user's override (`five_hour_tokens`, `weekly_usd`, ...) -> "configured";
2. plan `pro` / `max5` / `max20` / `custom`: the preset's figures (5-hour window only) -> "configured";
3. plan `auto`: learned from official snapshots (five_hour, seven_day) -> "learned": the tokens we counted
   in the official window up to the snapshot, divided by its used_percentage, times 100; the median over
   the most recent snapshots at or above `min_official_percentage` (lower ones are too coarse);
4. plan `auto`, 5-hour window without usable snapshots: the 90th percentile of past completed blocks
   -> "estimated" (what Claude-Code-Usage-Monitor's "custom" plan does).
Otherwise the figure is None (unknown), never a made-up number.

Learning assumes the ledger saw all the usage the official percentage counts. Usage from another machine
or from claude.ai makes the official percentage higher than our tokens explain, so the learned limit comes
out low (errs on the cautious side).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from cchooks.records import RateLimitSnapshot, UsageRecord

from ._common import (
    FIVE_HOURS_MS,
    TOKEN_MEASURES,
    WEEK_MS,
    CostFn,
    Source,
    TokenMeasure,
    median,
    percentile,
    sorted_records,
    totals_between,
)
from .blocks import Block, official_windows


@dataclass(frozen=True, slots=True)
class PlanPreset:
    """Limits of one plan for a 5-hour window; None = no figure."""

    five_hour_tokens: int | None = None
    five_hour_usd: float | None = None


# Community estimates, not figures Anthropic publishes (it publishes none); override them in the config.
# Taken from Claude-Code-Usage-Monitor (github.com/Maciek-roboblog/Claude-Code-Usage-Monitor,
# src/claude_monitor/core/plans.py, PLAN_LIMITS, 2025): per 5-hour block, pro 44,000 tokens / $18,
# max5 88,000 / $35, max20 220,000 / $140, where its token count is input + output only (no cache tokens:
# its block "totalTokens" is input_tokens + output_tokens). Its earlier claude_monitor.py used
# pro 44k / max5 220k / max20 880k, so treat these as rough. `custom` has no defaults: set your own.
PLAN_PRESETS: dict[str, PlanPreset] = {
    "pro": PlanPreset(44_000, 18.0),
    "max5": PlanPreset(88_000, 35.0),
    "max20": PlanPreset(220_000, 140.0),
    "custom": PlanPreset(None, None),
}
PRESET_MEASURE: TokenMeasure = "input_output"  # what the preset token figures count
PLANS: tuple[str, ...] = ("auto", "pro", "max5", "max20", "custom")
WINDOW_KINDS: tuple[str, ...] = ("five_hour", "week", "month")


@dataclass(slots=True)
class PlanConfig:
    """What limits_summary needs from the configuration. Field names follow config.LimitsConfig, so
    `PlanConfig.from_mapping(config.limits.model_dump())` works."""

    plan: str = "auto"
    five_hour_tokens: int | None = None
    five_hour_usd: float | None = None
    weekly_tokens: int | None = None
    weekly_usd: float | None = None
    monthly_tokens: int | None = None
    monthly_usd: float | None = None
    weekly_reset_weekday: int = 0  # Monday; only without an official seven_day reset
    weekly_reset_hour: int = 0  # local hour in the user's zone
    token_measure: TokenMeasure = PRESET_MEASURE  # what learned and overridden token limits count
    burn_minutes: float = 60.0  # the "recent pace" span shown next to the window's pace
    min_official_percentage: float = 5.0
    max_learning_samples: int = 20
    presets: dict[str, PlanPreset] = field(default_factory=lambda: dict(PLAN_PRESETS))

    def __post_init__(self) -> None:
        if self.plan not in PLANS:
            raise ValueError(f"unknown plan {self.plan!r}; expected one of {', '.join(PLANS)}")
        if self.token_measure not in TOKEN_MEASURES:
            raise ValueError(
                f"unknown token measure {self.token_measure!r}; expected one of {TOKEN_MEASURES}"
            )
        if not 0 <= self.weekly_reset_weekday <= 6 or not 0 <= self.weekly_reset_hour <= 23:
            raise ValueError("weekly_reset_weekday must be 0-6 (Monday = 0) and weekly_reset_hour 0-23")
        if self.burn_minutes <= 0:
            raise ValueError("burn_minutes must be positive")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PlanConfig:
        """Build from a plain mapping; `presets` may map plan names to mappings of PlanPreset fields."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown limits settings: {', '.join(sorted(unknown))}")
        kwargs = dict(data)
        raw_presets = kwargs.pop("presets", None)
        cfg = cls(**kwargs)
        if raw_presets:
            for name, p in raw_presets.items():
                cfg.presets[name] = p if isinstance(p, PlanPreset) else PlanPreset(**p)
        return cfg

    def overrides(self, kind: str) -> tuple[int | None, float | None]:
        if kind == "five_hour":
            return self.five_hour_tokens, self.five_hour_usd
        if kind == "week":
            return self.weekly_tokens, self.weekly_usd
        if kind == "month":
            return self.monthly_tokens, self.monthly_usd
        raise ValueError(f"unknown window kind {kind!r}; expected one of {WINDOW_KINDS}")


@dataclass(slots=True)
class Limit:
    """A window's limit in tokens (counted per `measure`) and in USD, each with its source."""

    tokens: int | None = None
    tokens_source: Source | None = None
    cost_usd: float | None = None
    cost_source: Source | None = None
    measure: TokenMeasure = PRESET_MEASURE
    basis: str = ""  # how the figures were found, for humans
    samples: int = 0  # snapshots or blocks the figures were learned from

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "tokens_source": self.tokens_source,
            "cost_usd": self.cost_usd,
            "cost_source": self.cost_source,
            "measure": self.measure,
            "basis": self.basis,
            "samples": self.samples,
        }


def learn_from_snapshots(
    records: Iterable[UsageRecord],
    snapshots: Iterable[RateLimitSnapshot],
    cost_of: CostFn,
    *,
    window: str = "five_hour",
    duration_ms: int = FIVE_HOURS_MS,
    measure: TokenMeasure = PRESET_MEASURE,
    min_percentage: float = 5.0,
    max_samples: int = 20,
) -> Limit | None:
    """The limit implied by official used_percentage snapshots, or None without usable ones.

    Each snapshot gives tokens-so-far / used_percentage * 100. Only snapshots of official windows that
    survive reset-time corrections count; repeats of one (window, percentage) count once, at their first
    observation (when the percentage was freshest); the `max_samples` most recent are kept. Estimates from
    windows where we counted no tokens (the usage happened elsewhere) are skipped, and USD estimates from
    windows with unpriced records too.
    """
    recs = sorted_records(records)
    snaps = [s for s in snapshots if s.window == window and s.resets_at_ms is not None]
    wins = {w.end_ms: w for w in official_windows(snaps, window, duration_ms)}
    first_seen: dict[tuple[int, float], RateLimitSnapshot] = {}
    for s in snaps:
        reset = s.resets_at_ms
        assert reset is not None
        w = wins.get(reset)
        if w is None or s.used_percentage < min_percentage or s.used_percentage <= 0:
            continue
        if s.observed_ms < w.start_ms:
            continue
        key = (reset, s.used_percentage)
        prev = first_seen.get(key)
        if prev is None or s.observed_ms < prev.observed_ms:
            first_seen[key] = s
    chosen = sorted(first_seen.values(), key=lambda s: s.observed_ms, reverse=True)[:max_samples]
    token_estimates: list[float] = []
    cost_estimates: list[float] = []
    for s in chosen:
        w = wins[s.resets_at_ms or 0]
        t = totals_between(recs, w.start_ms, min(s.observed_ms + 1, w.end_ms), cost_of)
        used = t.tokens(measure)
        if used > 0:
            token_estimates.append(used * 100.0 / s.used_percentage)
        if t.cost_usd > 0 and t.unpriced_responses == 0:
            cost_estimates.append(t.cost_usd * 100.0 / s.used_percentage)
    if not token_estimates and not cost_estimates:
        return None
    n = max(len(token_estimates), len(cost_estimates))
    return Limit(
        tokens=round(median(token_estimates)) if token_estimates else None,
        tokens_source="learned" if token_estimates else None,
        cost_usd=median(cost_estimates) if cost_estimates else None,
        cost_source="learned" if cost_estimates else None,
        measure=measure,
        basis=f"median of {n} official {window} used_percentage snapshots",
        samples=n,
    )


def p90_block_limit(
    blocks: Sequence[Block], measure: TokenMeasure = PRESET_MEASURE, q: float = 90.0
) -> Limit | None:
    """The q-th percentile of past completed blocks' totals (not gaps, not the active block, not empty)."""
    done = [b for b in blocks if not b.is_gap and not b.is_active and b.totals.responses > 0]
    if not done:
        return None
    tokens = [float(b.totals.tokens(measure)) for b in done]
    costs = [b.totals.cost_usd for b in done]
    cost = percentile(costs, q)
    return Limit(
        tokens=round(percentile(tokens, q)),
        tokens_source="estimated",
        cost_usd=cost if cost > 0 else None,
        cost_source="estimated" if cost > 0 else None,
        measure=measure,
        basis=f"{q:g}th percentile of {len(done)} completed 5-hour blocks",
        samples=len(done),
    )


def resolve_limit(
    kind: str,
    config: PlanConfig,
    records: Iterable[UsageRecord],
    snapshots: Iterable[RateLimitSnapshot],
    cost_of: CostFn,
    blocks: Sequence[Block] = (),
) -> Limit:
    """The limit of one window kind ("five_hour", "week", "month") under the configuration.

    `blocks` (from session_blocks) feed the 90th-percentile fallback of the 5-hour window.
    """
    tok_override, usd_override = config.overrides(kind)
    measure = config.token_measure
    base = Limit(measure=measure)
    if config.plan != "auto":
        preset = config.presets.get(config.plan, PlanPreset())
        if kind == "five_hour" and (preset.five_hour_tokens is not None or preset.five_hour_usd is not None):
            base = Limit(
                tokens=preset.five_hour_tokens,
                tokens_source="configured" if preset.five_hour_tokens is not None else None,
                cost_usd=preset.five_hour_usd,
                cost_source="configured" if preset.five_hour_usd is not None else None,
                measure=PRESET_MEASURE if config.plan != "custom" else measure,
                basis=f"plan preset {config.plan!r}",
            )
    elif kind in ("five_hour", "week"):
        window, duration = ("five_hour", FIVE_HOURS_MS) if kind == "five_hour" else ("seven_day", WEEK_MS)
        learned = learn_from_snapshots(
            records,
            snapshots,
            cost_of,
            window=window,
            duration_ms=duration,
            measure=measure,
            min_percentage=config.min_official_percentage,
            max_samples=config.max_learning_samples,
        )
        if kind == "five_hour" and (learned is None or learned.tokens is None or learned.cost_usd is None):
            p90 = p90_block_limit(blocks, measure)
            if learned is None:
                learned = p90
            elif p90 is not None:  # fill the figure the snapshots could not give
                if learned.tokens is None:
                    learned.tokens, learned.tokens_source = p90.tokens, p90.tokens_source
                    learned.basis += f"; tokens: {p90.basis}"
                if learned.cost_usd is None and p90.cost_usd is not None:
                    learned.cost_usd, learned.cost_source = p90.cost_usd, p90.cost_source
                    learned.basis += f"; USD: {p90.basis}"
        if learned is not None:
            base = learned
    if tok_override is not None:
        base.tokens, base.tokens_source, base.measure = int(tok_override), "configured", measure
        base.basis = (base.basis + "; " if base.basis else "") + "token limit from the configuration"
    if usd_override is not None:
        base.cost_usd, base.cost_source = float(usd_override), "configured"
        base.basis = (base.basis + "; " if base.basis else "") + "USD limit from the configuration"
    return base
