"""Prices and cost: the bundled dated table, user overrides, model-id resolution.

Cost is always computed from stored token counts at query time, so fixing a price
fixes history. An unknown model resolves to None, never to a silent $0.
"""

from __future__ import annotations

import os

from cchooks.records import SlotRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from cchooks.records import UsageRecord
    from cchooks.totals import Totals

PER_MILLION = 1_000_000.0


class Price(SlotRecord):
    """USD per million tokens for one model."""

    __slots__ = (
        "model", "input", "output", "cache_read", "cache_write_5m", "cache_write_1h",
        "long_context_threshold", "long_input", "long_output", "date", "source",
    )  # fmt: skip

    def __init__(
        self,
        model: str,
        input: float,
        output: float,
        cache_read: float,
        cache_write_5m: float,
        cache_write_1h: float,
        long_context_threshold: int | None = None,
        long_input: float | None = None,
        long_output: float | None = None,
        date: str | None = None,
        source: str | None = None,
    ) -> None:
        self.model = model
        self.input = input
        self.output = output
        self.cache_read = cache_read
        self.cache_write_5m = cache_write_5m
        self.cache_write_1h = cache_write_1h
        self.long_context_threshold = long_context_threshold
        self.long_input = long_input
        self.long_output = long_output
        self.date = date
        self.source = source

    def is_long_context(self, input_side_tokens: int) -> bool:
        """The one long-context rule: a request whose whole input side (input + cache writes +
        cache reads) exceeds this entry's threshold is billed at its long rates, when it has them."""
        return (
            self.long_input is not None
            and self.long_context_threshold is not None
            and input_side_tokens > self.long_context_threshold
        )

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        cache_5m_tokens: int,
        cache_1h_tokens: int,
        cache_read_tokens: int,
        *,
        long_context: bool = False,
    ) -> float:
        """USD for these tokens; `long_context` says the requests were long-context ones (see
        `is_long_context`). The only place in cchooks that multiplies tokens by prices."""
        inp, out = self.input, self.output
        if long_context and self.long_input is not None:
            # Long-context requests bill every input-side kind at the scaled rate.
            scale = self.long_input / self.input if self.input else 0.0
            inp, out = self.long_input, self.long_output if self.long_output is not None else self.output
            c5, c1, cr = self.cache_write_5m * scale, self.cache_write_1h * scale, self.cache_read * scale
        else:
            c5, c1, cr = self.cache_write_5m, self.cache_write_1h, self.cache_read
        return (
            input_tokens * inp
            + output_tokens * out
            + cache_5m_tokens * c5
            + cache_1h_tokens * c1
            + cache_read_tokens * cr
        ) / PER_MILLION


class PriceError(ValueError):
    """A price entry that cannot be used (names the model and the problem)."""


# The threshold of an entry that has long-context rates but names no threshold: Anthropic's
# 1M-context billing starts above 200k input-side tokens.
DEFAULT_LONG_CONTEXT_THRESHOLD = 200_000

# Keys a price entry may have (bundled table and config overrides alike).
PRICE_KEYS = (
    "input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "long_context_threshold",
    "long_input", "long_output", "aliases", "date", "source",
)  # fmt: skip


