"""Price single records: the `cost_of(record)` callable the windows package takes.

The same rule as the reports' SQL (`cchooks.ledger.queries`): a request whose whole input side (input
plus cache writes plus cache reads) exceeds 200,000 tokens is a long-context request and is billed at the
long rate when the model's price has one. An unknown model costs None, never a silent $0.
"""

from __future__ import annotations

from collections.abc import Callable

from cchooks.pricing import PriceTable
from cchooks.records import UsageRecord

# Equal to cchooks.ledger.queries.LONG_CONTEXT_TOKENS (not imported: that module pulls in time zones).
LONG_CONTEXT_TOKENS = 200_000


def record_cost(prices: PriceTable, r: UsageRecord) -> float | None:
    """The USD cost of one response, or None when its model has no price."""
    price = prices.lookup(r.model)
    if price is None:
        return None
    input_side = (
        r.input_tokens + r.cache_creation_5m_tokens + r.cache_creation_1h_tokens + r.cache_read_tokens
    )
    long_context = price.long_context_threshold is not None and input_side > LONG_CONTEXT_TOKENS
    return price.cost(
        r.input_tokens,
        r.output_tokens,
        r.cache_creation_5m_tokens,
        r.cache_creation_1h_tokens,
        r.cache_read_tokens,
        long_context=long_context,
    )


def cost_function(prices: PriceTable) -> Callable[[UsageRecord], float | None]:
    """A `cost_of(record)` bound to a price table, for `cchooks.windows`."""

    def cost_of(r: UsageRecord) -> float | None:
        return record_cost(prices, r)

    return cost_of
