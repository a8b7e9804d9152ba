"""One frame of `cchooks monitor` as a rich renderable, laid out for 80x24 and up.

Lines are built by hand (no tables) so that every row is exactly one terminal line: the layout never
wraps, and what does not fit is cut with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group
from rich.text import Text

from cchooks.monitor import fmt
from cchooks.monitor.data import ACTIVE_SESSION_MINUTES, MonitorFrame
from cchooks.monitor.text import KIND_LABEL, PACE_KEY, limit_at_pace

BAR_WIDTH = 24
MEASURE_UNIT = {"input_output": "in+out tok", "all": "tok", "no_cache_read": "tok w/o cache reads"}
WARN, ALERT = 60.0, 80.0  # percent thresholds for yellow and red


def _line(*parts: str | tuple[str, str]) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    for p in parts:
        if isinstance(p, tuple):
            t.append(p[0], style=p[1])
        else:
            t.append(p)
    return t


def _style(pct: float | None) -> str:
    if pct is None:
        return "dim"
    if pct >= ALERT:
        return "bold red"
    if pct >= WARN:
        return "yellow"
    return "green"


def bar(pct: float | None, width: int = BAR_WIDTH) -> tuple[str, str]:
    if pct is None:
        return "·" * width, "dim"
    filled = max(0, min(width, round(pct / 100.0 * width)))
    return "█" * filled + "░" * (width - filled), _style(pct)


def _remaining(e: Mapping[str, Any], now: int) -> int | None:
    reset = e.get("reset_at_ms")
    return None if reset is None else max(0, int(reset) - now)


def window_lines(e: Mapping[str, Any], frame: MonitorFrame, now: int, detail: bool) -> list[Text]:
    tz = frame.tz
    label = f"{KIND_LABEL[e['kind']]:<7}"
    pct = e.get("percent")
    src = fmt.source(e.get("percent_source")) if pct is not None else ""
    if e.get("active"):
        reset = f"resets in {fmt.duration(_remaining(e, now))} ({fmt.clock(e['reset_at_ms'], tz, now)})"
    else:
        reset = "no active window"
    if pct is not None:
        lines = [
            _line((label, "bold"), bar(pct), (f" {fmt.percent(pct):>7}", _style(pct)), f" {src:<9} ", reset)
        ]
    else:
        lines = [_line((label, "bold"), bar(pct), (f" {'no limit':<17} ", "dim"), reset)]

    used_t = fmt.tokens(e.get("used_tokens"))
    unit = MEASURE_UNIT.get(e.get("token_measure", ""), "tok")
    tok = f"{used_t} {unit}"
    if e.get("token_limit") is not None:
        tok = f"{used_t} / {fmt.tokens(e['token_limit'])} {unit} ({fmt.source(e.get('token_limit_source'))})"
    cost = fmt.money(e.get("used_cost_usd"), e.get("unpriced_tokens", 0))
    if e.get("cost_limit_usd") is not None:
        cost += f" / {fmt.money(e['cost_limit_usd'])} ({fmt.source(e.get('cost_limit_source'))})"
    lines.append(_line(" " * 7, tok, " · ", cost))
    if detail:
        burn = e.get("burn")
        measure = e.get("token_measure", "input_output")
        if burn:
            pace = f"pace {fmt.tokens(burn[PACE_KEY.get(measure, 'tokens_per_minute')])} tok/min"
            pace += f" {fmt.money(burn['cost_per_hour_usd'])}/h"
        else:
            pace = "pace —"
        proj = ""
        if e.get("projected_tokens") is not None:
            proj = f" · proj. {fmt.tokens(e['projected_tokens'])} {fmt.money(e['projected_cost_usd'])}"
        ttl = limit_at_pace(e, tz, now)
        limit = f" · limit {ttl}" if ttl != "—" else ""
        lines.append(_line(" " * 7, (pace, "cyan"), proj, (limit, "bold red" if ttl == "reached" else "")))
    return lines


def _ago(ms: int, now: int) -> str:
    return f"{fmt.duration(max(0, now - ms))} ago"


def render_frame(frame: MonitorFrame, width: int = 80, height: int = 24, now: int | None = None) -> Group:
    """The whole screen. `now` (default: the frame's time) moves the countdowns between data refreshes."""
    now = frame.now_ms if now is None else now
    s = frame.summary
    tz = frame.tz
    rule = _line(("─" * width, "dim"))
    title = "cchooks monitor"
    info = f" · plan {s.get('plan')} · {fmt.tz_name(tz)}"
    clock = fmt.clock(now, tz, now) + f":{(now // 1000) % 60:02d}"
    pad = " " * max(1, width - len(title) - len(info) - len(clock))
    lines: list[Text] = [_line((title, "bold"), info, pad, clock)]
    lines.append(rule)
    for kind in ("five_hour", "week", "month"):
        lines += window_lines(s[kind], frame, now, detail=kind == "five_hour")
    lines.append(rule)

    t = frame.today
    lines.append(
        _line(("Today  ", "bold"), (fmt.money(t.cost_or_none, t.unpriced_tokens), "bold"),
              f"  {fmt.tokens(t.total_tokens)} tok  {t.responses:,} responses")
    )  # fmt: skip
    budget = height - 19  # lines left for models and sessions beyond one each
    n_models = 1 + max(0, min(2, budget // 2))
    for m in frame.models[:n_models]:
        lines.append(
            _line(f"  {m.model[:36]:<36}", f"{fmt.money(m.cost_or_none, m.unpriced_tokens):>11}",
                  f"  {fmt.tokens(m.total_tokens):>7} tok")
        )  # fmt: skip
    if not frame.models:
        lines.append(_line(("  no usage yet today", "dim")))
    lines.append(rule)

    lines.append(_line((f"Active sessions (last {ACTIVE_SESSION_MINUTES} min)", "bold")))
    n_sessions = max(1, height - len(lines) - 3)
    shown = frame.sessions if len(frame.sessions) <= n_sessions else frame.sessions[: n_sessions - 1]
    for sess in shown:
        lines.append(
            _line(f"  {sess.session_id[:8]:<8}  {sess.project[:28]:<28}", f"{_ago(sess.last_ms or now, now):>9}",
                  f"{fmt.money(sess.cost_or_none, sess.unpriced_tokens):>10}", f"  {fmt.tokens(sess.total_tokens):>7} tok")
        )  # fmt: skip
    if len(shown) < len(frame.sessions):
        lines.append(_line((f"  … and {len(frame.sessions) - len(shown)} more", "dim")))
    if not frame.sessions:
        lines.append(_line(("  none", "dim")))
    lines.append(rule)

    watch = f"watch running (pid {frame.watch_pid})" if frame.watch_pid else "watch not running"
    foot = f"data {fmt.clock(frame.now_ms, tz, now)}:{(frame.now_ms // 1000) % 60:02d} · {watch}"
    if frame.errors:
        foot += f" · {len(frame.errors)} error(s)"
    lines.append(_line((foot, "dim"), ("  Ctrl-C quits", "dim")))
    return Group(*lines[: max(height - 1, 1)])
