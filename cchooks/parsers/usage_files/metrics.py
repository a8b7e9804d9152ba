"""Two small files in ~/.claude:

- `token-metrics.json`, written by a metrics proxy from Claude Code's OTLP `claude_code.token.usage`
  points: `{timestamp, totals: {input, output, cacheRead, cacheCreation, lastUpdate, model},
  totalUsed, model}`, cumulative since the proxy started (it deletes the file when it starts), so
  one `snapshot` entry whose period starts unknown and ends at `lastUpdate`;
- `metrics/usage.json`: `{sessions: [{sessionId, timestamp, agentType, tokenUsage: {total, input,
  output}}]}`, one entry per session and agent type, dated by its timestamp's local day.
"""

from __future__ import annotations

from cchooks.parsers.usage_files.common import (
    FormatError,
    ImportedEntry,
    ParsedFile,
    array,
    count,
    day_of,
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


def parse_token_metrics(data: dict[str, Any], tz: tzinfo) -> ParsedFile:
    totals = obj(data.get("totals"), "totals", required=True)
    inp = count(totals.get("input"), "totals.input")
    out = count(totals.get("output"), "totals.output")
    cr = count(totals.get("cacheRead"), "totals.cacheRead")
    cw = count(totals.get("cacheCreation"), "totals.cacheCreation")
    stated = (
        count(data.get("totalUsed"), "totalUsed", default=None) if data.get("totalUsed") is not None else None
    )
    model = text(totals.get("model"), "totals.model") or text(data.get("model"), "model")
    if model in ("unknown",):
        model = None
    last = timestamp_ms(totals.get("lastUpdate"), "totals.lastUpdate", tz) or timestamp_ms(
        data.get("timestamp"), "timestamp", tz
    )
    t = tokens(0, inp, out, cw, 0, cr, model=model)
    t.last_ms = last
    entry = ImportedEntry(
        "snapshot", "snapshot", "cumulative", t, end_ms=last + 1 if last is not None else None, model=model,
        unsplit_tokens=rest(stated, inp + out + cr + cw, "totalUsed"), stated_total=stated, path_scoped=True,
    )  # fmt: skip
    return ParsedFile([entry])


def parse_metrics_usage(data: dict[str, Any], tz: tzinfo) -> ParsedFile:
    if "sessions" not in data:
        raise FormatError("no sessions (is this ~/.claude/metrics/usage.json?)")
    entries: list[ImportedEntry] = []
    for i, s in enumerate(array(data.get("sessions"), "sessions", required=True)):
        where = f"sessions[{i}]"
        s = obj(s, where, required=True)
        sid = text(s.get("sessionId"), f"{where}.sessionId", required=True)
        ts = timestamp_ms(s.get("timestamp"), f"{where}.timestamp", tz)
        agent = text(s.get("agentType"), f"{where}.agentType")
        usage = obj(s.get("tokenUsage"), f"{where}.tokenUsage", required=True)
        inp = count(usage.get("input"), f"{where}.tokenUsage.input")
        out = count(usage.get("output"), f"{where}.tokenUsage.output")
        total = (
            count(usage.get("total"), f"{where}.tokenUsage.total", default=None) if "total" in usage else None
        )
        start, end = day_of(ts, tz) if ts is not None else (None, None)
        t = tokens(0, inp, out)
        t.first_ms = t.last_ms = ts
        entries.append(ImportedEntry(
            f"session:{sid}:{agent or ''}:{s.get('timestamp')}", "session", str(sid), t, start_ms=start,
            end_ms=end, session_id=sid, agent_type=agent, unsplit_tokens=rest(total, inp + out, where),
            stated_total=total,
        ))  # fmt: skip
    return ParsedFile(entries)
