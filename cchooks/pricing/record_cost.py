"""`cost_function(prices)`: the `cost_of(record)` callable the windows package takes.

A thin binding of `PriceTable.record_cost`, cchooks' one cost function (see cchooks.pricing).
"""

from __future__ import annotations

from collections.abc import Callable

from cchooks.pricing import PriceTable
from cchooks.records import UsageRecord


def record_cost(prices: PriceTable, r: UsageRecord) -> float | None:
    """The USD cost of one response, or None when its model has no price."""
    return prices.record_cost(r)


def cost_function(prices: PriceTable) -> Callable[[UsageRecord], float | None]:
    """A `cost_of(record)` bound to a price table, for `cchooks.windows`."""
    return prices.record_cost
