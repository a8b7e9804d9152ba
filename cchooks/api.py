"""The public Python API: open a ledger, ingest, query reports, iterate records.

    import cchooks
    with cchooks.open_ledger() as ledger:
        cchooks.ingest(ledger)
        daily = cchooks.report(ledger, "daily", tz="Europe/Berlin")
        for row in daily.rows:
            print(row.key, row.totals.total_tokens, row.totals.cost_usd)

Keep this small and stable: other tools import it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

from cchooks.ledger.ingest import IngestResult, ingest_config_dirs, ingest_session
from cchooks.ledger.store import Ledger
from cchooks.pricing import PriceTable, load_price_table
from cchooks.records import UsageRecord
from cchooks.reports.build import Report, ReportRow, build_report
from cchooks.timezones import parse_day_bound, resolve_tz
from cchooks.totals import Totals

# The groups a report can take (`cchooks report <group>`; "blocks" is `cchooks.windows`).
Group = Literal["daily", "weekly", "monthly", "session", "project", "model", "agent", "total"]

__all__ = [
    "Group",
    "IngestResult",
    "Ledger",
    "Report",
    "ReportRow",
    "Totals",
    "UsageRecord",
    "ingest",
    "open_ledger",
    "price_table",
    "report",
]


def open_ledger(path: str | os.PathLike[str] | None = None) -> Ledger:
    """Open (creating and migrating if needed) the ledger at `path`, else the default one.

    The default is `$CCHOOKS_LEDGER`, else `ledger.sqlite3` in the user data dir.
    """
    return Ledger.open(path)


def ingest(
    ledger: Ledger,
    claude_dir: str | os.PathLike[str] | None = None,
    *,
    transcript_path: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Read new transcript bytes into the ledger.

    With `transcript_path`, only that session (and its subagents); otherwise every
    transcript of every Claude config dir (`claude_dir` overrides discovery).
    """
    if transcript_path is not None:
        return ingest_session(ledger, transcript_path)
    return ingest_config_dirs(ledger, claude_dir, progress)


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


def report(
    ledger: Ledger,
    group: Group = "daily",
    *,
    tz: str | None = None,
    since: str | None = None,
    until: str | None = None,
    session_id: str | None = None,
    project: str | None = None,
    prices: PriceTable | None = None,
    config: str | os.PathLike[str] | None = None,
) -> Report:
    """Aggregate the ledger by `group` (daily, weekly, monthly, session, project, model, agent, total).

    `since`/`until` are local dates (YYYY-MM-DD, inclusive) or ISO timestamps; day boundaries
    are in `tz` (IANA name), else the config file's `[report] timezone`, else the machine's zone.
    The config file (`config`, else the default location) also gives the price overrides;
    an invalid one raises ConfigError, exactly as every command reports it.
    """
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
