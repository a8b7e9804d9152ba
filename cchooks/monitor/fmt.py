"""Small formatters shared by the limits, blocks and monitor views (plain strings, 80-column friendly)."""

from __future__ import annotations

from datetime import datetime, tzinfo

SOURCE_SHORT = {"official": "official", "learned": "learned", "estimated": "est.", "configured": "config"}


def tokens(n: float | None) -> str:
    """1234 -> 1,234; 12345 -> 12.3K; 1234567 -> 1.2M."""
    if n is None:
        return "—"
    v = float(n)
    if abs(v) < 10_000:
        return f"{v:,.0f}"
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= div:
            return f"{v / div:.1f}{unit}" if abs(v) < div * 1000 else f"{v / div:,.0f}{unit}"
    return f"{v:,.0f}"  # pragma: no cover


def money(x: float | None, unpriced: int = 0) -> str:
    if x is None:
        return "?" if unpriced else "—"
    if unpriced and not x:
        return "?"
    text = f"${x:,.2f}"
    return text + "+?" if unpriced else text


def duration(ms: float | None) -> str:
    """45s, 12m, 2h05m, 3d04h."""
    if ms is None:
        return "—"
    s = max(0, int(ms // 1000))
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


def clock(ms: int | None, tz: tzinfo, now_ms: int | None = None) -> str:
    """A local time: HH:MM when on the same local day as now, else MM-DD HH:MM."""
    if ms is None:
        return "—"
    dt = datetime.fromtimestamp(ms / 1000, tz)
    if now_ms is not None:
        today = datetime.fromtimestamp(now_ms / 1000, tz).date()
        if dt.date() == today:
            return dt.strftime("%H:%M")
    return dt.strftime("%m-%d %H:%M")


def stamp(ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M")


def source(s: str | None) -> str:
    return SOURCE_SHORT.get(s or "", s or "")


def percent(p: float | None) -> str:
    return "—" if p is None else f"{p:.1f}%"


def tz_name(tz: tzinfo) -> str:
    key = getattr(tz, "key", None)
    return str(key) if key else str(tz)


def iso(ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="seconds")
