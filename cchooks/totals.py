"""The one totals type: token and dollar sums over a set of responses, and their JSON vocabulary.

Every view uses it: report rows and totals, 5-hour blocks, week and month windows, burn rates,
the statusline's session/today figures, budgets, reconciliation and the Python API. Its
`to_json()` is the one JSON vocabulary of every `--json` output (docs/json.md).

`cost_usd` counts priced responses only; `unpriced_tokens` / `unpriced_responses` say how much
belongs to models with no known price, so a view can show `?` instead of a wrong `$0.00`.
Costs come from `cchooks.pricing.PriceTable.cost`; nothing here multiplies tokens by prices.

A plain `__slots__` class (no dataclass): it sits on the statusline and hook hot paths.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cchooks.records import UsageRecord

# Bump when a key of the JSON vocabulary changes meaning or disappears (adding keys does not).
SCHEMA_VERSION = 1

# One rounding rule for every dollar figure in JSON: micro-dollars.
USD_DECIMALS = 6

# Which tokens a token count (and a token limit) counts:
#   all           - input + output + cache writes + cache reads
#   no_cache_read - all but cache reads
#   input_output  - input + output only: what the community plan presets count
TOKEN_MEASURES = ("all", "no_cache_read", "input_output")


def round_usd(value: float | None) -> float | None:
    """The JSON form of a dollar amount (None stays None)."""
    return None if value is None else round(value, USD_DECIMALS)


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds (`2026-11-22T10:15:03.120Z`)."""
    if ms is None:
        return None
    import time

    secs, frac = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:03d}Z"


