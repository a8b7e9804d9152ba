"""Manual entries: usage entered by hand, kept apart from measured responses.

They live in `manual_entries` (never in `responses`, so no measured figure changes) and every
add, edit and delete writes a row to `manual_entries_audit` with the entry before and after, in
the same transaction. Reports count them as their own source ("manual").
"""

from __future__ import annotations

import json
import time

from cchooks.ledger.store import Ledger, time_filter
from cchooks.records import MAX_TOKENS, token_count

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_NOTE = 2000
MAX_MODEL = 200
_COLS = "id, ts_ms, model, input_tokens, output_tokens, note, created_ms, updated_ms"


class EntryError(ValueError):
    """A value that cannot be stored (one line for the user)."""


class ManualEntry:
    """One manual entry row."""

    __slots__ = ("id", "ts_ms", "model", "input_tokens", "output_tokens", "note", "created_ms", "updated_ms")

    def __init__(self, id: int, ts_ms: int, model: str | None, input_tokens: int, output_tokens: int,
                 note: str, created_ms: int, updated_ms: int) -> None:  # fmt: skip
        self.id = id
        self.ts_ms = ts_ms
        self.model = model
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.note = note
        self.created_ms = created_ms
        self.updated_ms = updated_ms

    def to_json(self) -> dict[str, Any]:
        from cchooks.totals import iso_ms

        return {
            "id": self.id, "source": "manual", "ts_ms": self.ts_ms, "at": iso_ms(self.ts_ms),
            "model": self.model, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "note": self.note, "created_ms": self.created_ms, "updated_ms": self.updated_ms,
        }  # fmt: skip


def _check_tokens(name: str, value: object) -> int:
    n = token_count(value)
    if n is None:
        raise EntryError(f"{name} must be a whole number from 0 to {MAX_TOKENS - 1:,}, not {value!r}")
    return n


def _check_text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise EntryError(f"{name} must be text")
    if len(value) > limit:
        raise EntryError(f"{name} is longer than {limit} characters")
    return value.strip()


def _check_ts(value: object) -> int:
    if type(value) is not int or not 0 <= value < 10**14:
        raise EntryError(f"time must be milliseconds since the epoch, not {value!r}")
    return value


def _row(r: tuple[Any, ...]) -> ManualEntry:
    return ManualEntry(int(r[0]), int(r[1]), r[2], int(r[3]), int(r[4]), str(r[5]), int(r[6]), int(r[7]))


def _audit(ledger: Ledger, entry_id: int, action: str, origin: str, before: ManualEntry | None,
           after: ManualEntry | None) -> None:  # fmt: skip
    ledger.conn.execute(
        "INSERT INTO manual_entries_audit (entry_id, action, at_ms, origin, before, after) VALUES (?,?,?,?,?,?)",
        (entry_id, action, int(time.time() * 1000), origin,
         json.dumps(before.to_json()) if before else None, json.dumps(after.to_json()) if after else None),
    )  # fmt: skip


def get_entry(ledger: Ledger, entry_id: int) -> ManualEntry | None:
    r = ledger.conn.execute(f"SELECT {_COLS} FROM manual_entries WHERE id = ?", (entry_id,)).fetchone()
    return _row(r) if r else None


def add_entry(ledger: Ledger, input_tokens: object, output_tokens: object, *, model: object = None,
              note: object = "", ts_ms: object = None, origin: str = "cli") -> ManualEntry:  # fmt: skip
    now = int(time.time() * 1000)
    i = _check_tokens("input tokens", input_tokens)
    o = _check_tokens("output tokens", output_tokens)
    m = _check_text("model", model, MAX_MODEL) or None if model is not None else None
    n = _check_text("note", note if note is not None else "", MAX_NOTE)
    ts = _check_ts(ts_ms) if ts_ms is not None else now
    with ledger.write() as conn:
        cur = conn.execute(
            "INSERT INTO manual_entries (ts_ms, model, input_tokens, output_tokens, note, created_ms, updated_ms)"
            " VALUES (?,?,?,?,?,?,?)", (ts, m, i, o, n, now, now),
        )  # fmt: skip
        entry = ManualEntry(int(cur.lastrowid or 0), ts, m, i, o, n, now, now)
        _audit(ledger, entry.id, "add", origin, None, entry)
    return entry


