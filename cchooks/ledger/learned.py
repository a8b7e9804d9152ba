"""Learned prices in the ledger: fit Claude Code's own `cost_usd` figures and keep the fits.

The solving is `cchooks.pricing.learned` (pure); this module feeds it the ledger's
api_request events and stores what it finds, in its `learned_prices` table.
"""

from __future__ import annotations

from collections.abc import Sequence

from cchooks.ledger.driver import sqlite3
from cchooks.ledger.store import Ledger
from cchooks.pricing import Price, PriceTable, load_price_table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.pricing.learned import LearnedPrice

# `cchooks.pricing.learned` (the solver, with its dataclass) is imported only where there is
# something to solve or decode: every report asks for learned prices, and most ledgers hold none.


def learn_prices(ledger: Ledger, models: Sequence[str] | None = None) -> list[LearnedPrice]:
    """Fit every model seen in api_request events (or the given ones) and store the fits."""
    if models is not None and not models:
        return []
    from cchooks.pricing.learned import fit_all, learned_to_row, now_ms

    fits = fit_all(cost_samples(ledger, models))
    if fits:
        now = now_ms()
        save_learned_prices(ledger, [learned_to_row(f, now) for f in fits])
    return fits


def stored_learned(ledger: Ledger) -> list[tuple[LearnedPrice, str]]:
    """Every stored fit with the UTC date it was last updated."""
    rows = learned_price_rows(ledger)
    if not rows:
        return []
    from cchooks.pricing.learned import learned_from_row

    return [learned_from_row(r) for r in rows]


def learned_prices(
    ledger: Ledger, table: PriceTable | None = None, *, include_known: bool = False
) -> list[Price]:
    """Learned prices for the models `table` (default: the bundled table) cannot price.

    Each Price's `source` starts with "learned from Claude Code cost_usd". With
    `include_known`, every learned model is returned (to compare against the table).
    """
    if table is None and not include_known:
        table = load_price_table()
    out: list[Price] = []
    for lp, date in stored_learned(ledger):
        if include_known or table is None or table.lookup(lp.model) is None:
            out.append(lp.price(date))
    return out


def add_learned_prices(table: PriceTable, ledger: Ledger) -> list[str]:
    """Add learned prices for the models `table` lacks; returns the models added."""
    added = learned_prices(ledger, table)
    for price in added:
        table.add(price)
    return [p.model for p in added]


def cost_samples(
    ledger: Ledger, models: Sequence[str] | None = None
) -> dict[str, list[tuple[int, int, int, int, int, float]]]:
    """(input, output, cache 5m, cache 1h, cache read, cost_usd) of every api_request event
    that carries Claude Code's cost, by model."""
    sql = (
        "SELECT model, input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens, cache_read_tokens,"
        " cost_usd FROM otlp_api_requests WHERE cost_usd IS NOT NULL AND model != ''"
    )
    params: list[object] = []
    if models is not None:
        sql += f" AND model IN ({','.join('?' * len(models))})"
        params.extend(models)
    out: dict[str, list[tuple[int, int, int, int, int, float]]] = {}
    for row in ledger.conn.execute(sql, params):
        out.setdefault(str(row[0]), []).append(
            (int(row[1]), int(row[2]), int(row[3]), int(row[4]), int(row[5]), float(row[6]))
        )
    return out


def save_learned_prices(ledger: Ledger, rows: Sequence[Sequence[object]]) -> None:
    """Store fits: (model, input, output, cache_read, cache_write_5m, cache_write_1h, fit, events,
    max_rel_error, updated_ms)."""
    with ledger.write():
        ledger.conn.executemany(
            "INSERT OR REPLACE INTO learned_prices (model, input, output, cache_read, cache_write_5m,"
            " cache_write_1h, fit, events, max_rel_error, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [tuple(r) for r in rows],
        )


def learned_price_rows(ledger: Ledger) -> list[tuple[object, ...]]:
    """Stored fits in `save_learned_prices` order, by model; [] on a ledger without the table."""
    try:
        return [
            tuple(r)
            for r in ledger.conn.execute(
                "SELECT model, input, output, cache_read, cache_write_5m, cache_write_1h, fit, events,"
                " max_rel_error, updated_ms FROM learned_prices ORDER BY model"
            )
        ]
    except sqlite3.OperationalError:  # an older ledger opened read-only, before the OTLP migration
        return []
