"""A local dashboard's `usage.json`: `{monthlyLimit, weeklyLimit, sessionLimit, resetDay,
sessions: [{timestamp, input, output, note}]}`.

Each session is an entry of the moment it was logged (`timestamp`, local time without a zone);
its period is that local day. The dashboard's automatic entries put cache writes into `input`
(it counts input + output + cache creation, never cache reads); the file does not say which entries
did, so `input` is stored as input tokens, and its limits are adopted with
`token_measure = "no_cache_read"`.
"""

from __future__ import annotations

import hashlib

from cchooks.parsers.usage_files.common import (
    FormatError,
    FoundLimits,
    ImportedEntry,
    ParsedFile,
    array,
    count,
    day_of,
    obj,
    text,
    timestamp_ms,
    tokens,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import tzinfo
    from typing import Any


def parse(data: dict[str, Any], tz: tzinfo) -> ParsedFile:
    if "sessions" not in data and not any(k in data for k in ("monthlyLimit", "weeklyLimit", "sessionLimit")):
        raise FormatError("no sessions and no limits (is this the dashboard's usage.json?)")
    entries: list[ImportedEntry] = []
    for i, s in enumerate(array(data.get("sessions"), "sessions")):
        where = f"sessions[{i}]"
        s = obj(s, where, required=True)
        ts = timestamp_ms(s.get("timestamp"), f"{where}.timestamp", tz)
        if ts is None:
            raise FormatError(f"{where}.timestamp: missing")
        inp = count(s.get("input"), f"{where}.input")
        out = count(s.get("output"), f"{where}.output")
        note = text(s.get("note"), f"{where}.note")
        start, end = day_of(ts, tz)
        # The same logged session keeps its key when others are deleted around it.
        ident = hashlib.sha256(f"{s.get('timestamp')}|{inp}|{out}|{note or ''}".encode()).hexdigest()[:16]
        t = tokens(1, inp, out)
        t.first_ms = t.last_ms = ts
        entries.append(ImportedEntry(
            f"entry:{ident}", "entry", str(s.get("timestamp")), t, start_ms=start, end_ms=end, note=note,
        ))  # fmt: skip
    notes = []
    reset_day = data.get("resetDay", 1)
    if reset_day not in (1, None):
        notes.append(f"resetDay {reset_day!r}: cchooks' months start on the 1st")
    limits = FoundLimits(
        five_hour_tokens=count(data.get("sessionLimit"), "sessionLimit", default=None) or None
        if data.get("sessionLimit") is not None else None,
        weekly_tokens=count(data.get("weeklyLimit"), "weeklyLimit") or None
        if data.get("weeklyLimit") is not None else None,
        monthly_tokens=count(data.get("monthlyLimit"), "monthlyLimit") or None
        if data.get("monthlyLimit") is not None else None,
        token_measure="no_cache_read", notes=notes,
    )  # fmt: skip
    return ParsedFile(entries, limits if limits.any else None)