def update_entry(ledger: Ledger, entry_id: int, changes: dict[str, object], origin: str = "cli") -> ManualEntry:
    """Change some of input_tokens, output_tokens, model, note, ts_ms. KeyError when there is no such entry."""
    unknown = set(changes) - {"input_tokens", "output_tokens", "model", "note", "ts_ms"}
    if unknown:
        raise EntryError(f"cannot change {', '.join(sorted(unknown))}")
    with ledger.write():
        before = get_entry(ledger, entry_id)
        if before is None:
            raise KeyError(entry_id)
        after = ManualEntry(*(getattr(before, k) for k in ManualEntry.__slots__))
        if "input_tokens" in changes:
            after.input_tokens = _check_tokens("input tokens", changes["input_tokens"])
        if "output_tokens" in changes:
            after.output_tokens = _check_tokens("output tokens", changes["output_tokens"])
        if "model" in changes:
            m = changes["model"]
            after.model = (_check_text("model", m, MAX_MODEL) or None) if m is not None else None
        if "note" in changes:
            after.note = _check_text("note", changes["note"] or "", MAX_NOTE)
        if "ts_ms" in changes:
            after.ts_ms = _check_ts(changes["ts_ms"])
        after.updated_ms = int(time.time() * 1000)
        ledger.conn.execute(
            "UPDATE manual_entries SET ts_ms=?, model=?, input_tokens=?, output_tokens=?, note=?, updated_ms=?"
            " WHERE id=?",
            (after.ts_ms, after.model, after.input_tokens, after.output_tokens, after.note, after.updated_ms,
             entry_id),
        )  # fmt: skip
        _audit(ledger, entry_id, "edit", origin, before, after)
    return after


def delete_entry(ledger: Ledger, entry_id: int, origin: str = "cli") -> ManualEntry:
    """Delete an entry (its audit rows stay). KeyError when there is no such entry."""
    with ledger.write():
        before = get_entry(ledger, entry_id)
        if before is None:
            raise KeyError(entry_id)
        ledger.conn.execute("DELETE FROM manual_entries WHERE id = ?", (entry_id,))
        _audit(ledger, entry_id, "delete", origin, before, None)
    return before


def list_entries(ledger: Ledger, since_ms: int | None = None, until_ms: int | None = None) -> list[ManualEntry]:
    where, params = time_filter(since_ms, until_ms)
    sql = f"SELECT {_COLS} FROM manual_entries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    try:
        rows = ledger.conn.execute(sql + " ORDER BY ts_ms, id", params).fetchall()
    except Exception as exc:  # a read-only ledger of an older schema has no table yet
        if "no such table" in str(exc):
            return []
        raise
    return [_row(r) for r in rows]


def audit_trail(ledger: Ledger, entry_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    from cchooks.totals import iso_ms

    sql = "SELECT seq, entry_id, action, at_ms, origin, before, after FROM manual_entries_audit"
    params: list[object] = []
    if entry_id is not None:
        sql += " WHERE entry_id = ?"
        params.append(entry_id)
    sql += " ORDER BY seq DESC LIMIT ?"
    params.append(limit)
    try:
        rows = ledger.conn.execute(sql, params).fetchall()
    except Exception as exc:
        if "no such table" in str(exc):
            return []
        raise
    return [
        {"seq": r[0], "entry_id": r[1], "action": r[2], "at_ms": r[3], "at": iso_ms(r[3]), "origin": r[4],
         "before": json.loads(r[5]) if r[5] else None, "after": json.loads(r[6]) if r[6] else None}
        for r in rows
    ]  # fmt: skip
