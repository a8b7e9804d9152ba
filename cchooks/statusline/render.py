"""Segments and rendering: Figures + settings -> the lines printed for Claude Code.

Pure: no I/O, no clock (the time comes in `Figures.now_ms`). Every segment returns its
text or None (nothing to show: the segment is left out, with its separator).
"""

from __future__ import annotations

from cchooks.statusline.figures import CC, CONFIRMED, ESTIMATE, LEDGER, Figures, WindowFigure
from cchooks.statusline.settings import StatuslineSettings
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

RESET = "\x1b[0m"
GREEN = "\x1b[32m"
YELLOW = "\x1b[33m"
RED = "\x1b[31m"
DIM = "\x1b[2m"
CYAN = "\x1b[36m"

ICONS = {
    "model": "🤖",
    "cost": "💰",
    "session_cost": "💰",
    "today_cost": "📆",
    "tokens": "🔢",
    "burn": "🔥",
    "five_hour": "⏳",
    "seven_day": "📅",
    "context": "🧠",
    "lines": "✏️",
    "duration": "⏱",
    "cwd": "📁",
    "team": "👥",
}


class Painter:
    """Colours and source markers, switched by the settings."""

    def __init__(self, settings: StatuslineSettings) -> None:
        self.s = settings

    def paint(self, text: str, color: str | None) -> str:
        if not self.s.colors or not color:
            return text
        return f"{color}{text}{RESET}"

    def mark(self, number: str, source: str) -> str:
        """A number with its source marker: estimate `~62%`, ledger `62%*`, ledger confirmed by
        OTLP `54,231✓` (the ledger marker when `confirmed_marker` is empty), Claude Code `62%`."""
        if source == ESTIMATE and self.s.estimate_marker:
            return self.paint(self.s.estimate_marker, DIM) + number
        if source == CONFIRMED:
            if self.s.confirmed_marker:
                return number + self.paint(self.s.confirmed_marker, DIM)
            source = LEDGER
        if source == LEDGER and self.s.ledger_marker:
            return number + self.paint(self.s.ledger_marker, DIM)
        return number

    def traffic(self, pct: float | None) -> str | None:
        if pct is None:
            return None
        yellow, red = self.s.thresholds
        return RED if pct >= red else YELLOW if pct >= yellow else GREEN


# -- number formats ----------------------------------------------------------------------------


def fmt_usd(value: float) -> str:
    if value >= 1000:
        return f"${value:,.0f}"
    return f"${value:,.2f}"


def fmt_spend_usd(s: Totals) -> str:
    """Dollars of a ledger spend; `$?` when nothing is priced, `$1.20+?` when some is not."""
    if s.responses and not s.priced:
        return "$?"
    if not s.cost_known:
        return fmt_usd(s.cost_usd) + "+?"
    return fmt_usd(s.cost_usd)


def fmt_tokens(n: float) -> str:
    if n >= 10_000_000:
        return f"{n / 1_000_000:,.1f}M"
    return f"{n:,.0f}"


def fmt_pct(p: float) -> str:
    return f"{p:.0f}%" if p >= 1 or p == 0 else f"{p:.1f}%"


def fmt_duration(ms: int) -> str:
    minutes = max(0, ms) // 60_000
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{mins:02d}m"
    return f"{mins}m"


# -- segments ----------------------------------------------------------------------------------


def seg_model(f: Figures, p: Painter) -> str | None:
    if not f.model:
        return None
    return p.paint(p.mark(f.model, f.model_source), CYAN)


def _session_source(f: Figures) -> str:
    """The session's ledger figures: an estimate when a response's output is only known from
    streaming-partial lines, else confirmed by fresh OTLP, or the ledger's alone."""
    if f.session is not None and f.session.estimated_responses:
        return ESTIMATE
    return CONFIRMED if f.session_confirmed else LEDGER


def _session_cost_text(f: Figures, p: Painter) -> str | None:
    if f.session_cost is not None and f.session_cost_source == CC:
        color = None
        budget = p.s.session_budget_usd
        if budget:
            color = p.traffic(100.0 * f.session_cost / budget)
        return p.paint(fmt_usd(f.session_cost), color)
    s = f.session
    if s is None or not s.responses:
        return None
    text = p.mark(fmt_spend_usd(s), _session_source(f))
    if not s.priced:
        # Never a silent $0.00: say how many tokens have no price.
        text += f" ({fmt_tokens(s.total_tokens)} tok)"
    elif p.s.session_budget_usd:
        return p.paint(text, p.traffic(100.0 * s.cost_usd / p.s.session_budget_usd))
    return text


def _today_text(f: Figures, p: Painter) -> str | None:
    s = f.today
    if s is None:
        return None
    text = p.mark(fmt_spend_usd(s), ESTIMATE if s.estimated_responses else LEDGER)
    if s.responses and not s.priced:
        text += f" ({fmt_tokens(s.total_tokens)} tok)"
    elif p.s.daily_budget_usd:
        return p.paint(text, p.traffic(100.0 * s.cost_usd / p.s.daily_budget_usd))
    return text


def seg_cost(f: Figures, p: Painter) -> str | None:
    parts = []
    session = _session_cost_text(f, p)
    if session is not None:
        parts.append(f"{session} session")
    today = _today_text(f, p)
    if today is not None:
        parts.append(f"{today} today")
    return " / ".join(parts) or None


