"""Claude Code's own `~/.claude/stats-cache.json` (version 1):
`{version, lastComputedDate, firstSessionDate, dailyModelTokens: [{date, tokensByModel: {model: n}}],
modelUsage: {model: {inputTokens, outputTokens, cacheReadInputTokens, cacheCreationInputTokens,
webSearchRequests, costUSD}}, dailyActivity, totalSessions, totalMessages, ...}`.

Each day and model becomes a `day` entry whose tokens are unsplit (the file gives one number);
`modelUsage` becomes one `lifetime` entry per model with every kind, marked as a detail (the same
usage as the days, summed: not counted twice in the file's totals).
"""

from __future__ import annotations

from cchooks.parsers.usage_files.common import (
    FormatError,
    ImportedEntry,
    ParsedFile,
    array,
    count,
    day_period,
    money,
    obj,
    timestamp_ms,
    tokens,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import tzinfo
    from typing import Any

SUPPORTED_VERSIONS = (1,)


def parse(data: dict[str, Any], tz: tzinfo) -> ParsedFile:
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or version not in SUPPORTED_VERSIONS):
        raise FormatError(
            f"stats-cache version {version!r} is not one cchooks reads"
            f" (reads version {', '.join(map(str, SUPPORTED_VERSIONS))})"
        )
    if not any(k in data for k in ("dailyModelTokens", "modelUsage")):
        raise FormatError("no dailyModelTokens or modelUsage (is this Claude Code's stats-cache.json?)")
    entries: list[ImportedEntry] = []
    for i, day in enumerate(array(data.get("dailyModelTokens"), "dailyModelTokens")):
        where = f"dailyModelTokens[{i}]"
        day = obj(day, where, required=True)
        date = day.get("date")
        start, end = day_period(date, f"{where}.date", tz)
        for model, n in obj(day.get("tokensByModel"), f"{where}.tokensByModel").items():
            amount = count(n, f"{where}.tokensByModel.{model}")
            entries.append(ImportedEntry(
                f"day:{date}:{model}", "day", str(date), tokens(model=model), start_ms=start, end_ms=end,
                model=model, unsplit_tokens=amount, stated_total=amount,
            ))  # fmt: skip
    first = timestamp_ms(data.get("firstSessionDate"), "firstSessionDate", tz)
    last_day = data.get("lastComputedDate")
    end_ms = day_period(last_day, "lastComputedDate", tz)[1] if last_day is not None else None
    for model, u in obj(data.get("modelUsage"), "modelUsage").items():
        where = f"modelUsage.{model}"
        u = obj(u, where, required=True)
        t = tokens(
            0,
            count(u.get("inputTokens"), f"{where}.inputTokens"),
            count(u.get("outputTokens"), f"{where}.outputTokens"),
            count(u.get("cacheCreationInputTokens"), f"{where}.cacheCreationInputTokens"),
            0,
            count(u.get("cacheReadInputTokens"), f"{where}.cacheReadInputTokens"),
            count(u.get("webSearchRequests"), f"{where}.webSearchRequests"),
            model=model,
        )
        cost = money(u.get("costUSD", u.get("costUsd")), f"{where}.costUSD")
        entries.append(ImportedEntry(
            f"lifetime:{model}", "lifetime", model, t, start_ms=first, end_ms=end_ms, model=model,
            stated_cost_usd=cost, detail=bool(data.get("dailyModelTokens")),
        ))  # fmt: skip
    return ParsedFile(entries, version=str(version) if version is not None else None)
