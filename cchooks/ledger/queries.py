"""Aggregate queries over the ledger, grouped by a period or a dimension.

Sums come back per (group key, model, long-context flag) so that cost can be computed
at query time with the right rate for each model and context tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from cchooks.ledger.schema import ROLLUP_BUCKET_MS
from cchooks.ledger.store import Ledger, time_filter
from cchooks.timezones import offset_sql

GROUPS = ("daily", "weekly", "monthly", "session", "project", "model", "agent", "total")
# Requests whose whole input side exceeds this are 1M-context requests (billed at the
# long rate for models that have one).
LONG_CONTEXT_TOKENS = 200_000


@dataclass(slots=True)
class GroupSums:
    key: str
    model: str
    long_context: bool
    responses: int
    input_tokens: int
    output_tokens: int
    cache_5m_tokens: int
    cache_1h_tokens: int
    cache_read_tokens: int
    web_search_requests: int
    first_ms: int
    last_ms: int
    otlp_cost_usd: float | None
    # responses whose output only pre-end streaming lines gave (no later line, no OTLP):
    # their output is a lower bound, shown with `~`
    estimated_responses: int = 0


ROLLUP_GROUPS = ("daily", "weekly", "monthly", "model", "total")


def _key_expr(group: str, tz: tzinfo, lo: int, hi: int, ts: str = "ts_ms") -> str:
    local = f"({ts} / 1000 + {offset_sql(tz, lo, hi, ts)})"
    if group == "daily":
        return f"date({local}, 'unixepoch')"
    if group == "weekly":
        # The Monday on or before the local day.
        return f"date({local}, 'unixepoch', '-6 days', 'weekday 1')"
    if group == "monthly":
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
) -> list[GroupSums]:
    aligned = all(b is None or b % ROLLUP_BUCKET_MS == 0 for b in (since_ms, until_ms))
    if group in ROLLUP_GROUPS and aligned and not session_id and not project and not ledger.rollup_stale():
        return _rollup_sums(ledger, group, tz, since_ms, until_ms)
    where, params = time_filter(since_ms, until_ms)
    if session_id:
        where.append("session_id = ?")
        params.append(session_id)
    if project:
        where.append("(project = ? OR project_dir = ?)")
        params.extend([project, project])
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    lo, hi = ledger.conn.execute(f"SELECT min(ts_ms), max(ts_ms) FROM responses{clause}", params).fetchone()
    if lo is None:
        return []
    key = _key_expr(group, tz, lo, hi)
    sql = (
        f"SELECT {key} AS k, model,"
        f" (input_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens) > {LONG_CONTEXT_TOKENS} AS lc,"
        " count(*), sum(input_tokens), sum(output_tokens), sum(cache_5m_tokens), sum(cache_1h_tokens),"
        " sum(cache_read_tokens), sum(web_search_requests), min(ts_ms), max(ts_ms), sum(otlp_cost_usd),"
        f" sum(partial) FROM responses{clause} GROUP BY k, model, lc ORDER BY k, model"
    )
    out = []
    for r in ledger.conn.execute(sql, params):
        n, inp, outp, c5, c1, cr, web, first, last = (int(x) for x in r[3:12])
        out.append(
            GroupSums(str(r[0]), str(r[1]), bool(r[2]), n, inp, outp, c5, c1, cr, web, first, last, r[12],
                      int(r[13] or 0))
        )  # fmt: skip
    return out


def _rollup_sums(
    ledger: Ledger, group: str, tz: tzinfo, since_ms: int | None, until_ms: int | None
) -> list[GroupSums]:
    """Period sums from the 15-minute rollup: exact for bounds on 15-minute steps."""
    where, params = [], []
    if since_ms is not None:
        where.append("bucket >= ?")
        params.append(since_ms // ROLLUP_BUCKET_MS)
    if until_ms is not None:
        where.append("bucket < ?")
        params.append(until_ms // ROLLUP_BUCKET_MS)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    lo, hi = ledger.conn.execute(
        f"SELECT min(bucket), max(bucket) FROM usage_rollup{clause}", params
    ).fetchone()
    if lo is None:
        return []
    ts = f"(bucket * {ROLLUP_BUCKET_MS})"
    key = _key_expr(group, tz, lo * ROLLUP_BUCKET_MS, hi * ROLLUP_BUCKET_MS, ts)
    sql = (
        f"SELECT {key} AS k, model, long_context, sum(responses), sum(input_tokens), sum(output_tokens),"
        " sum(cache_5m_tokens), sum(cache_1h_tokens), sum(cache_read_tokens), sum(web_search_requests),"
        f" min(bucket), max(bucket), sum(partial) FROM usage_rollup{clause} GROUP BY k, model, long_context"
        " HAVING sum(responses) > 0 ORDER BY k, model"
    )
    out = []
    for r in ledger.conn.execute(sql, params):
        n, inp, outp, c5, c1, cr, web, first, last = (int(x) for x in r[3:12])
        out.append(
            GroupSums(str(r[0]), str(r[1]), bool(r[2]), n, inp, outp, c5, c1, cr, web,
                      first * ROLLUP_BUCKET_MS, (last + 1) * ROLLUP_BUCKET_MS - 1, None, int(r[12] or 0))
        )  # fmt: skip
    return out


def session_projects(ledger: Ledger, session_ids: list[str]) -> dict[str, str]:
    """The project (cwd) of each session, for session reports."""
    out: dict[str, str] = {}
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
