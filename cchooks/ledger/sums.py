"""Token sums over responses, split by the long-context rule of each model's price entry.

The ledger knows nothing of prices: callers pass `threshold_of(model)`, the input-side token
count above which a request of that model is a long-context one (None: the model has no long
rates), taken from `cchooks.pricing.PriceTable.long_context_threshold`. Sums come back per
(group key, model, long-context flag) as unpriced `Totals`, for the caller to price with
`PriceTable.cost(..., long_context=flag)`.

One query does it in the usual case: each group's largest input side tells whether any of its
requests crosses its model's threshold, and only then is that model summed again, split.
Light imports only: the statusline and hooks use this.
"""

from __future__ import annotations

from cchooks.ledger.derived import (
    HOUR_TABLE,
    INPUT_SIDE,
    ROLLUP_BUCKET_MS,
    ROLLUP_HOUR_MS,
    ROLLUP_LONG_CONTEXT_SPLIT,
    ROLLUP_VIEW,
)
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Iterable, Sequence

    from cchooks.ledger.store import Ledger

    ThresholdOf = Callable[[str], int | None]
    SumRow = tuple[str, str, bool, Totals]

_SUMS = (
    "count(*), sum(input_tokens), sum(output_tokens), sum(cache_5m_tokens), sum(cache_1h_tokens),"
    " sum(cache_read_tokens), sum(web_search_requests), min(ts_ms), max(ts_ms), sum(partial)"
)


def totals_of(model: str, row: Sequence[object]) -> Totals:
    """Unpriced Totals from the ten `_SUMS` columns (the last: estimated responses)."""
    n, inp, outp, c5, c1, cr, web, first, last, est = (int(x or 0) for x in row)  # type: ignore[call-overload]
    t = Totals(n, inp, outp, c5, c1, cr, web, first_ms=first, last_ms=last, models=[model], estimated_responses=est)
    return t


def sums_by(
    conn: sqlite3.Connection,
    key_expr: str,
    where: str,
    params: Sequence[object],
    threshold_of: ThresholdOf | None,
) -> list[SumRow]:
    """(key, model, long_context, Totals) per group of `responses` rows matching `where`."""
    clause = f" WHERE {where}" if where else ""
    rows = conn.execute(
        f"SELECT {key_expr} AS k, model, max({INPUT_SIDE}), {_SUMS} FROM responses{clause}"
        " GROUP BY k, model ORDER BY k, model",
        tuple(params),
    ).fetchall()
    split: dict[str, int] = {}
    for r in rows:
        model = str(r[1])
        t = threshold_of(model) if threshold_of is not None else None
        if t is not None and int(r[2]) > t:
            split[model] = t
    out: list[SumRow] = [
        (str(r[0]), str(r[1]), False, totals_of(str(r[1]), r[3:])) for r in rows if str(r[1]) not in split
    ]
    if split:
        # Only the models some request of which is long-context are summed again, split.
        case = "CASE model " + " ".join("WHEN ? THEN ?" for _ in split) + " END"
        case_params: list[object] = [x for m, t in split.items() for x in (m, t)]
        marks = ",".join("?" * len(split))
        more = f"({where}) AND " if where else ""
        for r in conn.execute(
            f"SELECT {key_expr} AS k, model, {INPUT_SIDE} > {case} AS lc, {_SUMS} FROM responses"
            f" WHERE {more}model IN ({marks}) GROUP BY k, model, lc",
            (*case_params, *params, *split),
        ):
            out.append((str(r[0]), str(r[1]), bool(r[2]), totals_of(str(r[1]), r[3:])))
        out.sort(key=lambda x: (x[0], x[1], x[2]))
    return out


def rolled_rows(rows: Iterable[Sequence[object]], threshold_of: ThresholdOf | None) -> list[SumRow]:
    """SumRows from rollup rows (key, model, long_context, then the ten ROLLED_SUMS). The rollup
    splits at ROLLUP_LONG_CONTEXT_SPLIT; a model without long rates is billed alike on both sides,
    so its two rows of a key become one, as `sums_by` gives it (priced once, on the same sums)."""
    out: list[SumRow] = []
    short: dict[tuple[str, str], Totals] = {}
    for r in rows:
        key, model = str(r[0]), str(r[1])
        lc = bool(r[2]) and threshold_of is not None and threshold_of(model) is not None
        t = totals_of(model, r[3:])
        if not lc:
            seen = short.get((key, model))
            if seen is not None:
                seen.merge(t)
                continue
            short[(key, model)] = t
        out.append((key, model, lc, t))
    return out


def rollup_split_fits(conn: sqlite3.Connection, threshold_of: ThresholdOf) -> bool:
    """Whether the rollups' long-context split is every stored model's price threshold (or it has
    none). The models come from `source_totals` (a handful of rows, every model in the ledger: a
    superset of any period's, so a misfit anywhere sends a query to the responses, which is exact
    but slower); a DISTINCT over a year's rollup is a scan of tens of thousands of rows."""
    from cchooks.ledger.driver import sqlite3 as driver

    try:
        models = conn.execute("SELECT DISTINCT model FROM source_totals").fetchall()
    except driver.OperationalError:  # no source_totals: an older ledger opened read-only
        models = conn.execute("SELECT DISTINCT model FROM usage_rollup").fetchall()
    return all(threshold_of(str(m)) in (None, ROLLUP_LONG_CONTEXT_SPLIT) for (m,) in models)


def period_rollups(ledger: Ledger, since_ms: int | None, until_ms: int | None) -> list[tuple[str, int]]:
    """The period rollups (table, bucket ms) whose grid holds both bounds (None: open), the
    hourly one first; both sum the same responses. An older ledger opened read-only (not
    migrated) has no hourly rollup; its 15-minute one keeps the old name, which is the one read."""
    out = [
        (table, step)
        for table, step in ((HOUR_TABLE, ROLLUP_HOUR_MS), (ROLLUP_VIEW, ROLLUP_BUCKET_MS))
        if (since_ms is None or since_ms % step == 0) and (until_ms is None or until_ms % step == 0)
    ]
    if out and out[0][0] == HOUR_TABLE and ledger.readonly:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        if ledger.conn.execute(sql, (HOUR_TABLE,)).fetchone() is None:
            out.pop(0)
    return out
