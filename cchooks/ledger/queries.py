"""Aggregate queries over the ledger, grouped by a period or a dimension.

Sums come back per (group key, model, long-context flag) as unpriced `cchooks.totals.Totals`,
so that cost is computed at query time by `PriceTable.cost` with the right rate for each
model and context tier.
"""

from __future__ import annotations

from datetime import tzinfo

from cchooks.ledger.derived import ROLLED_SUMS, ROLLUP_BUCKET_MS, ROLLUP_VIEW
from cchooks.ledger.driver import sqlite3
from cchooks.ledger.store import Ledger, time_filter
from cchooks.ledger.sums import period_rollups, rolled_rows, rollup_split_fits, sums_by
from cchooks.timezones import offset_case, offset_sql, on_the_hour, transitions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.ledger.sums import SumRow, ThresholdOf

GROUPS = ("daily", "weekly", "monthly", "session", "project", "model", "agent", "total")

PERIOD_GROUPS = ("daily", "weekly", "monthly")
ROLLUP_GROUPS = (*PERIOD_GROUPS, "model", "total")
# Groups the per-session rollup (usage_dims) answers when no time bounds are given.
DIM_GROUPS = {"session": "session_id", "project": "project", "agent": "agent"}


def _key_expr(group: str, tz: tzinfo, lo: int, hi: int, ts: str = "ts_ms", offset: str | None = None) -> str:
    """The group's key of a row at `ts`; `offset`: the zone's offset SQL, if already made."""
    if group in PERIOD_GROUPS:
        local = f"({ts} / 1000 + {offset if offset is not None else offset_sql(tz, lo, hi, ts)})"
        if group == "daily":
            return f"date({local}, 'unixepoch')"
        if group == "weekly":
            # The Monday on or before the local day.
            return f"date({local}, 'unixepoch', '-6 days', 'weekday 1')"
        return f"strftime('%Y-%m', {local}, 'unixepoch')"
    if group == "session":
        return "session_id"
    if group == "project":
        return "coalesce(project, project_dir, '')"
    if group == "model":
        return "model"
    if group == "agent":
        return "coalesce(agent_type, CASE WHEN agent_id IS NULL THEN 'main' ELSE 'subagent' END)"
    if group == "total":
        return "'total'"
    raise ValueError(f"unknown group {group!r}; one of {', '.join(GROUPS)}")


def group_sums(
    ledger: Ledger,
    group: str,
    tz: tzinfo,
    since_ms: int | None = None,
    until_ms: int | None = None,
    session_id: str | None = None,
    project: str | None = None,
    threshold_of: ThresholdOf | None = None,
) -> list[SumRow]:
    """(group key, model, long-context flag, unpriced Totals) for each group and model.

    `threshold_of(model)` is the price entry's long-context threshold (see cchooks.ledger.sums).
    """
    if group in ROLLUP_GROUPS and not session_id and not project and not ledger.rollup_stale():
        rollups = period_rollups(ledger, since_ms, until_ms)
        rolled = _rollup_sums(ledger, rollups, group, tz, since_ms, until_ms, threshold_of) if rollups else None
        if rolled is not None:
            return rolled
    if (
        group in DIM_GROUPS and since_ms is None and until_ms is None and not project
        and not ledger.rollup_stale()
    ):
        dims = _dim_sums(ledger, DIM_GROUPS[group], session_id, threshold_of)
        if dims is not None:
            return dims
    where, params = time_filter(since_ms, until_ms)
    if session_id:
        where.append("session_id = ?")
        params.append(session_id)
    if project:
        where.append("(project = ? OR project_dir = ?)")
        params.extend([project, project])
    clause = " AND ".join(where)
    source = f"FROM responses{' WHERE ' + clause if clause else ''}"
    if project:  # no index serves the filter: one scan for both
        lo, hi = ledger.conn.execute(f"SELECT min(ts_ms), max(ts_ms) {source}", params).fetchone()
    else:  # a lone min() or max() is one probe of responses_ts or responses_session; both together, a scan
        lo = ledger.conn.execute(f"SELECT min(ts_ms) {source}", params).fetchone()[0]
        hi = ledger.conn.execute(f"SELECT max(ts_ms) {source}", params).fetchone()[0]
    if lo is None:
        return []
    return sums_by(ledger.conn, _key_expr(group, tz, lo, hi), clause, params, threshold_of)


def _rollup_sums(
    ledger: Ledger,
    rollups: list[tuple[str, int]],
    group: str,
    tz: tzinfo,
    since_ms: int | None,
    until_ms: int | None,
    threshold_of: ThresholdOf | None,
) -> list[SumRow] | None:
    """Period sums from one of `rollups` (`period_rollups`: those whose grid holds the bounds).
    The hourly rollup answers where it fits the bounds and, for days, weeks and months, the
    zone's offsets over the period are whole hours that change on the hour; else the 15-minute one.

    None when some model's price entry has a long-context threshold other than the rollup's
    split: then only the responses themselves can be split right.
    """
    if threshold_of is not None and not rollup_split_fits(ledger.conn, threshold_of):
        return None
    table, step = rollups[0]
    span = _bucket_span(ledger, table, step, since_ms, until_ms)
    if span is None:
        return []
    clause, params, lo, hi = span
    offset = None
    if group in PERIOD_GROUPS:
        # To the end of the last bucket: a change inside it must be seen to be off the hour.
        steps = transitions(tz, lo * step, (hi + 1) * step - 1)
        if len(rollups) > 1 and not on_the_hour(steps):  # 30- or 45-minute offsets: the 15-minute rollup
            table, step = rollups[1]
            span = _bucket_span(ledger, table, step, since_ms, until_ms)
            if span is None:
                return []
            clause, params, lo, hi = span
            steps = transitions(tz, lo * step, (hi + 1) * step - 1)
        offset = offset_case(steps, f"(bucket * {step})")
    key = _key_expr(group, tz, lo * step, hi * step, f"(bucket * {step})", offset)
    sql = (
        f"SELECT {key} AS k, model, long_context, {ROLLED_SUMS} FROM {table}{clause}"
        " GROUP BY k, model, long_context HAVING sum(responses) > 0 ORDER BY k, model"
    )
    return rolled_rows(ledger.conn.execute(sql, params), threshold_of)


