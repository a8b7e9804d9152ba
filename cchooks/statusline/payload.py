"""Claude Code's statusLine stdin, parsed leniently into plain values.

The payload (see shared/docs/formats.md, "statusLine") is read with `json` into a dict and
picked apart here without pydantic: this runs on every statusline refresh. Every field is
optional; a wrong type reads as missing, never as an error.
"""

from __future__ import annotations

from cchooks.fastjson import loads as json_loads
from cchooks.records import token_count

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.records import RateLimitSnapshot

# Windows Claude Code reports under `rate_limits` (Pro/Max logins, since 2.1.80).
RATE_LIMIT_WINDOWS = ("five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet")


class OfficialLimit:
    """One `rate_limits.<window>` entry: Claude Code's own figure."""

    __slots__ = ("window", "used_percentage", "resets_at_ms")

    def __init__(self, window: str, used_percentage: float, resets_at_ms: int | None) -> None:
        self.window = window
        self.used_percentage = used_percentage
        self.resets_at_ms = resets_at_ms


class StatusPayload:
    """The fields cchooks uses; None where the payload had nothing usable."""

    __slots__ = (
        "session_id", "transcript_path", "cwd", "project_dir", "model_id", "model_name", "version", "cost_usd",
        "duration_ms", "lines_added", "lines_removed", "context_used_pct", "context_window_size",
        "context_tokens", "rate_limits", "valid",
    )  # fmt: skip

    def __init__(self, valid: bool = False) -> None:
        self.valid = valid  # stdin was a JSON object
        self.session_id: str | None = None
        self.transcript_path: str | None = None
        self.cwd: str | None = None
        self.project_dir: str | None = None
        self.model_id: str | None = None
        self.model_name: str | None = None
        self.version: str | None = None
        self.cost_usd: float | None = None  # cost.total_cost_usd: cumulative, includes /compact calls
        self.duration_ms: int | None = None
        self.lines_added: int | None = None
        self.lines_removed: int | None = None
        self.context_used_pct: float | None = None
        self.context_window_size: int | None = None
        self.context_tokens: int | None = None  # last main-thread response's input side (current_usage)
        self.rate_limits: dict[str, OfficialLimit] = {}

    def snapshots(self, observed_ms: int) -> list[RateLimitSnapshot]:
        from cchooks.records import RateLimitSnapshot

        return [
            RateLimitSnapshot(observed_ms, lim.window, lim.used_percentage, lim.resets_at_ms, self.session_id)
            for lim in self.rate_limits.values()
        ]


def _str(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


def _num(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _int(v: object) -> int | None:
    f = _num(v)
    return int(f) if f is not None else None


def _count(v: object) -> int | None:
    """A token count as the ledger accepts one (cchooks.records.token_count), else None."""
    return token_count(v)


def _pct(v: object) -> float | None:
    """A percentage, held to [0, 100] so a corrupt payload cannot draw an absurd bar."""
    f = _num(v)
    return None if f is None else min(100.0, max(0.0, f))


def _dict(v: object) -> dict[str, object]:
    return v if isinstance(v, dict) else {}


def epoch_ms(v: object) -> int | None:
    """A reset time as Claude Code may send it: unix seconds (documented), ms, or ISO-8601."""
    f = _num(v)
    if f is not None:
        if f <= 0:
            return None
        return int(f if f > 1e12 else f * 1000)
    if isinstance(v, str) and v:
        from datetime import datetime

        try:
            return int(datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return None
    return None


def parse_payload(data: bytes | str) -> StatusPayload:
    """Parse statusline stdin; garbage gives an empty (invalid) payload, never an exception."""
    try:
        obj = json_loads(data)
    except (ValueError, TypeError, RecursionError):
        return StatusPayload()
    return payload_from_dict(obj) if isinstance(obj, dict) else StatusPayload()


def payload_from_dict(obj: dict[str, object]) -> StatusPayload:
    p = StatusPayload(valid=True)
    p.session_id = _str(obj.get("session_id"))
    p.transcript_path = _str(obj.get("transcript_path"))
    p.cwd = _str(obj.get("cwd"))
    ws = _dict(obj.get("workspace"))
    p.project_dir = _str(ws.get("project_dir")) or _str(ws.get("current_dir")) or p.cwd
    model = obj.get("model")
    if isinstance(model, dict):
        p.model_id = _str(model.get("id"))
        p.model_name = _str(model.get("display_name"))
    elif isinstance(model, str):
        p.model_id = model or None
    p.version = _str(obj.get("version"))
    cost = _dict(obj.get("cost"))
    p.cost_usd = _num(cost.get("total_cost_usd"))
    if p.cost_usd is not None and p.cost_usd < 0:
        p.cost_usd = None
    p.duration_ms = _int(cost.get("total_duration_ms"))
    p.lines_added = _int(cost.get("total_lines_added"))
    p.lines_removed = _int(cost.get("total_lines_removed"))
    ctx = _dict(obj.get("context_window"))
    p.context_used_pct = _pct(ctx.get("used_percentage"))
    p.context_window_size = _count(ctx.get("context_window_size")) or None
    cur = ctx.get("current_usage")
    if isinstance(cur, dict):
        parts = [
            _count(cur.get(k))
            for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        ]
        if any(x is not None for x in parts):
            p.context_tokens = sum(x or 0 for x in parts)
    limits = _dict(obj.get("rate_limits"))
    for name, entry in limits.items():
        if not isinstance(entry, dict):
            continue
        pct = _pct(entry.get("used_percentage"))
        if pct is None:
            continue
        p.rate_limits[name] = OfficialLimit(name, pct, epoch_ms(entry.get("resets_at")))
    return p
