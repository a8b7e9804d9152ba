"""Imported usage as report sections: priced, marked, never merged into measured totals.

An entry is priced at its model's current rates (`PriceTable.cost`, never long-context: the files
do not say) when the file names the model; otherwise its tokens are unpriced. `unsplit_tokens`
(tokens a file counts without naming their kind) are in no Totals key and no dollar figure.
"""

from __future__ import annotations

from typing import Any

from cchooks.parsers.usage_files import ImportedEntry
from cchooks.pricing import PriceTable
from cchooks.totals import Totals, iso_ms, round_usd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from cchooks.ledger.imports import StoredImport

RULE = (
    "measured wins: an imported entry whose session or period has measured responses in the ledger is"
    " superseded (kept and shown, never counted); imported usage is never added to measured totals"
)


def priced(entry: ImportedEntry, prices: PriceTable) -> Totals:
    """The entry's tokens with their dollar cost at current prices (unpriced without a model)."""
    u = entry.usage
    cost = None
    if entry.model:
        cost = prices.cost(
            entry.model, u.input_tokens, u.output_tokens, u.cache_creation_5m_tokens,
            u.cache_creation_1h_tokens, u.cache_read_tokens,
        )  # fmt: skip
    t = Totals()
    t.add(
        entry.model or "", u.responses, u.input_tokens, u.output_tokens, u.cache_creation_5m_tokens,
        u.cache_creation_1h_tokens, u.cache_read_tokens, cost, web_search_requests=u.web_search_requests,
        first_ms=u.first_ms, last_ms=u.last_ms,
    )  # fmt: skip
    if not entry.model:
        t.models = []
    return t


def file_totals(entries: Iterable[ImportedEntry], prices: PriceTable) -> tuple[Totals, int]:
    """(priced Totals, unsplit tokens) of a file's own usage: its entries that are not details."""
    total, unsplit = Totals(), 0
    for e in entries:
        if not e.detail:
            total.merge(priced(e, prices))
            unsplit += e.unsplit_tokens
    return total, unsplit


def entry_json(s: StoredImport, prices: PriceTable) -> dict[str, Any]:
    e = s.entry
    out: dict[str, Any] = {
        "format": s.format, "path": s.path, "fingerprint": s.fingerprint, "scope": e.scope, "label": e.label,
        "start_ms": e.start_ms, "end_ms": e.end_ms, "start_at": iso_ms(e.start_ms), "end_at": iso_ms(e.end_ms),
        "session_id": e.session_id, "agent_type": e.agent_type, "superseded": s.superseded, "detail": e.detail,
    }  # fmt: skip
    out.update(priced(e, prices).to_json())
    out["unsplit_tokens"] = e.unsplit_tokens
    out["stated_total_tokens"] = e.stated_total
    out["stated_cost_usd"] = round_usd(e.stated_cost_usd)
    if e.note:
        out["note"] = e.note
    return out


def section(stored: list[StoredImport], prices: PriceTable) -> dict[str, Any]:
    """The `imported` section of `report --imported --json` (docs/import.md)."""
    current = [s for s in stored if not s.superseded and not s.entry.detail]
    return {
        "rule": RULE,
        "entries": [entry_json(s, prices) for s in stored],
        "not_superseded": len(current),
        "superseded": sum(1 for s in stored if s.superseded),
    }


def render_text(stored: list[StoredImport], prices: PriceTable) -> str:
    """Lines after a report table: imported entries, marked, outside its totals."""
    if not stored:
        return "Imported usage: none in this period (cchooks import)."
    lines = ["", "Imported usage (not in the totals above; measured wins, see docs/import.md):"]
    for s in stored:
        e = s.entry
        t = priced(e, prices)
        cost = f"${t.cost_usd:,.2f}" if t.priced else "?"
        mark = " superseded" if s.superseded else ""
        detail = " (detail)" if e.detail else ""
        lines.append(
            f"  {s.format:<14} {e.scope:<8} {e.label[:24]:<24} {e.tokens:>14,} tok {cost:>10}{mark}{detail}"
        )
    return "\n".join(lines)
