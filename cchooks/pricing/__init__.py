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
        inp, out = self.input, self.output
        if long_context and self.long_input is not None:
            # Long-context requests bill every input-side kind at the scaled rate.
            scale = self.long_input / self.input
            inp, out = self.long_input, self.long_output or self.output
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


def price_from_mapping(model: str, entry: dict[str, Any]) -> Price:
    """Build a Price from a TOML table; missing cache rates follow Anthropic's multipliers."""
    inp = float(entry["input"])
    return Price(
        model=model,
        input=inp,
        output=float(entry["output"]),
        cache_read=float(entry.get("cache_read", inp * 0.1)),
        cache_write_5m=float(entry.get("cache_write_5m", inp * 1.25)),
        cache_write_1h=float(entry.get("cache_write_1h", inp * 2.0)),
        long_context_threshold=(
            int(entry["long_context_threshold"]) if "long_context_threshold" in entry else None
        ),
        long_input=float(entry["long_input"]) if "long_input" in entry else None,
        long_output=float(entry["long_output"]) if "long_output" in entry else None,
        date=str(entry["date"]) if "date" in entry else None,
        source=str(entry["source"]) if "source" in entry else None,
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
    """Model id -> Price, with aliases; user and learned entries layered on top."""

    def __init__(self, version: str | None = None) -> None:
        self.version = version
        self._prices: dict[str, Price] = {}
        self._aliases: dict[str, str] = {}
        self._cache: dict[str, Price | None] = {}

    def add(self, price: Price, aliases: list[str] | None = None) -> None:
        self._prices[price.model] = price
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

    def models(self) -> list[str]:
        return sorted(self._prices)


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
        table.add(price_from_mapping(model, entry), list(entry.get("aliases", [])))
    return table


def load_price_table(overrides: dict[str, dict[str, Any]] | None = None) -> PriceTable:
    """The bundled table plus user overrides (config `[prices."model-id"]` tables)."""
    table = load_bundled()
    for model, entry in (overrides or {}).items():
        merged = dict(entry)
        base = table.lookup(model)
        if base is not None and "input" not in merged:
            merged.setdefault("input", base.input)
        merged.setdefault("source", "user config")
        if "output" not in merged and base is not None:
            merged["output"] = base.output
        table.add(price_from_mapping(model, merged), list(entry.get("aliases", [])))
    return table
