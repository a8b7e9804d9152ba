"""`analyze --cost-analysis`: cost by token type, what caching saved, model mix, long-context share.

- cost by token type: each kind priced alone at its model's rates (`PriceTable.cost` with the
  other kinds zero), long-context tiers kept;
- caching saved: the same requests with every cache read and cache write billed as plain input
  (no caching at all), minus what they cost; negative when cache writes cost more than reads saved;
- model mix: tokens and dollars per model, with shares;
- long-context share: tokens and dollars of requests above their model's long-context threshold.
"""

from __future__ import annotations

from typing import Any

from cchooks.analysis.common import price
from cchooks.pricing import PriceTable
from cchooks.totals import Totals, round_usd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.ledger.sums import SumRow

KINDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")


def cost_analysis(rows: list[SumRow], prices: PriceTable) -> dict[str, Any]:
    by_kind = dict.fromkeys(KINDS, 0.0)
    tokens_by_kind = dict.fromkeys(KINDS, 0)
    no_cache = actual = 0.0
    models: dict[str, Totals] = {}
    long_t, total = Totals(), Totals()
    unpriced_models: set[str] = set()
    for _key, model, lc, t in rows:
        kinds = (t.input_tokens, t.output_tokens, t.cache_creation_5m_tokens, t.cache_creation_1h_tokens,
                 t.cache_read_tokens)  # fmt: skip
        priced = price(t, model, lc, prices)
        models.setdefault(model, Totals()).merge(priced)
        total.merge(priced)
        if lc:
            long_t.merge(priced)
        if not priced.priced:
            unpriced_models.add(model)
            continue
        for i, kind in enumerate(KINDS):
            parts = [0] * 5
            parts[i] = kinds[i]
            by_kind[kind] += prices.cost(model, *parts, long_context=lc) or 0.0
            tokens_by_kind[kind] += kinds[i]
        side = t.input_tokens + t.cache_creation_tokens + t.cache_read_tokens
        no_cache += prices.cost(model, side, t.output_tokens, 0, 0, 0, long_context=lc) or 0.0
        actual += priced.cost_usd
    spend = total.cost_usd
    return {
        "by_token_type": [
            {
                "kind": k,
                "tokens": tokens_by_kind[k],
                "cost_usd": round_usd(by_kind[k]),
                "share": round(by_kind[k] / spend, 4) if spend else None,
            }
            for k in KINDS
        ],  # fmt: skip
        "caching": {
            "cost_usd": round_usd(actual),
            "without_cache_usd": round_usd(no_cache),
            "saved_usd": round_usd(no_cache - actual),
            "saved_share": round((no_cache - actual) / no_cache, 4) if no_cache else None,
        },
        "model_mix": [
            dict(
                model=m,
                cost_share=round(t.cost_usd / spend, 4) if spend and t.priced else None,
                token_share=round(t.total_tokens / total.total_tokens, 4) if total.total_tokens else None,
                **t.to_json(),
            )
            for m, t in sorted(models.items(), key=lambda kv: -kv[1].cost_usd - kv[1].total_tokens * 1e-12)
        ],  # fmt: skip
        "long_context": dict(
            token_share=round(long_t.total_tokens / total.total_tokens, 4) if total.total_tokens else None,
            cost_share=round(long_t.cost_usd / spend, 4) if spend else None,
            **long_t.to_json(),
        ),
        "unpriced_models": sorted(unpriced_models),
    }
