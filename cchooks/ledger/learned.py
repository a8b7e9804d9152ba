"""Learned prices in the ledger: fit Claude Code's own `cost_usd` figures and keep the fits.

The solving is `cchooks.pricing.learned` (pure); this module feeds it the ledger's
api_request events and stores what it finds, through Ledger methods.
"""

from __future__ import annotations

from collections.abc import Sequence

from cchooks.ledger.store import Ledger
from cchooks.pricing import Price, PriceTable, load_price_table
from cchooks.pricing.learned import LearnedPrice, fit_all, learned_from_row, learned_to_row, now_ms


def learn_prices(ledger: Ledger, models: Sequence[str] | None = None) -> list[LearnedPrice]:
    """Fit every model seen in api_request events (or the given ones) and store the fits."""
    if models is not None and not models:
        return []
    fits = fit_all(ledger.cost_samples(models))
    if fits:
        now = now_ms()
        ledger.save_learned_prices([learned_to_row(f, now) for f in fits])
    return fits


def stored_learned(ledger: Ledger) -> list[tuple[LearnedPrice, str]]:
    """Every stored fit with the UTC date it was last updated."""
    return [learned_from_row(r) for r in ledger.learned_price_rows()]


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
