"""Pricing of ledger sums for the analysis views (every dollar through `PriceTable.cost`)."""

from __future__ import annotations

from cchooks.pricing import PriceTable
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from cchooks.ledger.sums import SumRow


def price(t: Totals, model: str, long_context: bool, prices: PriceTable) -> Totals:
    """Set the cost of one model's unpriced sums (or mark them unpriced)."""
    return prices.price_totals(model, t, long_context)


def priced_by_key(rows: Iterable[SumRow], prices: PriceTable) -> dict[str, Totals]:
    """Key -> priced Totals over every model and context tier of the key."""
    out: dict[str, Totals] = {}
    for key, model, lc, t in rows:
        out.setdefault(key, Totals()).merge(price(t, model, lc, prices))
    return out


def cache_hit_rate(t: Totals) -> float | None:
    """cache read / (cache read + cache write + input): the share of the input side served from cache."""
    side = t.cache_read_tokens + t.cache_creation_tokens + t.input_tokens
    return t.cache_read_tokens / side if side else None


def cost(t: Totals) -> float:
    return t.cost_usd if t.priced else 0.0


def rate(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)
