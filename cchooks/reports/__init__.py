"""Reports: ledger aggregates priced at query time, ready to print or serialise."""

from cchooks.reports.build import Report, ReportRow, build_report
from cchooks.totals import Totals

__all__ = ["Report", "ReportRow", "Totals", "build_report"]