def _bucket_span(
    ledger: Ledger, table: str, step: int, since_ms: int | None, until_ms: int | None
) -> tuple[str, list[int], int, int] | None:
    """The WHERE clause and parameters of a rollup's buckets in [since, until) (bounds on its
    step), and its first and last filled bucket (None: no bucket)."""
    where, params = [], []
    if since_ms is not None:
        where.append("bucket >= ?")
        params.append(since_ms // step)
    if until_ms is not None:
        where.append("bucket < ?")
        params.append(until_ms // step)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    # Two statements: SQLite answers a lone min() or max() from the primary key, both in one by a scan.
    lo = ledger.conn.execute(f"SELECT min(bucket) FROM {table}{clause}", params).fetchone()[0]
    if lo is None:
        return None
    hi = ledger.conn.execute(f"SELECT max(bucket) FROM {table}{clause}", params).fetchone()[0]
    return clause, params, int(lo), int(hi)


def _dim_sums(
    ledger: Ledger, column: str, session_id: str | None, threshold_of: ThresholdOf | None
) -> list[SumRow] | None:
    """Session, project or agent sums from usage_dims; None where only the responses can answer
    (a price entry with another long-context threshold, or a ledger from before migration 9)."""
    clause, params = (" WHERE session_id = ?", [session_id]) if session_id else ("", [])
    try:
        if threshold_of is not None and not rollup_split_fits(ledger.conn, threshold_of):
            return None
        rows = ledger.conn.execute(
            f"SELECT {column} AS k, model, long_context, {ROLLED_SUMS} FROM usage_dims{clause}"
            " GROUP BY k, model, long_context HAVING sum(responses) > 0 ORDER BY k, model",
            params,
        ).fetchall()
    except sqlite3.OperationalError:  # no usage_dims: an older ledger opened read-only
        return None
    out = rolled_rows(rows, threshold_of)
    if any(lc for *_x, lc, _t in out):
        # Rows of one key and model on both sides of the split, adjacent as _rollup_sums gives them.
        out.sort(key=lambda x: (x[0], x[1], x[2]))
    return out


def bucket_sums(
    ledger: Ledger, since_ms: int | None, until_ms: int | None, threshold_of: ThresholdOf
) -> list[tuple[int, int, str, bool, tuple[int, ...]]] | None:
    """(first_ms, last_ms, model, long_context, (responses, input, output, cache 5m, cache 1h,
    cache read, web searches)) per 15-minute bucket, model and side, by first response; None
    where only the responses can answer (bounds off the 15-minute grid, a stale rollup, a price
    entry with another long-context threshold)."""
    if any(b is not None and b % ROLLUP_BUCKET_MS for b in (since_ms, until_ms)) or ledger.rollup_stale():
        return None
    where, params = ["responses > 0"], []
    if since_ms is not None:
        where.append("bucket >= ?")
        params.append(since_ms // ROLLUP_BUCKET_MS)
    if until_ms is not None:
        where.append("bucket < ?")
        params.append(until_ms // ROLLUP_BUCKET_MS)
    clause = " WHERE " + " AND ".join(where)
    if not rollup_split_fits(ledger.conn, threshold_of):
        return None
    out: list[tuple[int, int, str, bool, tuple[int, ...]]] = []
    for r in ledger.conn.execute(
        "SELECT first_ms, last_ms, model, long_context, responses, input_tokens, output_tokens, cache_5m_tokens,"
        f" cache_1h_tokens, cache_read_tokens, web_search_requests FROM {ROLLUP_VIEW}{clause}"
        " ORDER BY first_ms, model, long_context",
        params,
    ):
        model = str(r[2])
        lc = bool(r[3]) and threshold_of(model) is not None
        out.append((int(r[0]), int(r[1]), model, lc, tuple(int(x) for x in r[4:])))
    return out


def session_projects(ledger: Ledger, session_ids: list[str]) -> dict[str, str]:
    """The project (cwd) of each session, for session reports."""
    out: dict[str, str] = {}
    if not ledger.rollup_stale():
        try:
            for sid, proj in ledger.conn.execute("SELECT session_id, max(project) FROM usage_dims GROUP BY 1"):
                out[str(sid)] = str(proj)
            return {s: out[s] for s in session_ids if s in out}
        except sqlite3.OperationalError:  # no usage_dims: an older ledger opened read-only
            out = {}
    for i in range(0, len(session_ids), 500):
        part = session_ids[i : i + 500]
        marks = ",".join("?" * len(part))
        for sid, proj in ledger.conn.execute(
            f"SELECT session_id, max(coalesce(project, project_dir, '')) FROM responses"
            f" WHERE session_id IN ({marks}) GROUP BY session_id",
            part,
        ):
            out[str(sid)] = str(proj)
    return out
