"""The budget guard: spend against the `[budget]` thresholds of the config file.

Opt-in: nothing happens unless at least one of `session_usd`, `daily_usd`, `five_hour_usd`,
`weekly_usd` is set. Then

- on Stop and UserPromptSubmit, a threshold that the spend has reached produces one warning
  for the user, once per crossing: the ledger's `meta` table remembers, per session and
  threshold, the period (day, 5-hour window, week) already warned about, so the warning
  comes back only when a new period crosses the threshold again;
- with `block = true`, PreToolUse denies every tool call while a spend is at or over its hard
  limit (threshold x `hard_limit_factor`), with the reason.

Periods: *session* is the whole session; *daily* starts at local midnight (`[report]
timezone`, else the machine's zone); *five_hour* is Claude Code's official window when a
statusline payload has recorded one that is still running, else ccusage's 5-hour block
heuristic; *weekly* is the official `seven_day` window likewise, else the local week
starting on `[limits] weekly_reset_weekday` / `weekly_reset_hour` (Monday 00:00).

Per agent type (`[budget.agents]`, e.g. `general-purpose = 5.0`; `main` is the main thread): what
one session's agents of that type spent. Warned about on Stop, UserPromptSubmit and SubagentStop,
once per session and type; with `block = true`, PreToolUse denies the tool calls *of that agent
type* (the payload's `agent_type`) once its spend is at or over the hard limit.

Totals is the ledger's (transcripts x the price table). Responses of unpriced models add
no dollars; the message says so instead of pretending they were free.
"""

from __future__ import annotations

from cchooks.ledger.live import (
    FIVE_HOURS_MS,
    WEEK_MS,
    current_block,
    current_official,
    local_day_start_ms,
    local_week_start_ms,
    session_agent_spend,
    session_spend,
    spend_between,
)
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cchooks.ledger.store import Ledger
    from cchooks.pricing import PriceTable

KINDS = ("session", "daily", "five_hour", "weekly")
LABELS = {
    "session": "this session's spend",
    "daily": "today's spend",
    "five_hour": "the current 5-hour window's spend",
    "weekly": "this week's spend",
}
META_PREFIX = "budget_warned:"


class BudgetSettings:
    __slots__ = (
        "session_usd", "daily_usd", "five_hour_usd", "weekly_usd", "block", "hard_limit_factor", "inform_model",
        "timezone", "weekly_reset_weekday", "weekly_reset_hour", "price_overrides", "problems", "agents",
    )  # fmt: skip

    def __init__(self) -> None:
        self.session_usd: float | None = None
        self.daily_usd: float | None = None
        self.five_hour_usd: float | None = None
        self.weekly_usd: float | None = None
        self.block = False
        self.hard_limit_factor = 1.0
        self.inform_model = False  # also tell Claude (UserPromptSubmit additionalContext)
        self.timezone: str | None = None
        self.weekly_reset_weekday = 0
        self.weekly_reset_hour = 0
        self.price_overrides: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []
        self.agents: dict[str, float] = {}  # agent type -> USD per session

    @property
    def enabled(self) -> bool:
        return bool(self.agents) or any(self.limit(k) is not None for k in KINDS)

    def limit(self, kind: str) -> float | None:
        value: float | None = getattr(self, f"{kind}_usd")
        return value


def _positive(section: dict[str, Any], key: str, problems: list[str], where: str = "budget") -> float | None:
    v = section.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
        problems.append(f"[{where}] {key} must be a positive number; ignored")
        return None
    return float(v)


def budget_from_raw(cfg: dict[str, Any]) -> BudgetSettings:
    """The budget settings from the validated config (`cchooks.config.load_config_hot`)."""
    s = BudgetSettings()
    sec = cfg.get("budget") or {}
    for kind in KINDS:
        setattr(s, f"{kind}_usd", sec.get(f"{kind}_usd"))
    for key in ("block", "inform_model", "hard_limit_factor"):
        if sec.get(key) is not None:
            setattr(s, key, sec[key])
    agents = sec.get("agents") or {}
    s.agents = {str(k): float(v) for k, v in agents.items()} if isinstance(agents, dict) else {}
    s.timezone = (cfg.get("report") or {}).get("timezone") or None
    limits = cfg.get("limits") or {}
    s.weekly_reset_weekday = limits.get("weekly_reset_weekday", s.weekly_reset_weekday)
    s.weekly_reset_hour = limits.get("weekly_reset_hour", s.weekly_reset_hour)
    s.price_overrides = {
        k: {f: v for f, v in entry.items() if v is not None and v != []}
        for k, entry in (cfg.get("prices") or {}).items()
    }
    return s