def _rate(model: str, entry: dict[str, Any], key: str) -> float:
    v = entry[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not (0 <= v < float("inf")):
        raise PriceError(f"price of {model!r}: {key} must be a number of USD per million tokens, >= 0")
    return float(v)


def price_from_mapping(model: str, entry: dict[str, Any]) -> Price:
    """Build a Price from a TOML table; missing cache rates follow Anthropic's multipliers."""
    for key in ("input", "output"):
        if key not in entry:
            raise PriceError(f"price of {model!r} has no {key} rate (USD per million tokens)")
    inp = _rate(model, entry, "input")

    def opt(key: str, default: float | None) -> float | None:
        return _rate(model, entry, key) if entry.get(key) is not None else default

    long_input = opt("long_input", None)
    threshold = entry.get("long_context_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0):
        raise PriceError(f"price of {model!r}: long_context_threshold must be a whole number of tokens")
    if long_input is not None and threshold is None:
        threshold = DEFAULT_LONG_CONTEXT_THRESHOLD
    return Price(
        model=model,
        input=inp,
        output=_rate(model, entry, "output"),
        cache_read=opt("cache_read", inp * 0.1) or 0.0,
        cache_write_5m=opt("cache_write_5m", inp * 1.25) or 0.0,
        cache_write_1h=opt("cache_write_1h", inp * 2.0) or 0.0,
        long_context_threshold=threshold,
        long_input=long_input,
        long_output=opt("long_output", None),
        date=str(entry["date"]) if entry.get("date") is not None else None,
        source=str(entry["source"]) if entry.get("source") is not None else None,
    )


def normalize_model_id(model: str) -> str:
    """Strip provider prefixes, version/date suffixes and context markers from a model id."""
    import re  # only on a miss of the exact id and aliases: keeps `re` off the hot path

    m = model.strip().lower()
    m = m.removesuffix("[1m]")
    m = re.sub(r"^(?:[a-z]{2,4}\.)?anthropic\.", "", m)  # Bedrock: us.anthropic.claude-...
    m = m.split("@", 1)[0]  # Vertex: claude-...@20250929
    m = re.sub(r"-v\d+(?::\d+)?$", "", m)
    m = re.sub(r"-\d{8}$", "", m)
    return m.removesuffix("-latest")


class PriceTable:
    """Model id -> Price, with aliases; user and learned entries layered on top.

    `cost()` / `record_cost()` are cchooks' one cost function: every view prices through them.
    """

    def __init__(self, version: str | None = None) -> None:
        self.version = version
        self._prices: dict[str, Price] = {}
        self._entries: dict[str, dict[str, Any]] = {}  # the table each Price was built from
        self._aliases: dict[str, str] = {}
        self._cache: dict[str, Price | None] = {}

    def add(self, price: Price, aliases: list[str] | None = None, entry: dict[str, Any] | None = None) -> None:
        self._prices[price.model] = price
        if entry is not None:
            self._entries[price.model] = entry
        for alias in aliases or []:
            self._aliases[alias.lower()] = price.model
        self._cache.clear()

    def lookup(self, model: str) -> Price | None:
        if model in self._cache:
            return self._cache[model]
        found = self._resolve(model)
        self._cache[model] = found
        return found

    def _resolve(self, model: str) -> Price | None:
        for candidate in (model, model.lower(), None):
            if candidate is None:  # normalized last and only when needed: it imports `re`
                candidate = normalize_model_id(model)
            if candidate in self._prices:
                return self._prices[candidate]
            target = self._aliases.get(candidate)
            if target:
                return self._prices[target]
        return None

    def entry(self, model: str) -> dict[str, Any] | None:
        """The table (bundled TOML or override) the price of `model` was built from."""
        price = self.lookup(model)
        return None if price is None else self._entries.get(price.model)

    def models(self) -> list[str]:
        return sorted(self._prices)

    def long_context_threshold(self, model: str) -> int | None:
        """Input-side tokens above which a request of `model` bills at long rates; None: never."""
        price = self.lookup(model)
        if price is None or price.long_input is None:
            return None
        return price.long_context_threshold

    def cost(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cache_5m_tokens: int,
        cache_1h_tokens: int,
        cache_read_tokens: int,
        *,
        long_context: bool | None = None,
    ) -> float | None:
        """USD for tokens of `model`, or None when the model has no price (never a silent $0).

        For one request leave `long_context` None: the entry's rule decides from its input side.
        For sums, pass whether the summed requests were long-context ones (the ledger groups by
        that flag, computed with `long_context_threshold`).
        """
        price = self.lookup(model)
        if price is None:
            return None
        if long_context is None:
            long_context = price.is_long_context(
                input_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens
            )
        return price.cost(
            input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens, cache_read_tokens,
            long_context=long_context,
        )  # fmt: skip

    def price_totals(self, model: str, t: Totals, long_context: bool | None = None) -> Totals:
        """Set the cost of `t`, the unpriced token sums of `model` (as the ledger's sum queries return
        them), or mark them unpriced; returns `t`."""
        cost = self.cost(
            model, t.input_tokens, t.output_tokens, t.cache_creation_5m_tokens, t.cache_creation_1h_tokens,
            t.cache_read_tokens, long_context=long_context,
        )  # fmt: skip
        if cost is None:
            t.unpriced_tokens, t.unpriced_responses = t.total_tokens, t.responses
        else:
            t.cost_usd = cost
        return t

    def record_cost(self, r: UsageRecord) -> float | None:
        """The USD cost of one response, or None when its model has no price."""
        return self.cost(
            r.model, r.input_tokens, r.output_tokens, r.cache_creation_5m_tokens,
            r.cache_creation_1h_tokens, r.cache_read_tokens,
        )  # fmt: skip


_HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED_TOML_FILE = os.path.join(_HERE, "prices.toml")
# The TOML is the source; this JSON copy of it (`python -m cchooks.pricing`) is what the
# hot paths read (with cchooks.fastjson: neither tomllib nor json is loaded there). A test
# keeps the two equal.
BUNDLED_JSON_FILE = os.path.join(_HERE, "prices.json")


def __getattr__(name: str) -> Path:
    # BUNDLED_TOML / BUNDLED_JSON as pathlib.Path, made on first use (pathlib is not on the hot path).
    if name in ("BUNDLED_TOML", "BUNDLED_JSON"):
        from pathlib import Path

        return Path(BUNDLED_TOML_FILE if name == "BUNDLED_TOML" else BUNDLED_JSON_FILE)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def read_bundled_toml() -> dict[str, Any]:
    import tomllib

    with open(BUNDLED_TOML_FILE, encoding="utf-8") as fh:
        return tomllib.loads(fh.read())


def load_bundled() -> PriceTable:
    from cchooks.fastjson import loads

    try:
        with open(BUNDLED_JSON_FILE, "rb") as fh:
            data = loads(fh.read())
    except (OSError, ValueError):
        data = read_bundled_toml()
    table = PriceTable(version=str(data.get("version", "")))
    for model, entry in data.get("models", {}).items():
        table.add(price_from_mapping(model, entry), list(entry.get("aliases", [])), entry)
    return table


def load_price_table(overrides: dict[str, dict[str, Any]] | None = None) -> PriceTable:
    """The bundled table plus user overrides (config `[prices."model-id"]` tables).

    An override of a known model (its id, an alias or a dated id) merges field by field over
    that model's bundled entry: `output = 20` changes the output rate and nothing else, so an
    entry's own cache and long-context rates stay. Rates the bundled entry derives from its
    input rate (cache rates it does not name) follow a new input rate. A new model needs
    `input` and `output` (PriceError otherwise).
    """
    table = load_bundled()
    for model, override in (overrides or {}).items():
        fields = {k: v for k, v in override.items() if v is not None}
        base = table.lookup(model)
        name = model
        merged: dict[str, Any] = {}
        if base is not None:
            name = base.model
            merged.update(table._entries.get(name) or {})
        merged.update(fields)
        merged["source"] = fields.get("source", "user config" if base is None else
                                      f"user config over {merged.get('source', 'the bundled table')}")
        aliases = list(merged.get("aliases") or [])
        table.add(price_from_mapping(name, merged), aliases, merged)
    return table
