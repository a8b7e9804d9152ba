"""The statusline's settings, read from the raw TOML dict without pydantic.

`cchooks.config.model.StatuslineConfig` is the validated schema (used by `cchooks status`
and the slow commands); this module reads the same keys on the hot path, and a value of
the wrong type falls back to its default (the problem is reported, never raised).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SEGMENTS = (
    "model",
    "cost",
    "session_cost",
    "today_cost",
    "tokens",
    "burn",
    "five_hour",
    "seven_day",
    "context",
    "lines",
    "duration",
    "cwd",
)
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


def _bool(section: dict[str, Any], key: str, default: bool, problems: list[str]) -> bool:
    v = section.get(key, default)
    if isinstance(v, bool):
        return v
    problems.append(f"[statusline] {key} must be true or false")
    return default


def _pos_number(section: dict[str, Any], key: str, problems: list[str], where: str) -> float | None:
    v = section.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
        problems.append(f"[{where}] {key} must be a positive number")
        return None
    return float(v)


def settings_from_raw(raw: dict[str, Any]) -> StatuslineSettings:
    s = StatuslineSettings()
    problems = s.problems
    sec = raw.get("statusline")
    sec = sec if isinstance(sec, dict) else {}

    def names(value: object, key: str) -> list[str] | None:
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            problems.append(f"[statusline] {key} must be a list of segment names")
            return None
        unknown = [x for x in value if x not in SEGMENTS]
        if unknown:
            problems.append(
                f"[statusline] unknown segment(s) {', '.join(unknown)}; known: {', '.join(SEGMENTS)}"
            )
        return [x for x in value if x in SEGMENTS]

    if "lines" in sec and sec["lines"] is not None:
        lines = sec["lines"]
        if isinstance(lines, list) and lines:
            parsed = [names(line, "lines") for line in lines]
            if all(p is not None for p in parsed):
                s.lines = [p for p in parsed if p]
        else:
            problems.append("[statusline] lines must be a list of lists of segment names")
    elif "segments" in sec:
        seg = names(sec["segments"], "segments")
        if seg is not None:
            s.lines = [seg]
    for key in ("separator", "ledger_marker", "estimate_marker", "confirmed_marker"):
        if key in sec:
            if isinstance(sec[key], str):
                setattr(s, key, sec[key])
            else:
                problems.append(f"[statusline] {key} must be a string")
    s.icons = _bool(sec, "icons", s.icons, problems)
    s.colors = _bool(sec, "colors", s.colors, problems)
    if os.environ.get("NO_COLOR"):
        s.colors = False
    th = sec.get("thresholds")
    if th is not None:
        if (
            isinstance(th, list | tuple)
            and len(th) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in th)
            and 0 <= th[0] <= th[1]
        ):
            s.thresholds = (float(th[0]), float(th[1]))
        else:
            problems.append("[statusline] thresholds must be two percentages [yellow_from, red_from]")
    bm = sec.get("burn_minutes")
    if bm is not None:
        if isinstance(bm, int) and not isinstance(bm, bool) and bm > 0:
            s.burn_minutes = bm
        else:
            problems.append("[statusline] burn_minutes must be a positive whole number")
    cp = sec.get("chain_position")
    if cp is not None:
        if cp in CHAIN_POSITIONS:
            s.chain_position = cp
        else:
            problems.append(f"[statusline] chain_position must be one of {', '.join(CHAIN_POSITIONS)}")
    for key in ("chain_timeout", "timeout"):
        v = _pos_number(sec, key, problems, "statusline")
        if v is not None:
            setattr(s, key, v)

    report = raw.get("report")
    if isinstance(report, dict) and isinstance(report.get("timezone"), str) and report["timezone"]:
        s.timezone = report["timezone"]
    prices = raw.get("prices")
    if isinstance(prices, dict):
        s.price_overrides = {k: v for k, v in prices.items() if isinstance(v, dict)}
    limits = raw.get("limits")
    if isinstance(limits, dict):
        if isinstance(limits.get("plan"), str):
            s.plan = limits["plan"]
        s.five_hour_usd = _pos_number(limits, "five_hour_usd", problems, "limits")
        tok = _pos_number(limits, "five_hour_tokens", problems, "limits")
        s.five_hour_tokens = int(tok) if tok is not None else None
    budget = raw.get("budget")
    if isinstance(budget, dict):
        s.daily_budget_usd = _pos_number(budget, "daily_usd", problems, "budget")
        s.session_budget_usd = _pos_number(budget, "session_usd", problems, "budget")
    return s


def load_settings(config_path: str | None = None) -> StatuslineSettings:
    """Read the config file (if any) and build the settings; a broken file gives the defaults.

    Hot-path friendly: no pathlib, and the parsed config is cached (`load_raw_hot`: no tomllib).
    """
    import os

    from cchooks.config import load_raw_hot
    from cchooks.paths import config_file_str

    path = config_path or config_file_str()
    if not os.path.isfile(path):
        return StatuslineSettings()
    try:
        raw = load_raw_hot(path)
    except Exception as exc:  # ConfigError, or anything odd: the statusline still renders
        s = StatuslineSettings()
        s.problems.append(str(exc))
        return s
    return StatuslineSettings() if raw is None else settings_from_raw(raw)
