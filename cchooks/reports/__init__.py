"""Reports: ledger aggregates priced at query time, ready to print or serialise."""

from cchooks.reports.build import Report, ReportRow, Totals, build_report

__all__ = ["Report", "ReportRow", "Totals", "build_report"]
