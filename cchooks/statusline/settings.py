"""The statusline's settings, read from the raw TOML dict without pydantic.

`cchooks.config.model.StatuslineConfig` is the schema; the one loader validates the file and
hands the hot path a cached plain dict of it (`cchooks.config.load_config_hot`), which this
module only maps onto attributes.
"""

from __future__ import annotations

import os

from cchooks.config.names import SEGMENTS as SEGMENTS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


DEFAULT_SEGMENTS = ["model", "cost", "tokens", "burn", "five_hour", "seven_day", "context"]
CHAIN_POSITIONS = ("right", "left", "below")


class StatuslineSettings:
    """Defaults match `cchooks.config.model.StatuslineConfig` (a test keeps them equal)."""

    __slots__ = (
        "lines", "separator", "icons", "colors", "thresholds", "ledger_marker", "estimate_marker",
        "confirmed_marker", "burn_minutes", "chain_position", "chain_timeout", "timeout", "timezone",
        "price_overrides", "plan", "five_hour_usd", "five_hour_tokens", "daily_budget_usd", "session_budget_usd",
        "problems",
    )  # fmt: skip

    def __init__(self, *, colors: bool = True, icons: bool = False) -> None:
        self.lines: list[list[str]] = [list(DEFAULT_SEGMENTS)]
        self.separator = " | "
        self.icons = icons
        self.colors = colors
        self.thresholds: tuple[float, float] = (60.0, 80.0)  # percent: yellow from, red from
        self.ledger_marker = "*"
        self.estimate_marker = "~"
        self.confirmed_marker = "✓"  # instead of ledger_marker when fresh OTLP agrees; "" = ledger_marker
        self.burn_minutes = 60
        self.chain_position = "right"
        self.chain_timeout = 1.0
        self.timeout = 3.0
        # Read from other sections.
        self.timezone: str | None = None  # [report] timezone
        self.price_overrides: dict[str, dict[str, Any]] = {}  # [prices]
        self.plan = "auto"  # [limits] plan
        self.five_hour_usd: float | None = None  # [limits] five_hour_usd
        self.five_hour_tokens: int | None = None  # [limits] five_hour_tokens (input + output)
        self.daily_budget_usd: float | None = None  # [budget] daily_usd: colours today's cost
        self.session_budget_usd: float | None = None  # [budget] session_usd: colours the session's cost
        self.problems: list[str] = []


def settings_from_config(cfg: dict[str, Any]) -> StatuslineSettings:
    """Settings from the validated config (`cchooks.config.load_config_hot`): no checks left to do."""
    s = StatuslineSettings()
    sec = cfg.get("statusline") or {}
    s.lines = [list(x) for x in sec["lines"]] if sec.get("lines") else [list(sec.get("segments", DEFAULT_SEGMENTS))]
    for key in ("separator", "ledger_marker", "estimate_marker", "confirmed_marker", "icons", "colors",
                "burn_minutes", "chain_position", "chain_timeout", "timeout"):  # fmt: skip
        if key in sec:
            setattr(s, key, sec[key])
    if sec.get("thresholds"):
        s.thresholds = (float(sec["thresholds"][0]), float(sec["thresholds"][1]))
    s.timezone = (cfg.get("report") or {}).get("timezone") or None
    s.price_overrides = {
        k: {f: v for f, v in entry.items() if v is not None and v != []}
        for k, entry in (cfg.get("prices") or {}).items()
    }
    limits = cfg.get("limits") or {}
    s.plan = limits.get("plan", "auto")
    s.five_hour_usd = limits.get("five_hour_usd")
    s.five_hour_tokens = limits.get("five_hour_tokens")
    team = cfg.get("team") or {}
    # A configured team shows its pool (from the snapshot the sync writes) unless turned off or placed.
    shows_team = any("team" in line for line in s.lines)
    if (team.get("url") or os.environ.get("CCHOOKS_TEAM_URL")) and team.get("statusline", True) and not shows_team:
        s.lines[0].append("team")
    budget = cfg.get("budget") or {}
    s.daily_budget_usd = budget.get("daily_usd")
    s.session_budget_usd = budget.get("session_usd")
    return s


def load_settings(config_path: str | None = None) -> StatuslineSettings:
    """The statusline's settings from the one config loader; a broken file gives the defaults
    and its one-line error in `problems`. NO_COLOR (any value) always turns colours off."""
    from cchooks.config import load_config_hot

    try:
        s = settings_from_config(load_config_hot(config_path))
    except Exception as exc:  # ConfigError, or anything odd: the statusline still renders
        s = StatuslineSettings()
        s.problems.append(str(exc))
    if os.environ.get("NO_COLOR"):
        s.colors = False
    return s
