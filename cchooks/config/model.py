"""The validated configuration model (pydantic; not for the hot paths)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from cchooks.config.names import SEGMENTS

# Rates are USD per million tokens: finite and not negative.
Rate = float | None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportConfig(_Section):
    timezone: str | None = None  # IANA name; None = the machine's local zone

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v:
            from cchooks.timezones import resolve_tz

            resolve_tz(v)  # ValueError names the zone
        return v


class PriceOverride(BaseModel):
    """USD per million tokens, merged field by field over the bundled entry of the same model
    (cchooks.pricing.load_price_table); a new model needs input and output."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    cache_read: float | None = Field(default=None, ge=0)
    cache_write_5m: float | None = Field(default=None, ge=0)
    cache_write_1h: float | None = Field(default=None, ge=0)
    long_context_threshold: int | None = Field(default=None, ge=0)
    long_input: float | None = Field(default=None, ge=0)
    long_output: float | None = Field(default=None, ge=0)
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
    icons: StrictBool = False
    colors: StrictBool = True
    thresholds: tuple[float, float] = (60.0, 80.0)  # percent: green below, yellow, red above
    ledger_marker: str = "*"  # after figures counted by cchooks' ledger
    estimate_marker: str = "~"  # before figures cchooks estimates (heuristics, assumed limits)
    confirmed_marker: str = "✓"  # instead of ledger_marker: session figures fresh OTLP agrees with
    burn_minutes: int = Field(default=60, gt=0)  # the span of the tok/min burn rate
    chain_position: Literal["right", "left", "below"] = "right"  # where `--chain` output goes
    chain_timeout: float = Field(default=1.0, gt=0)  # seconds to wait for the chained command
    timeout: float = Field(default=3.0, gt=0)  # hard limit for one statusline run, seconds

    @field_validator("segments")
    @classmethod
    def _known_segments(cls, v: list[str]) -> list[str]:
        return _check_segments(v)

    @field_validator("lines")
    @classmethod
    def _known_line_segments(cls, v: list[list[str]] | None) -> list[list[str]] | None:
        if v is not None:
            if not v or not all(v):
                raise ValueError("must be a non-empty list of non-empty lists of segment names")
            for line in v:
                _check_segments(line)
        return v

    @field_validator("thresholds")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] <= v[1]:
            raise ValueError("must be two percentages [yellow_from, red_from] with yellow_from <= red_from")
        return v


def _check_segments(names: list[str]) -> list[str]:
    unknown = [x for x in names if x not in SEGMENTS]
    if unknown:
        raise ValueError(f"unknown segment(s) {', '.join(unknown)}; known: {', '.join(SEGMENTS)}")
    return names


class BudgetConfig(_Section):
    session_usd: float | None = Field(default=None, gt=0)
    daily_usd: float | None = Field(default=None, gt=0)
    five_hour_usd: float | None = Field(default=None, gt=0)
    weekly_usd: float | None = Field(default=None, gt=0)
    block: StrictBool = False  # PreToolUse denies tool calls once a hard limit is crossed
    hard_limit_factor: float = Field(default=1.0, gt=0)  # hard limit = threshold * factor
    inform_model: StrictBool = False  # also pass warnings to Claude (UserPromptSubmit additionalContext)
    # Per agent type ("general-purpose", "Explore", "main" for the main thread): USD one session's
    # agents of that type may spend (cchooks.hooks.budget).
    agents: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(default_factory=dict)


class LimitsConfig(_Section):
    plan: Literal["auto", "pro", "max5", "max20", "custom"] = "auto"
    five_hour_tokens: int | None = Field(default=None, gt=0)
    five_hour_usd: float | None = Field(default=None, gt=0)
    weekly_tokens: int | None = Field(default=None, gt=0)
    weekly_usd: float | None = Field(default=None, gt=0)
    monthly_usd: float | None = Field(default=None, gt=0)
    monthly_tokens: int | None = Field(default=None, gt=0)
    # What the token limits above count: all | no_cache_read | input_output (cchooks.totals).
    token_measure: Literal["all", "no_cache_read", "input_output"] = "input_output"
    weekly_reset_weekday: int = Field(default=0, ge=0, le=6)  # Monday; only without an official reset
    weekly_reset_hour: int = Field(default=0, ge=0, le=23)


class OtlpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=4318, ge=1, le=65535)
    token: str | None = None
    forward: str | None = None


class TeamConfig(_Section):
    """`[team]`: the shared PostgreSQL ledger (cchooks.team); nothing changes while `url` is unset."""

    # postgresql://user@host:port/dbname; $CCHOOKS_TEAM_URL wins. No password here: it comes from
    # PGPASSWORD (or CCHOOKS_TEAM_URL) or ~/.pgpass, so it is never in cchooks' files or caches.
    url: str | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    machine_label: str | None = Field(default=None, min_length=1, max_length=200)  # default: hostname
    user: str | None = Field(default=None, min_length=1, max_length=200)  # default: the login name
    hash_project: StrictBool = False  # send sha256(project name)[:16] instead of the name
    sync_interval: float = Field(default=30.0, ge=1)  # seconds between syncs in `cchooks watch`
    batch_size: int = Field(default=100_000, ge=1, le=1_000_000)  # responses per transaction
    statusline: StrictBool = True  # the statusline shows the pool (from the local snapshot)

    @field_validator("url")
    @classmethod
    def _no_password(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from urllib.parse import urlsplit

        parts = urlsplit(v)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL")
        if parts.password is not None or "password=" in parts.query:
            raise ValueError(
                "must not hold a password: put it in ~/.pgpass or the PGPASSWORD environment variable"
            )
        return v


class MetricsConfig(_Section):
    """`/metrics` and `cchooks metrics` (docs/prometheus.md): every label is bounded."""

    project_label: StrictBool = False  # also export per-project families (cchooks_project_*)
    max_projects: int = Field(default=20, ge=1, le=1000)  # the first N projects seen; later ones are "other"
    max_label_values: int = Field(default=30, ge=1, le=1000)  # per label of Claude Code's own metrics
    # The window gauges and the session count are recomputed in the background once older than
    # this (a scrape never waits for them after the first); 0 = recompute on every scrape.
    slow_max_age_seconds: float = Field(default=30.0, ge=0, le=3600)


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    report: ReportConfig = Field(default_factory=ReportConfig)
    prices: dict[str, PriceOverride] = Field(default_factory=dict)
    statusline: StatuslineConfig = Field(default_factory=StatuslineConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    otlp: OtlpConfig = Field(default_factory=OtlpConfig)
    team: TeamConfig = Field(default_factory=TeamConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)

    @model_validator(mode="after")
    def _prices_usable(self) -> Config:
        # The same merge the reports do: a new model without input or output, or an override
        # that leaves an entry unusable, is a config error here, not a crash in a report.
        from cchooks.pricing import PriceError, load_price_table

        try:
            load_price_table(self.price_overrides())
        except PriceError as exc:
            raise ValueError(str(exc)) from None
        return self

    def price_overrides(self) -> dict[str, dict[str, Any]]:
        return {k: v.model_dump(exclude_none=True) for k, v in self.prices.items()}
