"""`usage-tracking.json` of a NAS-synced statusline tracker (shared by several machines).

v2 (`"version": "2.0"`): `session_management.current_session {session_start, next_reset}` (Unix
seconds), `token_usage.current_window {total_tokens, input_tokens, output_tokens, total_requests,
first_request, last_request}`, `token_usage.session_history` (past windows, same fields plus
`session_start`/`next_reset`), `token_usage.daily_stats {date: {total_tokens, input_tokens,
output_tokens, total_requests} | n}`, `server_tracking.servers.<name>.session_tokens {total, input,
output}` and `.lifetime_stats {total_tokens, total_requests, first_seen, last_seen}`,
`plan_configuration {current_plan, limits.<plan> {total_tokens, window_hours}}`.

v1 (no version): `{session_start, next_reset, tokens_used, requests, plan, last_server}`, read the
way the tracker's own upgrade migrates it to v2: the window's total is `tokens_used`, the server
`last_server` (default MAIN) holds the same as its session and lifetime figures, and the plan
limits are v2's defaults (pro 100,000 / max 500,000 tokens per 5-hour window).

The current window and past windows are the file's usage; per-server figures are details (the
same usage again, by machine).
"""

from __future__ import annotations

from cchooks.parsers.usage_files.common import (
    FormatError,
    FoundLimits,
    ImportedEntry,
    ParsedFile,
    array,
    count,
    day_period,
    obj,
    rest,
    text,
    timestamp_ms,
    tokens,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import tzinfo
    from typing import Any

V1_DEFAULT_LIMITS = {"pro": 100_000, "max": 500_000}  # what the v2 upgrade writes
FIVE_HOURS_MS = 5 * 3_600_000


def migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A v1 file as the tracker's upgrade to v2 would rewrite it (only the fields read here)."""
    tokens_used = data.get("tokens_used", 0)
    requests = data.get("requests", 0)
    server = data.get("last_server") or "MAIN"
    if not isinstance(server, str):
        raise FormatError(f"last_server: expected a name, got {server!r}")
    current: dict[str, Any] = {}
    if data.get("session_start") is not None:
        current["session_start"] = data["session_start"]
    if data.get("next_reset") is not None:
        current["next_reset"] = data["next_reset"]
    return {
        "version": "2.0",
        "session_management": {"current_session": current},
        "plan_configuration": {
            "current_plan": data.get("plan") or "pro",
            "limits": {k: {"total_tokens": v, "window_hours": 5} for k, v in V1_DEFAULT_LIMITS.items()},
        },
        "token_usage": {"current_window": {"total_tokens": tokens_used, "total_requests": requests}},
        "server_tracking": {
            "last_active_server": server,
            "servers": {
                server: {
                    "session_requests": requests,
                    "session_tokens": {"total": tokens_used},
                    "lifetime_stats": {"total_requests": requests, "total_tokens": tokens_used},
                }
            },
        },
    }


def _version(data: dict[str, Any]) -> str:
    v = data.get("version")
    if v is None:
        if "tokens_used" in data or "token_usage" not in data:
            return "1"
        return "2"
    if isinstance(v, bool):
        raise FormatError(f"usage-tracking version {v!r} is not one cchooks reads (1.0, 2.0)")
    s = str(v)
    if s in ("1", "1.0"):
        return "1"
    if s in ("2", "2.0"):
        return "2"
    raise FormatError(f"usage-tracking version {v!r} is not one cchooks reads (1.0, 2.0)")


def _window(w: dict[str, Any], where: str, key: str, label: str, start: int | None, end: int | None,
            detail: bool = False) -> ImportedEntry:  # fmt: skip
    total = count(w.get("total_tokens", w.get("total")), f"{where}.total_tokens")
    inp = count(w.get("input_tokens", w.get("input")), f"{where}.input_tokens")
    out = count(w.get("output_tokens", w.get("output")), f"{where}.output_tokens")
    req = count(w.get("total_requests", w.get("requests")), f"{where}.total_requests")
    return ImportedEntry(
        key, "window", label, tokens(req, inp, out), start_ms=start, end_ms=end,
        unsplit_tokens=rest(total, inp + out, where), stated_total=total, detail=detail,
    )  # fmt: skip


def parse(data: dict[str, Any], tz: tzinfo) -> ParsedFile:
    version = _version(data)
    if version == "1":
        if "tokens_used" not in data:
            raise FormatError("neither token_usage (v2) nor tokens_used (v1): not a usage-tracking file")
        data = migrate_v1(data)
    entries: list[ImportedEntry] = []
    session = obj(obj(data.get("session_management"), "session_management").get("current_session"),
                  "session_management.current_session")  # fmt: skip
    start = timestamp_ms(session.get("session_start"), "current_session.session_start", tz)
    end = timestamp_ms(session.get("next_reset"), "current_session.next_reset", tz)
    if start is not None and end is None:
        end = start + FIVE_HOURS_MS
    usage = obj(data.get("token_usage"), "token_usage")
    current = obj(usage.get("current_window"), "token_usage.current_window")
    if current:
        first = timestamp_ms(current.get("first_request"), "current_window.first_request", tz)
        if start is None and first is not None:
            start, end = first, first + FIVE_HOURS_MS
        label = str(start) if start is not None else "current"
        e = _window(current, "token_usage.current_window", f"window:{label}", "current window", start, end)
        e.usage.last_ms = timestamp_ms(current.get("last_request"), "current_window.last_request", tz)
        entries.append(e)
    for i, past in enumerate(array(usage.get("session_history"), "token_usage.session_history")):
        where = f"token_usage.session_history[{i}]"
        past = obj(past, where, required=True)
        s = timestamp_ms(past.get("session_start"), f"{where}.session_start", tz)
        e_ms = timestamp_ms(past.get("next_reset", past.get("session_end")), f"{where}.next_reset", tz)
        if s is not None and e_ms is None:
            e_ms = s + FIVE_HOURS_MS
        if s is not None and any(x.key == f"window:{s}" for x in entries):
            continue  # the current window, archived already
        entries.append(
            _window(past, where, f"window:{s if s is not None else f'history-{i}'}", "past window", s, e_ms)
        )
    daily = obj(usage.get("daily_stats"), "token_usage.daily_stats")
    for date, day in daily.items():
        where = f"token_usage.daily_stats.{date}"
        d_start, d_end = day_period(date, where, tz)
        if not isinstance(day, dict):
            day = {"total_tokens": day}
        entries.append(_window(day, where, f"day:{date}", date, d_start, d_end, detail=True))
        entries[-1].scope = "day"
    servers = obj(
        obj(data.get("server_tracking"), "server_tracking").get("servers"), "server_tracking.servers"
    )
    for name, srv in servers.items():
        where = f"server_tracking.servers.{name}"
        srv = obj(srv, where, required=True)
        st = obj(srv.get("session_tokens"), f"{where}.session_tokens")
        if st:
            st = dict(st)
            st.setdefault("requests", srv.get("session_requests"))
            e = _window(
                st, f"{where}.session_tokens", f"server:{name}:window:{start}", name, start, end, True
            )
            entries.append(e)
        life = obj(srv.get("lifetime_stats"), f"{where}.lifetime_stats")
        if life:
            first = timestamp_ms(life.get("first_seen"), f"{where}.lifetime_stats.first_seen", tz)
            last = timestamp_ms(life.get("last_seen"), f"{where}.lifetime_stats.last_seen", tz)
            e = _window(life, f"{where}.lifetime_stats", f"server:{name}:lifetime", name, first,
                        last + 1 if last is not None else None, True)  # fmt: skip
            e.scope = "lifetime"
            entries.append(e)
    if not entries:
        raise FormatError("no token figures (token_usage and server_tracking are empty)")
    return ParsedFile(entries, _limits(data), version=version + ".0")


def _limits(data: dict[str, Any]) -> FoundLimits | None:
    plan_cfg = obj(data.get("plan_configuration"), "plan_configuration")
    plan = text(plan_cfg.get("current_plan"), "plan_configuration.current_plan")
    if not plan:
        return None
    limit = obj(obj(plan_cfg.get("limits"), "plan_configuration.limits").get(plan),
                f"plan_configuration.limits.{plan}")  # fmt: skip
    if not limit:
        return FoundLimits(plan=plan, notes=[f"plan {plan!r} has no limits in the file"])
    n = count(limit.get("total_tokens"), f"plan_configuration.limits.{plan}.total_tokens", default=None)
    hours = limit.get("window_hours", 5)
    if hours != 5:
        return FoundLimits(
            plan=plan, notes=[f"plan {plan!r}: a {hours!r}-hour window is not one cchooks has"]
        )
    # The tracker counts input + output tokens.
    return FoundLimits(five_hour_tokens=n or None, token_measure="input_output", plan=plan)
