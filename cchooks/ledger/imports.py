"""Imported usage (`cchooks import`): stored apart from measured responses, with provenance.

The rule for a period that is both imported and measured (docs/import.md): **measured wins**.
An imported entry is *superseded* when the ledger holds a measured response of its session
(entries naming a session) or inside its period (entries with a start and an end). It is kept
and shown, marked superseded; it never adds to measured totals. Entries without a known period
(cumulative snapshots) are never superseded and never merged with anything.

Writes: every file of one `cchooks import` run goes in one transaction, so a failure leaves
nothing half-imported. A file whose bytes were imported before (same sha256) changes nothing.
An entry another file stated before (same format and key) is replaced when its figures differ.
"""

from __future__ import annotations

import json

from cchooks.parsers.usage_files import FoundLimits, ImportedEntry, ParsedFile
from cchooks.records import SlotRecord
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from cchooks.ledger.store import Ledger

_VALUE_COLUMNS = (
    "scope, label, start_ms, end_ms, session_id, agent_type, model, requests, input_tokens, output_tokens,"
    " cache_5m_tokens, cache_1h_tokens, cache_read_tokens, web_search_requests, unsplit_tokens, stated_total,"
    " stated_cost_usd, first_ms, last_ms, note, detail"
)
_COLUMNS = f"ikey, fingerprint, format, path, {_VALUE_COLUMNS}"

# Measured wins: see the module docstring.
_SUPERSEDED = (
    "CASE WHEN i.session_id IS NOT NULL THEN EXISTS (SELECT 1 FROM responses r WHERE r.session_id = i.session_id)"
    " WHEN i.start_ms IS NOT NULL AND i.end_ms IS NOT NULL THEN EXISTS (SELECT 1 FROM responses r"
    " WHERE r.ts_ms >= i.start_ms AND r.ts_ms < i.end_ms) ELSE 0 END"
)


class FileToImport(SlotRecord):
    __slots__ = ("path", "fingerprint", "parsed")

    def __init__(self, path: str, fingerprint: str, parsed: ParsedFile) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.parsed = parsed


class FileOutcome(SlotRecord):
    """What importing one file did (or, in a dry run, would do)."""

    __slots__ = ("path", "format", "fingerprint", "status", "entries", "added", "replaced", "unchanged")

    def __init__(self, path: str, fmt: str, fingerprint: str, status: str, entries: int) -> None:
        self.path = path
        self.format = fmt
        self.fingerprint = fingerprint
        self.status = status  # imported | already imported
        self.entries = entries
        self.added = 0
        self.replaced = 0
        self.unchanged = 0


class StoredImport(SlotRecord):
    """An imported entry as stored, with its provenance and whether measured usage supersedes it."""

    __slots__ = ("entry", "format", "path", "fingerprint", "superseded")

    def __init__(self, entry: ImportedEntry, fmt: str, path: str, fingerprint: str, superseded: bool) -> None:
        self.entry = entry
        self.format = fmt
        self.path = path
        self.fingerprint = fingerprint
        self.superseded = superseded


def _ikey(fmt: str, path: str, e: ImportedEntry) -> str:
    return f"{fmt}\x1f{path}\x1f{e.key}" if e.path_scoped else f"{fmt}\x1f{e.key}"


def _values(e: ImportedEntry) -> tuple[object, ...]:
    u = e.usage
    return (
        e.scope, e.label, e.start_ms, e.end_ms, e.session_id, e.agent_type, e.model, u.responses,
        u.input_tokens, u.output_tokens, u.cache_creation_5m_tokens, u.cache_creation_1h_tokens,
        u.cache_read_tokens, u.web_search_requests, e.unsplit_tokens, e.stated_total, e.stated_cost_usd,
        u.first_ms, u.last_ms, e.note, int(e.detail),
    )  # fmt: skip


def _limits_json(limits: FoundLimits | None) -> str | None:
    if limits is None:
        return None
    return json.dumps({k: getattr(limits, k) for k in limits.__slots__}, sort_keys=True)


class _DryRun(Exception):
    """Rolls the transaction of a dry run back."""