def seg_session_cost(f: Figures, p: Painter) -> str | None:
    text = _session_cost_text(f, p)
    return None if text is None else f"{text} session"


def seg_today_cost(f: Figures, p: Painter) -> str | None:
    text = _today_text(f, p)
    return None if text is None else f"{text} today"


def seg_tokens(f: Figures, p: Painter) -> str | None:
    s = f.session
    if s is None or not s.responses:
        return None
    return f"{p.mark(fmt_tokens(s.total_tokens), _session_source(f))} tok"


def seg_burn(f: Figures, p: Painter) -> str | None:
    s = f.burn
    if s is None or not s.responses or f.burn_minutes <= 0:
        return None
    rate = s.total_tokens / f.burn_minutes
    text = f"{p.mark(fmt_tokens(rate), LEDGER)} tok/min"
    if s.priced and s.cost_known:
        text += f" {fmt_usd(s.cost_usd * 60.0 / f.burn_minutes)}/h"
    return text


def _window(w: WindowFigure | None, f: Figures, p: Painter) -> str | None:
    if w is None:
        return None
    if w.pct is not None:
        body = p.paint(p.mark(fmt_pct(w.pct), w.source), p.traffic(w.pct))
    elif w.spend is not None:
        body = p.mark(fmt_spend_usd(w.spend), w.source)
    else:
        return None
    text = f"{w.label} {body}"
    if w.resets_ms is not None and w.resets_ms > f.now_ms:
        text += f" {fmt_duration(w.resets_ms - f.now_ms)} left"
    return text


def seg_five_hour(f: Figures, p: Painter) -> str | None:
    return _window(f.five_hour, f, p)


def seg_seven_day(f: Figures, p: Painter) -> str | None:
    return _window(f.seven_day, f, p)


def seg_context(f: Figures, p: Painter) -> str | None:
    if f.context_pct is None:
        return None
    return "ctx " + p.paint(p.mark(fmt_pct(f.context_pct), f.context_source), p.traffic(f.context_pct))


def seg_lines(f: Figures, p: Painter) -> str | None:
    if f.lines_added is None and f.lines_removed is None:
        return None
    added = p.paint(f"+{f.lines_added or 0}", GREEN)
    removed = p.paint(f"-{f.lines_removed or 0}", RED)
    return f"{added} {removed}"


def seg_duration(f: Figures, p: Painter) -> str | None:
    return None if f.duration_ms is None else fmt_duration(f.duration_ms)


def seg_cwd(f: Figures, p: Painter) -> str | None:
    if not f.cwd:
        return None
    return f.cwd.rstrip("/").rsplit("/", 1)[-1] or f.cwd


TEAM_STALE_MS = 900_000  # a snapshot older than this says how old it is


def seg_team(f: Figures, p: Painter) -> str | None:
    """The pool of every machine in the team ledger: today's spend, the last 5 hours, active hosts."""
    snap = f.team
    if not snap:
        return None
    parts = []
    for key, label in (("today", "today"), ("five_hour", "5h")):
        t = snap.get(key)
        if isinstance(t, dict) and t.get("responses"):
            cost = t.get("cost_usd")
            text = fmt_usd(float(cost)) if cost is not None else "$?"
            if cost is not None and t.get("unpriced_tokens"):
                text += "+?"
            parts.append(f"{p.mark(text, LEDGER)} {label}")
    hosts = f"{snap.get('active_machines', 0)}/{snap.get('machines', 0)} hosts"
    text = "team " + (" / ".join(parts) + " · " if parts else "") + hosts
    age = f.now_ms - int(snap.get("updated_ms") or 0)
    if age > TEAM_STALE_MS:
        text += p.paint(f" ({fmt_duration(age)} ago)", DIM)
    return text


SEGMENT_FUNCS: dict[str, Callable[[Figures, Painter], str | None]] = {
    "model": seg_model,
    "cost": seg_cost,
    "session_cost": seg_session_cost,
    "today_cost": seg_today_cost,
    "tokens": seg_tokens,
    "burn": seg_burn,
    "five_hour": seg_five_hour,
    "seven_day": seg_seven_day,
    "context": seg_context,
    "lines": seg_lines,
    "duration": seg_duration,
    "cwd": seg_cwd,
    "team": seg_team,
}


def render_lines(f: Figures, settings: StatuslineSettings) -> list[str]:
    """One string per configured line; empty lines are dropped."""
    painter = Painter(settings)
    out: list[str] = []
    for names in settings.lines:
        parts: list[str] = []
        for name in names:
            fn = SEGMENT_FUNCS.get(name)
            if fn is None:
                continue
            try:
                text = fn(f, painter)
            except Exception:  # one bad segment must not cost the line
                text = None
            if text:
                if settings.icons and name in ICONS:
                    text = f"{ICONS[name]} {text}"
                parts.append(text)
        if parts:
            out.append(settings.separator.join(parts))
    if f.ledger_problem:
        # Never let a broken ledger pass for "no usage": say so, and where to look.
        warning = painter.paint(f"⚠ {f.ledger_problem}: run cchooks status", RED)
        out = [out[0] + settings.separator + warning, *out[1:]] if out else [warning]
    return out


def fallback_line(problem: str | None = None) -> str:
    """What is printed when there is nothing else to show."""
    if problem:
        return f"cchooks: {problem}: run cchooks status"
    return "cchooks: no usage data yet"
