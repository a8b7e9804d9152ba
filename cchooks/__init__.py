"""cchooks: exact token and dollar accounting for Claude Code.

The public Python API is re-exported from `cchooks.api`; importing this package is
cheap (the hook and statusline hot paths import submodules directly).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "Ledger", "UsageRecord", "open_ledger", "ingest", "report", "Report", "ReportRow"]

if TYPE_CHECKING:
    from cchooks.api import Report, ReportRow, ingest, open_ledger, report
    from cchooks.ledger import Ledger
    from cchooks.records import UsageRecord


def __getattr__(name: str) -> Any:
    # Lazy re-exports keep `import cchooks` free for the hot paths.
    if name in ("open_ledger", "ingest", "report", "Report", "ReportRow"):
        from cchooks import api

        return getattr(api, name)
    if name == "Ledger":
        from cchooks.ledger import Ledger

        return Ledger
    if name == "UsageRecord":
        from cchooks.records import UsageRecord

        return UsageRecord
    raise AttributeError(f"module 'cchooks' has no attribute {name!r}")
