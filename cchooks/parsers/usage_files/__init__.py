"""Usage files other tools keep -> `ImportedEntry`s (for `cchooks import`).

Pure: bytes (or decoded JSON) in, entries out; no files, no ledger, no clock. Every parser
either returns a `ParsedFile` or raises `FormatError` with one line saying what is wrong:
arbitrary JSON never crashes one (property-tested).

Formats (docs/import.md has the shapes):
- `token-metrics`  ~/.claude/token-metrics.json (a metrics proxy's cumulative OTLP token figures)
- `claude-flow`    .claude-flow/token-usage.json (`{total, input, output, byAgent}`)
- `metrics-usage`  ~/.claude/metrics/usage.json (`{sessions: [{sessionId, timestamp, agentType, tokenUsage}]}`)
- `usage-tracking` usage-tracking.json v1 and v2 of a NAS-synced statusline (v1 read as v2 migrates it)
- `dashboard`      a local dashboard's usage.json (manual sessions and token limits)
- `ccusage`        ccusage `daily|weekly|monthly|session --json` exports
- `stats-cache`    Claude Code's own ~/.claude/stats-cache.json
"""

from __future__ import annotations

from cchooks.parsers.usage_files.common import (
    MAX_COUNT,
    FormatError,
    FoundLimits,
    ImportedEntry,
    ParsedFile,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import tzinfo
    from typing import Any

__all__ = [
    "FORMATS",
    "MAX_COUNT",
    "FormatError",
    "FoundLimits",
    "ImportedEntry",
    "ParsedFile",
    "decode",
    "detect",
    "parse",
]

# Name -> one-line description (the order `detect` tries them in is DETECT_ORDER).
FORMATS: dict[str, str] = {
    "token-metrics": "~/.claude/token-metrics.json: a metrics proxy's cumulative OTLP token figures",
    "claude-flow": ".claude-flow/token-usage.json: {total, input, output, byAgent}",
    "metrics-usage": "~/.claude/metrics/usage.json: {sessions: [{sessionId, timestamp, agentType, tokenUsage}]}",
    "usage-tracking": "usage-tracking.json v1/v2 of a NAS-synced statusline tracker",
    "dashboard": "a local dashboard's usage.json: manual sessions {input, output, note} and limits",
    "ccusage": "ccusage daily/weekly/monthly/session --json exports",
    "stats-cache": "Claude Code's ~/.claude/stats-cache.json",
}


def _parser(fmt: str) -> Callable[[Any, tzinfo], ParsedFile]:
    from cchooks.parsers.usage_files import ccusage, claude_flow, dashboard, metrics, stats_cache, tracker

    parsers: dict[str, Callable[[Any, tzinfo], ParsedFile]] = {
        "token-metrics": metrics.parse_token_metrics,
        "claude-flow": claude_flow.parse,
        "metrics-usage": metrics.parse_metrics_usage,
        "usage-tracking": tracker.parse,
        "dashboard": dashboard.parse,
        "ccusage": ccusage.parse,
        "stats-cache": stats_cache.parse,
    }
    return parsers[fmt]


def decode(data: bytes) -> Any:
    """The file's JSON; FormatError for empty, truncated or non-JSON bytes."""
    import json

    if not data.strip():
        raise FormatError("the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise FormatError("JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        truncated = " (truncated?)" if exc.pos >= len(text.rstrip()) else ""
        raise FormatError(
            f"not valid JSON at line {exc.lineno} column {exc.colno}{truncated}: {exc.msg}"
        ) from None


def detect(obj: Any) -> str | None:
    """The format a decoded file looks like, or None."""
    if not isinstance(obj, dict):
        return None
    keys = set(obj)

    def rows(key: str) -> list[Any]:
        v = obj.get(key)
        return v if isinstance(v, list) else []

    if keys & {"dailyModelTokens", "modelUsage", "dailyActivity"}:
        return "stats-cache"
    for k in ("daily", "weekly", "monthly", "session"):
        if isinstance(obj.get(k), list):
            return "ccusage"
    sessions = rows("sessions")
    if keys & {"monthlyLimit", "weeklyLimit", "sessionLimit"}:
        return "dashboard"
    if any(isinstance(s, dict) and "tokenUsage" in s for s in sessions):
        return "metrics-usage"
    if any(isinstance(s, dict) and "inputTokens" in s for s in sessions):
        return "ccusage"
    if any(isinstance(s, dict) and ("input" in s or "output" in s) for s in sessions):
        return "dashboard"
    if keys & {"token_usage", "server_tracking", "plan_configuration"} or "tokens_used" in keys:
        return "usage-tracking"
    if "byAgent" in keys:
        return "claude-flow"
    if isinstance(obj.get("totals"), dict) and keys & {"totalUsed", "timestamp", "model"}:
        return "token-metrics"
    if {"total", "input", "output"} <= keys:
        return "claude-flow"
    return None


def parse(fmt: str | None, obj: Any, tz: tzinfo) -> ParsedFile:
    """Entries of a decoded file in format `fmt` (detected when None); dates without a zone are
    read in `tz`. Raises FormatError with one line saying what is wrong."""
    if fmt is None:
        fmt = detect(obj)
        if fmt is None:
            raise FormatError("not a usage file cchooks knows (name the format: " + ", ".join(FORMATS) + ")")
    elif fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if not isinstance(obj, dict):
        raise FormatError(f"a {fmt} file is a JSON object, not {type(obj).__name__}")
    try:
        parsed = _parser(fmt)(obj, tz)
    except RecursionError:
        raise FormatError("JSON nested too deeply") from None
    parsed.format = fmt
    return parsed
