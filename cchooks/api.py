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
from typing import Literal

from cchooks.ledger.ingest import IngestResult, ingest_config_dirs, ingest_session
from cchooks.ledger.store import Ledger
from cchooks.pricing import PriceTable
from cchooks.records import UsageRecord
from cchooks.reports.build import Report, ReportRow
from cchooks.reports.make import make_report, price_table
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
    return make_report(
        ledger, group, tz=tz, since=since, until=until, session_id=session_id, project=project,
        prices=prices, config=config,
    )  # fmt: skip