class Totals:
    """Sums over a set of responses (see the module docstring)."""

    __slots__ = (
        "responses", "input_tokens", "output_tokens", "cache_creation_5m_tokens",
        "cache_creation_1h_tokens", "cache_read_tokens", "web_search_requests", "cost_usd",
        "unpriced_tokens", "unpriced_responses", "first_ms", "last_ms", "models", "estimated_responses",
    )  # fmt: skip

    def __init__(
        self,
        responses: int = 0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_creation_5m_tokens: int = 0,
        cache_creation_1h_tokens: int = 0,
        cache_read_tokens: int = 0,
        web_search_requests: int = 0,
        cost_usd: float = 0.0,
        unpriced_tokens: int = 0,
        unpriced_responses: int = 0,
        first_ms: int | None = None,
        last_ms: int | None = None,
        models: list[str] | None = None,
        estimated_responses: int = 0,
    ) -> None:
        self.responses = responses
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_creation_5m_tokens = cache_creation_5m_tokens
        self.cache_creation_1h_tokens = cache_creation_1h_tokens
        self.cache_read_tokens = cache_read_tokens
        self.web_search_requests = web_search_requests
        self.cost_usd = cost_usd
        self.unpriced_tokens = unpriced_tokens
        self.unpriced_responses = unpriced_responses
        self.first_ms = first_ms
        self.last_ms = last_ms
        self.models: list[str] = models if models is not None else []  # first seen first, unique
        # responses whose output only streaming-partial transcript lines gave (no later line, no
        # OTLP): their output is a lower bound, shown with `~`
        self.estimated_responses = estimated_responses

    # -- adding -------------------------------------------------------------------------------

    def add(
        self,
        model: str,
        responses: int,
        input_tokens: int,
        output_tokens: int,
        cache_5m_tokens: int,
        cache_1h_tokens: int,
        cache_read_tokens: int,
        cost: float | None,
        *,
        web_search_requests: int = 0,
        first_ms: int | None = None,
        last_ms: int | None = None,
        estimated_responses: int = 0,
    ) -> None:
        """Add the sums of `responses` responses of one model; `cost` None means unpriced."""
        self.responses += responses
        self.estimated_responses += estimated_responses
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cache_creation_5m_tokens += cache_5m_tokens
        self.cache_creation_1h_tokens += cache_1h_tokens
        self.cache_read_tokens += cache_read_tokens
        self.web_search_requests += web_search_requests
        if cost is None:
            self.unpriced_tokens += (
                input_tokens + output_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens
            )
            self.unpriced_responses += responses
        else:
            self.cost_usd += cost
        if model not in self.models:
            self.models.append(model)
        if first_ms is not None and (self.first_ms is None or first_ms < self.first_ms):
            self.first_ms = first_ms
        if last_ms is not None and (self.last_ms is None or last_ms > self.last_ms):
            self.last_ms = last_ms

    def add_record(self, r: UsageRecord, cost: float | None) -> None:
        """Add one response (`cost` from `PriceTable.record_cost`)."""
        self.add(
            r.model, 1, r.input_tokens, r.output_tokens, r.cache_creation_5m_tokens,
            r.cache_creation_1h_tokens, r.cache_read_tokens, cost,
            web_search_requests=r.web_search_requests, first_ms=r.timestamp_ms, last_ms=r.timestamp_ms,
        )  # fmt: skip

    def merge(self, other: Totals) -> None:
        self.responses += other.responses
        self.estimated_responses += other.estimated_responses
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_creation_5m_tokens += other.cache_creation_5m_tokens
        self.cache_creation_1h_tokens += other.cache_creation_1h_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.web_search_requests += other.web_search_requests
        self.cost_usd += other.cost_usd
        self.unpriced_tokens += other.unpriced_tokens
        self.unpriced_responses += other.unpriced_responses
        for m in other.models:
            if m not in self.models:
                self.models.append(m)
        if other.first_ms is not None and (self.first_ms is None or other.first_ms < self.first_ms):
            self.first_ms = other.first_ms
        if other.last_ms is not None and (self.last_ms is None or other.last_ms > self.last_ms):
            self.last_ms = other.last_ms

    # -- derived figures ----------------------------------------------------------------------

    @property
    def cache_creation_tokens(self) -> int:
        return self.cache_creation_5m_tokens + self.cache_creation_1h_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation_tokens + self.cache_read_tokens

    @property
    def io_tokens(self) -> int:
        """Input + output only: what the community plan presets count."""
        return self.input_tokens + self.output_tokens

    @property
    def cost_known(self) -> bool:
        """True when every token is priced (so `cost_usd` is the whole cost)."""
        return self.unpriced_tokens == 0

    @property
    def priced(self) -> bool:
        """True when at least some of the spend has a price."""
        return self.responses > 0 and self.unpriced_responses < self.responses

    @property
    def cost_or_none(self) -> float | None:
        """`cost_usd`, or None when nothing here could be priced (show `?`, never `$0.00`)."""
        if self.responses and not self.priced:
            return None
        return self.cost_usd

    def tokens(self, measure: str = "all") -> int:
        if measure == "all":
            return self.total_tokens
        if measure == "no_cache_read":
            return self.total_tokens - self.cache_read_tokens
        if measure == "input_output":
            return self.io_tokens
        raise ValueError(f"unknown token measure {measure!r}; expected one of {', '.join(TOKEN_MEASURES)}")

    # -- the JSON vocabulary ------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The keys every `--json` output uses for a set of responses (docs/json.md)."""
        return {
            "responses": self.responses,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
            "cache_creation_5m_tokens": self.cache_creation_5m_tokens,
            "cache_creation_1h_tokens": self.cache_creation_1h_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "total_tokens": self.total_tokens,
            "web_search_requests": self.web_search_requests,
            "cost_usd": round_usd(self.cost_or_none),
            "unpriced_tokens": self.unpriced_tokens,
            "unpriced_responses": self.unpriced_responses,
            "estimated_responses": self.estimated_responses,
            "models": sorted(self.models),
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "first_at": iso_ms(self.first_ms),
            "last_at": iso_ms(self.last_ms),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Totals):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "Totals(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"


# Keys of Totals.to_json(), in order; docs/json.md lists the same (a test keeps them equal).
TOTALS_KEYS = tuple(Totals().to_json())