def import_files(
    ledger: Ledger, files: Sequence[FileToImport], now_ms: int, dry_run: bool = False
) -> list[FileOutcome]:
    """Store every file's entries in one transaction; returns one outcome per file."""
    outcomes: list[FileOutcome] = []
    try:
        with ledger.write() as conn:
            for f in files:
                fmt = f.parsed.format
                out = FileOutcome(f.path, fmt, f.fingerprint, "imported", len(f.parsed.entries))
                outcomes.append(out)
                seen = conn.execute(
                    "SELECT 1 FROM import_files WHERE fingerprint = ?", (f.fingerprint,)
                ).fetchone()
                if seen is not None:
                    out.status = "already imported"
                    continue
                keys: dict[str, int] = {}
                for e in f.parsed.entries:
                    ikey = _ikey(fmt, f.path, e)
                    n = keys[ikey] = keys.get(ikey, 0) + 1
                    if n > 1:  # the same key twice in one file: keep both, in file order
                        ikey += f"#{n}"
                    values = _values(e)
                    old = conn.execute(
                        f"SELECT {_VALUE_COLUMNS} FROM imported_usage WHERE ikey = ?", (ikey,)
                    ).fetchone()
                    if old is not None and tuple(old) == values:
                        out.unchanged += 1
                        continue
                    if old is None:
                        out.added += 1
                    else:
                        out.replaced += 1
                    conn.execute(
                        f"INSERT OR REPLACE INTO imported_usage ({_COLUMNS})"
                        f" VALUES ({','.join('?' * (4 + len(values)))})",
                        (ikey, f.fingerprint, fmt, f.path, *values),
                    )
                conn.execute(
                    "INSERT OR REPLACE INTO import_files VALUES (?,?,?,?,?,?,?)",
                    (f.fingerprint, fmt, f.path, f.parsed.version, now_ms, len(f.parsed.entries),
                     _limits_json(f.parsed.limits)),
                )  # fmt: skip
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return outcomes


def imported(
    ledger: Ledger,
    since_ms: int | None = None,
    until_ms: int | None = None,
    *,
    details: bool = True,
) -> list[StoredImport]:
    """Stored entries overlapping [since, until) (every entry without bounds), oldest first.

    With bounds, entries of unknown start are left out (nothing says they overlap).
    """
    where: list[str] = []
    params: list[object] = []
    if since_ms is not None:
        where.append("i.end_ms IS NOT NULL AND i.end_ms > ?")
        params.append(since_ms)
    if until_ms is not None:
        where.append("i.start_ms IS NOT NULL AND i.start_ms < ?")
        params.append(until_ms)
    if not details:
        where.append("i.detail = 0")
    sql = (
        f"SELECT {', '.join('i.' + c.strip() for c in _COLUMNS.split(','))}, {_SUPERSEDED}"
        f" FROM imported_usage i{' WHERE ' + ' AND '.join(where) if where else ''}"
        " ORDER BY coalesce(i.start_ms, i.end_ms, 0), i.format, i.ikey"
    )
    out = []
    for row in ledger.conn.execute(sql, params):
        (_ikey_, fp, fmt, path, scope, label, start, end, sid, agent, model, req, inp, outp, c5, c1, cr, web,
         unsplit, stated, cost, first, last, note, detail, superseded) = row  # fmt: skip
        t = Totals(
            req, inp, outp, c5, c1, cr, web, first_ms=first, last_ms=last, models=[model] if model else []
        )
        e = ImportedEntry(
            str(_ikey_).rsplit("\x1f", 1)[-1], scope, label, t, start_ms=start, end_ms=end, session_id=sid,
            agent_type=agent, model=model, unsplit_tokens=unsplit, stated_total=stated, stated_cost_usd=cost,
            note=note, detail=bool(detail),
        )  # fmt: skip
        out.append(StoredImport(e, fmt, path, fp, bool(superseded)))
    return out


def import_file_rows(ledger: Ledger) -> list[dict[str, object]]:
    """Every imported file: fingerprint, format, path, version, imported_ms, entries, limits."""
    rows = ledger.conn.execute(
        "SELECT fingerprint, format, path, version, imported_ms, entries, limits FROM import_files ORDER BY imported_ms"
    ).fetchall()
    keys = ("fingerprint", "format", "path", "version", "imported_ms", "entries", "limits")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def superseded_counts(ledger: Ledger, paths: Sequence[str]) -> dict[str, int]:
    """Path -> how many of the entries it last stated measured usage supersedes."""
    marks = ",".join("?" * len(paths))
    rows = ledger.conn.execute(
        f"SELECT i.path, sum({_SUPERSEDED}) FROM imported_usage i WHERE i.path IN ({marks}) GROUP BY i.path",
        list(paths),
    )
    return {str(p): int(n or 0) for p, n in rows}
