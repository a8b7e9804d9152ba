"""cchooks: exact token and dollar accounting for Claude Code.

The public Python API is re-exported from `cchooks.api`; importing this package is
cheap (the hook and statusline hot paths import submodules directly).
"""

from __future__ import annotations

__version__ = "0.1.0"

# Everything cchooks.api lists, plus the version; `import cchooks` stays cheap (lazy, below).
__all__ = [
    "__version__", "ConfigError", "Group", "IngestResult", "Ledger", "PriceTable", "Report", "ReportRow",
    "Totals", "UsageRecord", "ingest", "load_config", "open_ledger", "price_table", "report",
]  # fmt: skip

# `typing.TYPE_CHECKING` without importing typing, which costs several ms per hook and statusline
# run (mypy treats any name TYPE_CHECKING as True). The hot-path modules all do the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cchooks.api import Group, IngestResult, Report, ReportRow, ingest, open_ledger, price_table, report
    from cchooks.config import ConfigError, load_config
    from cchooks.ledger import Ledger
    from cchooks.pricing import PriceTable
    from cchooks.records import UsageRecord
    from cchooks.totals import Totals


def __getattr__(name: str) -> Any:
    # Lazy re-exports keep `import cchooks` free for the hot paths.
    if name in ("open_ledger", "ingest", "report", "price_table", "Report", "ReportRow", "Group", "IngestResult"):
        from cchooks import api

        return getattr(api, name)
    if name in ("ConfigError", "load_config"):
        from cchooks import config

        return getattr(config, name)
    if name == "PriceTable":
        from cchooks.pricing import PriceTable

        return PriceTable
    if name == "Totals":
        from cchooks.totals import Totals

        return Totals
    if name == "Ledger":
        from cchooks.ledger import Ledger

        return Ledger
    if name == "UsageRecord":
        from cchooks.records import UsageRecord

        return UsageRecord
    raise AttributeError(f"module 'cchooks' has no attribute {name!r}")
