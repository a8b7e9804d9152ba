"""The numbers a statusline shows, each with where it came from.

Sources (see `cchooks.statusline` for how they are marked on screen):
- ``cc``: Claude Code's own figure, from this payload;
- ``ledger``: counted by cchooks from its ledger (transcripts x the price table), or an
  official Claude Code figure remembered in the ledger from an earlier refresh;
- ``estimate``: a cchooks heuristic (the 5-hour block rule, a plan preset's limit, an
  assumed context window size);
- ``confirmed``: counted by cchooks from its ledger, and OTLP agrees: Claude Code's telemetry
  reached the ledger within the last minute and confirmed every response of the session
  since its first event (`Figures.session_confirmed`, for the session's ledger figures).

Only the queries the configured segments need are run; each is indexed and small (see
`cchooks.ledger.live`). A failing query loses its segment, never the line.
"""

from __future__ import annotations

from cchooks.ledger.live import (
    FIVE_HOURS_MS,
    MINUTE_MS,
    current_block,
    current_official,
    last_main_response,
    local_day_start_ms,
    session_confirmed,
    session_spend,
    spend_between,
)
from cchooks.statusline.payload import StatusPayload
from cchooks.statusline.settings import StatuslineSettings
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cchooks.ledger.store import Ledger
    from cchooks.pricing import PriceTable

CC = "cc"
LEDGER = "ledger"
ESTIMATE = "estimate"
CONFIRMED = "confirmed"

DEFAULT_CONTEXT_WINDOW = 200_000
# Community estimates per 5-hour block (input + output tokens, USD); see cchooks.windows.limits,
# which is preferred when present. Used only for plan = pro/max5/max20 without official figures.
_FALLBACK_PRESETS: dict[str, tuple[int | None, float | None]] = {
    "pro": (44_000, 18.0),
    "max5": (88_000, 35.0),
    "max20": (220_000, 140.0),
}


class WindowFigure:
    """A rate-limit window: official percentage, or our estimate of it."""

    __slots__ = ("label", "source", "pct", "resets_ms", "spend")

    def __init__(
        self,
        label: str,
        source: str,
        pct: float | None = None,
        resets_ms: int | None = None,
        spend: Totals | None = None,
    ) -> None:
        self.label = label  # "5h", "7d"
        self.source = source
        self.pct = pct  # None: no limit known, show `spend` instead
        self.resets_ms = resets_ms
        self.spend = spend


class Figures:
    """Everything a statusline line can show, each figure with its source."""

    __slots__ = (
        "now_ms", "model", "model_source", "session_cost", "session_cost_source", "session", "today", "burn",
        "burn_minutes", "five_hour", "seven_day", "context_pct", "context_source", "lines_added",
        "lines_removed", "duration_ms", "cwd", "session_confirmed", "ledger_problem", "team",
    )  # fmt: skip

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.model: str | None = None
        self.model_source = CC
        self.session_cost: float | None = None
        self.session_cost_source = CC
        self.session: Totals | None = None  # the ledger's view of this session
        self.session_confirmed = False  # fresh OTLP agrees with `session` (live.session_confirmed)
        self.today: Totals | None = None
        self.burn: Totals | None = None
        self.burn_minutes = 0.0
        self.five_hour: WindowFigure | None = None
        self.seven_day: WindowFigure | None = None
        self.context_pct: float | None = None
        self.context_source = CC
        self.lines_added: int | None = None
        self.lines_removed: int | None = None
        self.duration_ms: int | None = None
        self.cwd: str | None = None
        self.ledger_problem: str | None = None  # the ledger cannot be opened or read: say so
        self.team: dict[str, Any] | None = None  # the team ledger's snapshot (cchooks.team.snapshot)


def _preset(plan: str) -> tuple[int | None, float | None]:
    try:
        from cchooks.windows.limits import PLAN_PRESETS

        p = PLAN_PRESETS.get(plan)
        return (p.five_hour_tokens, p.five_hour_usd) if p is not None else (None, None)
    except Exception:  # the windows package is optional for the statusline
        return _FALLBACK_PRESETS.get(plan, (None, None))


class _Prices:
    """The price table, loaded on first use only (most refreshes need it, previews may not)."""

    def __init__(self, overrides: dict[str, dict[str, Any]]) -> None:
        self.overrides = overrides
        self.table: PriceTable | None = None
        self.loaded = False

    def get(self) -> PriceTable | None:
        if not self.loaded:
            self.loaded = True
            from cchooks.pricing import load_price_table

            self.table = load_price_table(self.overrides)
        return self.table


