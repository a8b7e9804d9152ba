"""A report from its public arguments: prices, zone and day bounds resolved, then `build_report`.

`cchooks.api.report` (the typed public function) and the report command and dashboard
(`cchooks.reports.query`) all come here, so they cannot differ. No `typing` at run time: a
warm report's imports are most of its time.
"""

from __future__ import annotations

import os

from cchooks.ledger.store import Ledger
from cchooks.pricing import PriceTable, load_price_table
from cchooks.reports.build import Report, build_report
from cchooks.timezones import parse_day_bound, resolve_tz

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def price_table(
    ledger: Ledger | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
) -> PriceTable:
    """Bundled prices, plus prices learned from Claude Code's own cost figures, plus overrides.

    `overrides` defaults to the `[prices]` tables of the config file (`config`, else the default
    location), validated by the one config loader (ConfigError when the file is invalid).
    """
    if overrides is None:
        from cchooks.config import load_config

        overrides = load_config(config).price_overrides()
    table = load_price_table(overrides)
    if ledger is not None:
        try:
            from cchooks.ledger.learned import learned_prices
        except ImportError:  # pragma: no cover - OTLP support not installed
            return table
        for price in learned_prices(ledger):
            if table.lookup(price.model) is None:
                table.add(price)
    return table


def make_report(
    ledger: Ledger,
    group: str,
    *,
    tz: str | None = None,
    since: str | None = None,
    until: str | None = None,
    session_id: str | None = None,
    project: str | None = None,
    prices: PriceTable | None = None,
    config: str | os.PathLike[str] | None = None,
) -> Report:
    """`cchooks.api.report`, which documents it."""
    if tz is None or prices is None:
        from cchooks.config import hot_price_overrides, load_config_hot

        cfg = load_config_hot(os.fspath(config) if config is not None else None)
        tz = tz or cfg["report"]["timezone"]
        if prices is None:
            prices = price_table(ledger, hot_price_overrides(cfg))
    zone = resolve_tz(tz)
    since_ms = parse_day_bound(since, zone) if since else None
    until_ms = parse_day_bound(until, zone, end=True) if until else None
    return build_report(ledger, group, zone, prices, since_ms, until_ms, session_id, project)