class Measured:
    """The spend of one budget kind in its current period (kind `agent`: of one agent type)."""

    __slots__ = ("kind", "limit_usd", "spend", "period", "agent_type")

    def __init__(
        self, kind: str, limit_usd: float, spend: Totals, period: str, agent_type: str | None = None
    ) -> None:
        self.kind = kind
        self.limit_usd = limit_usd
        self.spend = spend
        self.period = period  # identifies the period, so a warning is given once per period
        self.agent_type = agent_type

    @property
    def cost_usd(self) -> float:
        return self.spend.cost_usd

    def describe(self) -> str:
        amount = f"${self.spend.cost_usd:,.2f}"
        if not self.spend.cost_known:
            amount += f" (plus {self.spend.unpriced_tokens:,} tokens of unpriced models)"
        if self.kind == "agent":
            return f"this session's {self.agent_type} agents' spend {amount}"
        return f"{LABELS[self.kind]} {amount}"

    @property
    def setting(self) -> str:
        """The config key that set this limit."""
        return f'[budget.agents] "{self.agent_type}"' if self.kind == "agent" else f"[budget] {self.kind}_usd"

    @property
    def meta_kind(self) -> str:
        return f"agent:{self.agent_type}" if self.kind == "agent" else self.kind


def measure(
    ledger: Ledger,
    prices: PriceTable | None,
    settings: BudgetSettings,
    session_id: str | None,
    now: int,
    agent_types: list[str] | None = None,
) -> list[Measured]:
    """Totals per configured budget kind, in the period running at `now`; per-agent budgets for
    `agent_types` (default: every configured one) in this session."""
    out: list[Measured] = []
    if session_id:
        for agent_type in settings.agents if agent_types is None else agent_types:
            limit = settings.agents.get(agent_type)
            if limit is None:
                continue
            spent = session_agent_spend(ledger, prices, session_id, agent_type)
            out.append(Measured("agent", limit, spent, "session", agent_type))
    for kind in KINDS:
        limit = settings.limit(kind)
        if limit is None:
            continue
        if kind == "session":
            if not session_id:
                continue
            out.append(Measured(kind, limit, session_spend(ledger, prices, session_id), "session"))
        elif kind == "daily":
            start = local_day_start_ms(now, settings.timezone)
            out.append(Measured(kind, limit, spend_between(ledger, prices, start), f"day:{start}"))
        elif kind == "five_hour":
            official = current_official(ledger, "five_hour", now)
            if official is not None and official.resets_at_ms is not None:
                start = official.resets_at_ms - FIVE_HOURS_MS
                period = f"official:{official.resets_at_ms}"
            else:
                block = current_block(ledger, now)
                if block is None:
                    continue
                start, period = block.start_ms, f"block:{block.start_ms}"
            out.append(Measured(kind, limit, spend_between(ledger, prices, start), period))
        else:
            official = current_official(ledger, "seven_day", now)
            if official is not None and official.resets_at_ms is not None:
                start = official.resets_at_ms - WEEK_MS
                period = f"official:{official.resets_at_ms}"
            else:
                start = local_week_start_ms(
                    now, settings.weekly_reset_weekday, settings.weekly_reset_hour, settings.timezone
                )
                period = f"week:{start}"
            out.append(Measured(kind, limit, spend_between(ledger, prices, start), period))
    return out


def warning_text(m: Measured) -> str:
    what = f"{m.agent_type} agent" if m.kind == "agent" else m.kind.replace("_", "-")
    return (
        f"cchooks budget: {m.describe()} has reached your {what} budget of ${m.limit_usd:,.2f} ({m.setting})."
    )


def new_warnings(ledger: Ledger, measured: list[Measured], session_id: str | None) -> list[str]:
    """Warnings for thresholds reached and not yet warned about in this period and session.

    Remembered in the ledger's `meta` table in the same transaction that decides, so two
    hooks racing on one session still warn once.
    """
    crossed = [m for m in measured if m.cost_usd >= m.limit_usd]
    if not crossed:
        return []
    sid = session_id or "-"
    out: list[str] = []
    with ledger.write():
        for m in crossed:
            key = f"{META_PREFIX}{sid}:{m.meta_kind}"
            if ledger.meta_get(key) == m.period:
                continue
            ledger.meta_set(key, m.period)
            out.append(warning_text(m))
    return out


def deny_reason(measured: list[Measured], settings: BudgetSettings) -> str | None:
    """Why a tool call must be denied (a spend at or over its hard limit), or None."""
    over = [m for m in measured if m.cost_usd >= m.limit_usd * settings.hard_limit_factor]
    if not over:
        return None
    parts = [
        f"{m.describe()} is over the hard limit of ${m.limit_usd * settings.hard_limit_factor:,.2f}"
        f" ({m.setting}"
        + (f" x hard_limit_factor {settings.hard_limit_factor:g}" if settings.hard_limit_factor != 1 else "")
        + ")"
        for m in over
    ]
    return (
        "cchooks budget guard: "
        + "; ".join(parts)
        + ". Tool calls are denied while a spend is over its limit (a session limit for the rest of the"
        " session, the others until their period resets); raise the limit or set `block = false` in the"
        " [budget] section of the cchooks config to continue."
    )