def gather(
    payload: StatusPayload,
    ledger: Ledger | None,
    settings: StatuslineSettings,
    now: int,
    segments: set[str],
    on_error: object = None,
) -> Figures:
    f = Figures(now_ms=now)
    p = payload
    f.model = p.model_name or p.model_id
    f.lines_added, f.lines_removed = p.lines_added, p.lines_removed
    f.duration_ms = p.duration_ms
    f.cwd = p.project_dir or p.cwd
    if p.context_used_pct is not None:
        f.context_pct = p.context_used_pct
    elif p.context_tokens is not None and p.context_window_size:
        f.context_pct = min(100.0, 100.0 * p.context_tokens / p.context_window_size)
    for name, attr, label in (("five_hour", "five_hour", "5h"), ("seven_day", "seven_day", "7d")):
        lim = p.rate_limits.get(name)
        # A window whose reset time has passed says nothing about the one running now.
        if lim is not None and (lim.resets_at_ms is None or lim.resets_at_ms > now):
            setattr(f, attr, WindowFigure(label, CC, lim.used_percentage, lim.resets_at_ms))
    f.session_cost = p.cost_usd
    if ledger is None:
        return f
    prices = _Prices(settings.price_overrides)

    def attempt(what: str, fn: object) -> None:
        try:
            fn()  # type: ignore[operator]
        except Exception as exc:
            if _is_corruption(exc):
                f.ledger_problem = "ledger unreadable"
            if callable(on_error):
                on_error(what, exc)

    sid = p.session_id
    need_session = bool(segments & {"tokens", "cost", "session_cost"}) and sid is not None
    if need_session:

        def _session() -> None:
            f.session = session_spend(ledger, prices.get(), sid or "")

        attempt("session spend", _session)
        if f.session is not None and f.session.responses:

            def _confirmed() -> None:
                f.session_confirmed = session_confirmed(ledger, sid or "", now)

            attempt("OTLP confirmation", _confirmed)
    # Claude Code's cost is the truth when it has one; a 0 with responses in the ledger means
    # it could not price them, and the ledger's count (with `?` for unpriced tokens) says more.
    if f.session is not None and f.session.responses and (f.session_cost is None or f.session_cost == 0):
        f.session_cost = None
        f.session_cost_source = LEDGER
    if segments & {"cost", "today_cost"}:

        def _today() -> None:
            f.today = spend_between(ledger, prices.get(), local_day_start_ms(now, settings.timezone))

        attempt("today's spend", _today)
    if "burn" in segments:

        def _burn() -> None:
            s = spend_between(ledger, prices.get(), now - settings.burn_minutes * MINUTE_MS)
            f.burn = s
            if s.first_ms is not None:
                f.burn_minutes = max(1.0, min(settings.burn_minutes, (now - s.first_ms) / MINUTE_MS))

        attempt("burn rate", _burn)
    if "five_hour" in segments and f.five_hour is None:
        attempt("5-hour window", lambda: _five_hour(f, ledger, prices, settings, now))
    if "seven_day" in segments and f.seven_day is None:

        def _seven() -> None:
            s = current_official(ledger, "seven_day", now)
            if s is not None:
                f.seven_day = WindowFigure("7d", LEDGER, s.used_percentage, s.resets_at_ms)

        attempt("7-day window", _seven)
    if "team" in segments:

        def _team() -> None:
            from cchooks.team.snapshot import read_snapshot  # a small file: no network, no PostgreSQL

            f.team = read_snapshot(ledger.path_str)

        attempt("team snapshot", _team)
    if "context" in segments and f.context_pct is None and sid is not None:
        attempt("context", lambda: _context(f, ledger, p, sid))
    if "model" in segments and f.model is None and sid is not None:

        def _model() -> None:
            last = last_main_response(ledger, sid or "")
            if last is not None:
                f.model, f.model_source = last[0], LEDGER

        attempt("model", _model)
    return f


def _is_corruption(exc: BaseException) -> bool:
    """A read that hit a broken ledger file (not a busy one)."""
    from cchooks.ledger.driver import sqlite3

    return isinstance(exc, sqlite3.DatabaseError) and "locked" not in str(exc).lower()


def _five_hour(f: Figures, ledger: Ledger, prices: _Prices, settings: StatuslineSettings, now: int) -> None:
    s = current_official(ledger, "five_hour", now)
    if s is not None:
        f.five_hour = WindowFigure("5h", LEDGER, s.used_percentage, s.resets_at_ms)
        return
    block = current_block(ledger, now)
    if block is None:
        return
    spent = spend_between(ledger, prices.get(), block.start_ms)
    fig = WindowFigure("5h", ESTIMATE, None, block.start_ms + FIVE_HOURS_MS, spent)
    tokens_limit, usd_limit = settings.five_hour_tokens, settings.five_hour_usd
    if tokens_limit is None and usd_limit is None and settings.plan in ("pro", "max5", "max20"):
        tokens_limit, usd_limit = _preset(settings.plan)
    if usd_limit and spent.cost_known:
        fig.pct = 100.0 * spent.cost_usd / usd_limit
    elif tokens_limit:
        fig.pct = 100.0 * spent.io_tokens / tokens_limit
    f.five_hour = fig


def _context(f: Figures, ledger: Ledger, p: StatusPayload, sid: str) -> None:
    last = last_main_response(ledger, sid)
    if last is None:
        return
    model, tokens, _ts = last
    size = p.context_window_size
    if size:
        f.context_source = LEDGER
    else:
        size = 1_000_000 if model.endswith("[1m]") else DEFAULT_CONTEXT_WINDOW
        f.context_source = ESTIMATE
    f.context_pct = min(100.0, 100.0 * tokens / size)  # a bar, never "2.3 quadrillion %"
