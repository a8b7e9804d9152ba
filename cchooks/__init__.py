"""cchooks: exact token and dollar accounting for Claude Code.

The public Python API is re-exported from `cchooks.api`; importing this package is
cheap (the hook and statusline hot paths import submodules directly).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "Ledger", "UsageRecord", "open_ledger", "ingest", "report", "Report", "ReportRow"]

# `typing.TYPE_CHECKING` without importing typing, which costs several ms per hook and statusline
# run (mypy treats any name TYPE_CHECKING as True). The hot-path modules all do the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
