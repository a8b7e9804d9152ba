"""The ledger queries behind `/metrics` (cchooks.server.metrics): whole-ledger sums, no time range.

Every figure here is a sum over rows the ledger only adds or completes, which is what makes the
exported counters monotonic:
- `response_sums`: every response once, per (source column, model, long-context flag), one scan;
- `extra_source_sums`: record tables other than `responses` (manual entries, imports), one query each;
- `project_sums`: per project, for the opt-in project label;
- `otlp_metric_sums`: Claude Code's own metrics, the sum of each stored OTLP point's `delta`;
- `ledger_sessions`, `ledger_times`: distinct sessions and freshness.
"""

from __future__ import annotations

import sqlite3

from cchooks.ledger.derived import ROLLUP_LONG_CONTEXT_SPLIT
from cchooks.ledger.store import Ledger
from cchooks.ledger.sums import sums_by
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from cchooks.ledger.sums import SumRow, ThresholdOf

    ExtraSource = Callable[[Ledger, ThresholdOf | None], list[SumRow]]

# The witnesses a `responses.source` value stands for: 'both' is a response the transcript and
# OTLP both saw. Any other value (a future 'manual' or 'imported' row) stands for itself.
WITNESSES = {"both": ("transcript", "otlp")}
ALWAYS_SOURCES = ("transcript", "otlp")


def witnesses(source: str) -> tuple[str, ...]:
    return WITNESSES.get(source, (source,))


def response_sums(ledger: Ledger, threshold_of: ThresholdOf | None) -> list[SumRow]:
    """(source, model, long-context flag, unpriced Totals) over every response.

    Read from `source_totals` (a few rows, kept by triggers); the responses themselves are summed
    only when that table is being rebuilt or some model's price entry has a long-context
    threshold other than the one the table splits at (as for the rollup, cchooks.ledger.queries).
    """
    rows: list[SumRow] = []
    try:
        stale = ledger.rollup_stale()
        found = [] if stale else ledger.conn.execute(
            "SELECT source, model, long_context, responses, input_tokens, output_tokens, cache_5m_tokens,"
            " cache_1h_tokens, cache_read_tokens, web_search_requests FROM source_totals"
            " WHERE responses > 0 ORDER BY source, model, long_context"
        ).fetchall()  # fmt: skip
    except sqlite3.OperationalError:  # an older ledger opened read-only, before the table
        stale, found = True, []
    if not stale:
        for r in found:
            model = str(r[1])
            t = threshold_of(model) if threshold_of is not None else None
            if t not in (None, ROLLUP_LONG_CONTEXT_SPLIT):
                break
            n, inp, out, c5, c1, cr, web = (int(x) for x in r[3:])
            rows.append(
                (
                    str(r[0]),
                    model,
                    bool(r[2]) and t is not None,
                    Totals(n, inp, out, c5, c1, cr, web, models=[model]),
                )
            )
        else:
            return rows
    return sums_by(ledger.conn, "source", "", (), threshold_of)


# Record tables other than `responses` (manual entries, say) register here: their name (the
# `source` label) -> a query giving SumRows keyed by that name. One query each; a missing table
# (an older ledger opened read-only) gives no rows. Only tables whose sums never fall belong here
# (their rows are added, or replaced by more complete copies): these sums become counters. Figures
# that can be replaced by smaller ones or superseded when looked at (`cchooks import`'s
# imported_usage) are gauges, not counters.
EXTRA_SOURCES: dict[str, ExtraSource] = {}


def extra_source_sums(ledger: Ledger, threshold_of: ThresholdOf | None) -> list[SumRow]:
    out: list[SumRow] = []
    for query in EXTRA_SOURCES.values():
        try:
            out.extend(query(ledger, threshold_of))
        except sqlite3.OperationalError:
            continue
    return out


PROJECT_KEY = "coalesce(project, project_dir, '')"


def project_sums(ledger: Ledger, threshold_of: ThresholdOf | None) -> list[SumRow]:
    """(project, model, long-context flag, unpriced Totals) per project."""
    return sums_by(ledger.conn, PROJECT_KEY, "", (), threshold_of)


def project_order(ledger: Ledger) -> list[str]:
    """Projects in the order the ledger first stored them (their first row). Rows only get later
    rowids, so a capped label keeps the projects it chose: no series moves into "other"."""
    return [
        str(p)
        for (p, _first) in ledger.conn.execute(
            f"SELECT {PROJECT_KEY} AS p, min(rowid) AS first FROM responses GROUP BY p ORDER BY first"
        )
    ]


def otlp_metric_sums(
    ledger: Ledger, metric: str, attributes: Sequence[str]
) -> list[tuple[tuple[str, ...], float, int]]:
    """(attribute values, sum of delta, first point id) per distinct attribute values of one
    OTLP sum metric. Each stored point is one export of one series, stored once (a retried export
    is deduplicated), and its `delta` is what it adds, so the sum is right however many Claude
    Code processes exported. A missing attribute is ''."""
    cols = "".join(f", coalesce(json_extract(attributes, ?), '') AS a{i}" for i in range(len(attributes)))
    group = "".join(f", a{i}" for i in range(len(attributes)))
    sql = (
        f"SELECT sum(delta), min(id){cols} FROM otlp_points WHERE metric = ? AND delta IS NOT NULL"
        f" GROUP BY metric{group}"
    )
    params = [f'$."{a}"' for a in attributes] + [metric]
    try:
        rows = ledger.conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # an older ledger opened read-only, before the OTLP tables
        return []
    return [(tuple(str(v) for v in r[2:]), float(r[0]), int(r[1])) for r in rows]


def ledger_sessions(ledger: Ledger) -> int:
    """Distinct sessions with at least one response (walks the session index, not the rows)."""
    return int(ledger.conn.execute("SELECT count(DISTINCT session_id) FROM responses").fetchone()[0])


def newest_response_ms(ledger: Ledger) -> int | None:
    value = ledger.conn.execute("SELECT max(ts_ms) FROM responses").fetchone()[0]
    return None if value is None else int(value)
