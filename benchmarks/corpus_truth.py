"""The ground truth of gen_corpus.py's expected.json: token sums and their cost at the published prices.

Independent of cchooks on purpose (its own price table and arithmetic): the benchmarks compare
cchooks' figures with these."""

from __future__ import annotations

from typing import Any

# $ per million tokens: input, output, cache read, cache write 5m, cache write 1h.
# Source: shared/docs/formats.md "Prices" (Anthropic's published prices). claude-opus-5-5 is fitted
# to Claude Code 2.1.330's own OTLP cost_usd: its cache read is $0.20 (0.05x), not the $0.40 that
# formats.md states (p-json api_request 1231 in / 561 out / 30001 read / 1501 5m / 500 1h costs
# $0.0336492, which only $0.20 reproduces). Prompts are kept under 200k tokens, so the
# long-context tier never applies.
PRICES: dict[str, tuple[float, float, float, float, float]] = {
    "claude-opus-4-1-20250805": (15.0, 75.0, 1.5, 18.75, 30.0),
    "claude-opus-4-5-20251101": (5.0, 25.0, 0.5, 6.25, 10.0),
    "claude-sonnet-4-5-20250929": (3.0, 15.0, 0.3, 3.75, 6.0),
    "claude-haiku-4-5-20251001": (1.0, 5.0, 0.1, 1.25, 2.0),
    "claude-opus-5-5": (4.0, 20.0, 0.2, 5.0, 8.0),
}


class Totals:
    """[responses, input, output, cache_creation_5m, cache_creation_1h, cache_read]"""

    @staticmethod
    def new() -> list[int]:
        return [0, 0, 0, 0, 0, 0]

    @staticmethod
    def to_dict(v: list[int], model_costs: dict[str, list[int]] | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "responses": v[0],
            "input_tokens": v[1],
            "output_tokens": v[2],
            "cache_creation_input_tokens": v[3] + v[4],
            "cache_creation_5m_input_tokens": v[3],
            "cache_creation_1h_input_tokens": v[4],
            "cache_read_input_tokens": v[5],
        }
        d["total_tokens"] = v[1] + v[2] + v[3] + v[4] + v[5]
        if model_costs is not None:
            d["cost_usd"] = round(sum(cost_of(m, t) for m, t in model_costs.items()), 6)
        return d


def cost_of(model: str, v: list[int]) -> float:
    p = PRICES.get(model)
    if p is None:
        return 0.0
    return (v[1] * p[0] + v[2] * p[1] + v[5] * p[2] + v[3] * p[3] + v[4] * p[4]) / 1e6
