"""The validated configuration model (pydantic; not for the hot paths)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportConfig(_Section):
    timezone: str | None = None  # IANA name; None = the machine's local zone


class PriceOverride(BaseModel):
    """USD per million tokens; omitted cache rates follow Anthropic's multipliers."""

    model_config = ConfigDict(extra="forbid")
    input: float | None = None
    output: float | None = None
    cache_read: float | None = None
    cache_write_5m: float | None = None
    cache_write_1h: float | None = None
    long_context_threshold: int | None = None
    long_input: float | None = None
    long_output: float | None = None
    aliases: list[str] = Field(default_factory=list)
    date: str | None = None
    source: str | None = None


class StatuslineConfig(_Section):
    """`cchooks statusline`; read without pydantic on the hot path by cchooks.statusline.settings."""

    segments: list[str] = Field(
        default_factory=lambda: ["model", "cost", "tokens", "burn", "five_hour", "seven_day", "context"]
    )
    lines: list[list[str]] | None = None  # several lines, each a list of segments
    separator: str = " | "
    icons: bool = False
    colors: bool = True
    thresholds: tuple[float, float] = (60.0, 80.0)  # percent: green below, yellow, red above
    ledger_marker: str = "*"  # after figures counted by cchooks' ledger
    estimate_marker: str = "~"  # before figures cchooks estimates (heuristics, assumed limits)
    confirmed_marker: str = "✓"  # instead of ledger_marker: session figures fresh OTLP agrees with
    burn_minutes: int = Field(default=60, gt=0)  # the span of the tok/min burn rate
    chain_position: Literal["right", "left", "below"] = "right"  # where `--chain` output goes
    chain_timeout: float = Field(default=1.0, gt=0)  # seconds to wait for the chained command
    timeout: float = Field(default=3.0, gt=0)  # hard limit for one statusline run, seconds


class BudgetConfig(_Section):
    session_usd: float | None = None
    daily_usd: float | None = None
    five_hour_usd: float | None = None
    weekly_usd: float | None = None
    block: bool = False  # PreToolUse denies tool calls once a hard limit is crossed
    hard_limit_factor: float = 1.0  # hard limit = threshold * factor
    inform_model: bool = False  # also pass warnings to Claude (UserPromptSubmit additionalContext)


class LimitsConfig(_Section):
    plan: Literal["auto", "pro", "max5", "max20", "custom"] = "auto"
    five_hour_tokens: int | None = None
    five_hour_usd: float | None = None
    weekly_tokens: int | None = None
    weekly_usd: float | None = None
    monthly_usd: float | None = None
    weekly_reset_weekday: int = 0  # Monday; used only without an official seven_day reset
    weekly_reset_hour: int = 0


class OtlpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = 4318
    token: str | None = None
    forward: str | None = None


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    report: ReportConfig = Field(default_factory=ReportConfig)
    prices: dict[str, PriceOverride] = Field(default_factory=dict)
    statusline: StatuslineConfig = Field(default_factory=StatuslineConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    otlp: OtlpConfig = Field(default_factory=OtlpConfig)

    def price_overrides(self) -> dict[str, dict[str, object]]:
        return {k: v.model_dump(exclude_none=True) for k, v in self.prices.items()}
