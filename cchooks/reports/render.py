"""Render a Report as a terminal table, CSV or JSON."""

from __future__ import annotations

import io
import json
import os

from cchooks.reports.build import Report, ReportRow
from cchooks.totals import Totals


def compact(n: int) -> str:
    """12,345 -> 12.3K; exact below 10,000."""
    if n < 10_000:
        return f"{n:,}"
    for div, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if n >= div:
            return f"{n / div:.1f}{unit}" if n < div * 1000 else f"{n / div:,.0f}{unit}"
    return str(n)


def money(t: Totals) -> str:
    if t.cost_or_none is None:
        return "?"
    text = f"${t.cost_usd:,.2f}"
    return text + "+?" if t.unpriced_tokens else text


def _label(report: Report, row: ReportRow, width: int) -> str:
    key = row.key
    if report.group == "session":
        project = os.path.basename((row.project or "").rstrip("/")) or "-"
        key = f"{key[:8]} {project}"
    if row.by:  # team reports --by host|user: the host label or user first
        key = f"{key} {next(iter(row.by.values()))}"
    return key if len(key) <= width else key[: width - 1] + "…"


def render_table(report: Report, breakdown: bool = False, width: int | None = None) -> str:
    if width is None:
        try:
            width = os.get_terminal_size().columns
        except OSError:
            width = 80
    exact = width >= 120
    fmt = (lambda n: f"{n:,}") if exact else compact
    headers = [report.key_name.replace("_", " ").title(), "Input", "Output", "Cache W", "Cache R", "Total", "Cost"]
    body: list[list[str]] = []

    def cells(label: str, t: Totals) -> list[str]:
        est = "~" if t.estimated_responses else ""  # the output (and so cost) is a lower bound
        return [label, fmt(t.input_tokens), est + fmt(t.output_tokens), fmt(t.cache_creation_tokens),
                fmt(t.cache_read_tokens), est + fmt(t.total_tokens), est + money(t)]  # fmt: skip

    # Size the label column from what the numbers leave of the terminal width.
    numbers = [cells("", t)[1:] for t in [report.totals, *(r.totals for r in report.rows)]]
    numeric_width = sum(max(len(r[i]) for r in [headers[1:], *numbers]) + 2 for i in range(6))
    key_width = max(10, min(48, width - numeric_width - 1))
    for row in report.rows:
        body.append(cells(_label(report, row, key_width), row.totals))
        if breakdown and len(row.models) > 0:
            for model, t in sorted(row.models.items()):
                body.append(cells("  " + model[: key_width - 2], t))
    body.append(cells("Total", report.totals))
    widths = [max(len(r[i]) for r in [headers, *body]) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "  ".join(r[0].ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))

    out = [line(headers), "  ".join("─" * w for w in widths)]
    out += [line(r) for r in body[:-1]]
    out += ["  ".join("─" * w for w in widths), line(body[-1])]
    if report.unpriced_models:
        out.append("")
        out.append(
            "Cost unknown for: " + ", ".join(report.unpriced_models)
            + f" ({report.totals.unpriced_tokens:,} tokens, shown as ?). Add prices in the config file."
        )  # fmt: skip
    if report.totals.estimated_responses:
        out.append("")
        out.append(
            f"~ {report.totals.estimated_responses:,} response(s) whose final output count never reached a"
            " transcript (streaming lines only, no OTLP): their output is a lower bound."
        )
    if not report.rows:
        out = ["No usage in the ledger for this range."]
    return "\n".join(out)


def render_json(report: Report, breakdown: bool = False) -> str:
    objects = len(report.rows) + (sum(len(r.models) for r in report.rows) if breakdown else 0)
    return dumps_indented(report.to_json(breakdown), objects)


# Up to this many objects (report rows, breakdown entries, blocks) the json module's pure-Python
# indenting encoder (~0.03 ms an object) is done before msgspec would be imported (~15 ms);
# above it, msgspec's encoder (a year of daily rows with breakdowns: 6 ms against 68 ms).
SMALL_DOCUMENT = 400


def dumps_indented(doc: object, objects: int) -> str:
    """JSON indented by 2, non-ASCII as is; `objects` says how big `doc` is. Both encoders give the
    same values (msgspec writes 1e-05 as 0.00001)."""
    if objects > SMALL_DOCUMENT:
        try:
            import msgspec
        except ImportError:  # pragma: no cover - a dependency; the json module gives the same document
            pass
        else:
            return msgspec.json.format(msgspec.json.encode(doc), indent=2).decode()
    return json.dumps(doc, indent=2, ensure_ascii=False)


def render_csv(report: Report, breakdown: bool = False) -> str:
    import csv  # here: only --csv needs it

    buf = io.StringIO()
    by = list(report.rows[0].by or {}) if report.rows else []  # team reports --by host|user
    fields = [report.key_name, *by, "model", "responses", "input_tokens", "output_tokens", "cache_creation_tokens",
              "cache_creation_5m_tokens", "cache_creation_1h_tokens", "cache_read_tokens", "total_tokens",
              "cost_usd", "unpriced_tokens"]  # fmt: skip
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(fields)

    def emit(row: ReportRow, model: str, t: Totals) -> None:
        j = t.to_json()
        split = [(row.by or {}).get(k, "") for k in by]
        w.writerow([row.key, *split, model] + [j[f] if j[f] is not None else "" for f in fields[2 + len(by) :]])

    for row in report.rows:
        if breakdown:
            for model, t in sorted(row.models.items()):
                emit(row, model, t)
        else:
            emit(row, ";".join(sorted(row.models)), row.totals)
    return buf.getvalue()
