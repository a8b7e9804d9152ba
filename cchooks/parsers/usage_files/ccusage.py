"""ccusage `--json` exports: `{daily|weekly|monthly|session: [row], totals}` (ccusage 15-20) and the
older `{sessions: [...]}`. A row: `date` / `week` / `month` / `sessionId` (ccusage 20: `period`),
`inputTokens`, `outputTokens`, `cacheCreationTokens`, `cacheReadTokens`, `totalTokens`,
`totalCost`, `modelsUsed`, `modelBreakdowns: [{modelName, inputTokens, ..., cost}]`.

A row whose model breakdowns add up to it becomes one entry per model (so each is priced at its
own model's rates); otherwise one entry for the row. `totals` is ignored (it is the rows' sum).
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
    month_period,
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

GROUPS = {"daily": "day", "weekly": "week", "monthly": "month", "session": "session", "sessions": "session"}
LABEL_KEYS = {"day": ("date", "period"), "week": ("week", "period", "date"), "month": ("month", "period"),
              "session": ("sessionId", "period", "session")}  # fmt: skip


def _kinds(row: dict[str, Any], where: str) -> tuple[int, int, int, int]:
    return (
        count(row.get("inputTokens"), f"{where}.inputTokens"),
        count(row.get("outputTokens"), f"{where}.outputTokens"),
        count(row.get("cacheCreationTokens"), f"{where}.cacheCreationTokens"),
        count(row.get("cacheReadTokens"), f"{where}.cacheReadTokens"),
    )


def parse(data: dict[str, Any], tz: tzinfo) -> ParsedFile:
    found = [k for k in GROUPS if k in data]
    if not found:
        raise FormatError("no daily, weekly, monthly or session rows (is this a ccusage --json export?)")
    group = found[0]
    scope = GROUPS[group]
    entries: list[ImportedEntry] = []
    for i, row in enumerate(array(data[group], group, required=True)):
        where = f"{group}[{i}]"
        row = obj(row, where, required=True)
        label = next((row[k] for k in LABEL_KEYS[scope] if row.get(k) not in (None, "")), None)
        label = text(label, f"{where}.{LABEL_KEYS[scope][0]}", required=True)
        assert label is not None
        start = end = None
        session_id = None
        if scope == "day":
            start, end = day_period(label, where, tz)
        elif scope == "week":
            start, end = day_period(label, where, tz, days=7)
        elif scope == "month":
            start, end = month_period(label, where, tz)
        else:
            session_id = label
        meta = obj(row.get("metadata"), f"{where}.metadata")
        last = timestamp_ms(row.get("lastActivity", meta.get("lastActivity")), f"{where}.lastActivity", tz)
        inp, out, cw, cr = _kinds(row, where)
        total = (
            count(row.get("totalTokens"), f"{where}.totalTokens", default=None)
            if "totalTokens" in row
            else None
        )
        cost = money(row.get("totalCost", row.get("costUSD")), f"{where}.totalCost")
        project = text(row.get("projectPath"), f"{where}.projectPath")
        models = [m for m in array(row.get("modelsUsed"), f"{where}.modelsUsed") if isinstance(m, str)]
        parts = []
        for j, b in enumerate(array(row.get("modelBreakdowns"), f"{where}.modelBreakdowns")):
            bw = f"{where}.modelBreakdowns[{j}]"
            b = obj(b, bw, required=True)
            name = text(b.get("modelName"), f"{bw}.modelName", required=True)
            parts.append((name, _kinds(b, bw), money(b.get("cost"), f"{bw}.cost")))
        base = f"{scope}:{label}"
        common = dict(start_ms=start, end_ms=end, session_id=session_id, note=project)
        summed = tuple(sum(p[1][k] for p in parts) for k in range(4))
        if parts and summed == (inp, out, cw, cr):
            for j, (name, (bi, bo, bcw, bcr), bcost) in enumerate(parts):
                t = tokens(0, bi, bo, bcw, 0, bcr, model=name)
                t.last_ms = last
                extra = rest(total, inp + out + cw + cr, where) if j == 0 else 0
                entries.append(ImportedEntry(
                    f"{base}:{name}", scope, label, t, model=name, unsplit_tokens=extra,
                    stated_total=total if j == 0 else None, stated_cost_usd=bcost, **common,  # type: ignore[arg-type]
                ))  # fmt: skip
        else:
            model = models[0] if len(models) == 1 else None
            t = tokens(0, inp, out, cw, 0, cr, model=model)
            t.last_ms = last
            entries.append(ImportedEntry(
                base, scope, label, t, model=model, unsplit_tokens=rest(total, inp + out + cw + cr, where),
                stated_total=total, stated_cost_usd=cost, **common,  # type: ignore[arg-type]
            ))  # fmt: skip
    return ParsedFile(entries, version=group)
