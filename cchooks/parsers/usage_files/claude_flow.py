"""claude-flow's `.claude-flow/token-usage.json`: `{total, input, output, byAgent: {<agent>: n |
{total, input, output}}, lastUpdated?}`: the project's running totals, one `snapshot` entry, and
one detail entry per agent (the same usage by agent type). Undated unless it says when it was
last updated; figures of this file only (a re-import of a changed file replaces them).
"""

from __future__ import annotations

from cchooks.parsers.usage_files.common import (
    FormatError,
    ImportedEntry,
    ParsedFile,
    count,
    obj,
    rest,
    timestamp_ms,
    tokens,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import tzinfo
    from typing import Any


def _figures(value: object, where: str) -> tuple[int, int, int | None]:
    if isinstance(value, dict):
        inp = count(value.get("input"), f"{where}.input")
        out = count(value.get("output"), f"{where}.output")
        total = count(value.get("total"), f"{where}.total", default=None) if "total" in value else None
        return inp, out, total
    n = count(value, where, default=None)
    return 0, 0, n


def parse(data: dict[str, Any], tz: tzinfo) -> ParsedFile:
    if not any(k in data for k in ("total", "input", "output", "byAgent")):
        raise FormatError("no total, input, output or byAgent (is this .claude-flow/token-usage.json?)")
    last = None
    for key in ("lastUpdated", "timestamp", "updatedAt"):
        if data.get(key) is not None:
            last = timestamp_ms(data[key], key, tz)
            break
    end = last + 1 if last is not None else None
    inp, out, total = _figures(data, "token-usage")
    t = tokens(0, inp, out)
    t.last_ms = last
    entries = [ImportedEntry(
        "snapshot", "snapshot", "project", t, end_ms=end, unsplit_tokens=rest(total, inp + out, "total"),
        stated_total=total, path_scoped=True,
    )]  # fmt: skip
    for agent, value in obj(data.get("byAgent"), "byAgent").items():
        a_in, a_out, a_total = _figures(value, f"byAgent.{agent}")
        entries.append(ImportedEntry(
            f"agent:{agent}", "snapshot", agent, tokens(0, a_in, a_out), end_ms=end, agent_type=agent,
            unsplit_tokens=rest(a_total, a_in + a_out, agent), stated_total=a_total, detail=True,
            path_scoped=True,
        ))  # fmt: skip
    return ParsedFile(entries)
