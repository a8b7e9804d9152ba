"""Reading the team ledger: report sums, machines, window records. SQL for PostgreSQL only here.

Sums come back like the local ledger's (cchooks.ledger.queries): per group key, model and
long-context flag, unpriced, for `PriceTable.cost` to price. Period, model and total reports read
the rollup; a price entry whose long-context threshold is not the rollup's split, a session,
project or agent report, or bounds off the 15-minute grid read the responses themselves.
"""

from __future__ import annotations

from datetime import date, timedelta, tzinfo
from typing import Any

from cchooks.ledger.derived import ROLLUP_BUCKET_MS, ROLLUP_LONG_CONTEXT_SPLIT
from cchooks.records import UsageRecord
from cchooks.team.pg import SCHEMA as S
from cchooks.timezones import offset_sql
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    ThresholdOf = Callable[[str], int | None]

PERIODS = ("daily", "weekly", "monthly")
ROLLUP_GROUPS = (*PERIODS, "model", "total")
BY = {"host": "machine_id", "user": "user_name"}
_SUMS = ("input_tokens", "output_tokens", "cache_5m_tokens", "cache_1h_tokens", "cache_read_tokens",
         "web_search_requests")  # fmt: skip
_IN_SIDE = "(input_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens)"
_EPOCH = date(1970, 1, 1)


def _period_key(group: str, day: int) -> str:
    d = _EPOCH + timedelta(days=day)
    if group == "weekly":
        return (d - timedelta(days=d.weekday())).isoformat()
    if group == "monthly":
        return d.strftime("%Y-%m")
    return d.isoformat()


def team_sums(
    conn: Any,
    group: str,
    tz: tzinfo,
    since_ms: int | None = None,
    until_ms: int | None = None,
    threshold_of: ThresholdOf | None = None,
    by: str | None = None,
) -> list[tuple[Any, str, bool, Totals]]:
    """(key, model, long-context flag, Totals); with `by` the key is (group key, machine id or user)."""
    if by is not None and by not in BY:
        raise ValueError(f"--by must be one of {', '.join(BY)}")
    aligned = all(b is None or b % ROLLUP_BUCKET_MS == 0 for b in (since_ms, until_ms))
    rollup = group in ROLLUP_GROUPS and aligned
    where: list[str] = []
    params: list[object] = []
    if rollup:
        if since_ms is not None:
            where.append("bucket >= %s")
            params.append(since_ms // ROLLUP_BUCKET_MS)
        if until_ms is not None:
            where.append("bucket < %s")
            params.append(until_ms // ROLLUP_BUCKET_MS)
        where.append("responses > 0")
        # Without a split by machine or user the machine-less rollup holds the same sums in fewer rows.
        table, ts = f"{S}.rollup" if by else f"{S}.rollup_team", f"(bucket * {ROLLUP_BUCKET_MS})"
        models = [str(r[0]) for r in conn.execute(
            f"SELECT DISTINCT model FROM {table} WHERE {' AND '.join(where)}", params)]  # fmt: skip
        if threshold_of is not None and any(threshold_of(m) not in (None, ROLLUP_LONG_CONTEXT_SPLIT) for m in models):
            rollup = False
    if not rollup:
        where, params = ["NOT deleted"], []
        if since_ms is not None:
            where.append("ts_ms >= %s")
            params.append(since_ms)
        if until_ms is not None:
            where.append("ts_ms < %s")
            params.append(until_ms)
        table, ts = f"{S}.responses", "ts_ms"
        models = [str(r[0]) for r in conn.execute(
            f"SELECT DISTINCT model FROM {table} WHERE {' AND '.join(where)}", params)]  # fmt: skip
    clause = " AND ".join(where)
    if not models:
        conn.rollback()
        return []
    if group in PERIODS:
        lo, hi = conn.execute(f"SELECT min({ts}), max({ts}) FROM {table} WHERE {clause}", params).fetchone()
        key = f"(({ts} / 1000 + {offset_sql(tz, int(lo), int(hi), ts)}) / 86400)"
    elif group == "model":
        key = "model"
    elif group == "total":
        key = "'total'"
    elif group == "session":
        key = "session_id"
    elif group == "project":
        key = "coalesce(project, '')"
    elif group == "agent":
        key = "coalesce(agent_type, CASE WHEN agent_id IS NULL THEN 'main' ELSE 'subagent' END)"
    else:
        raise ValueError(f"report {group} is not available for the team ledger")
    split = BY[by] if by else "''"
    if rollup:
        lc = "long_context"
        sums = f"sum(responses), {', '.join(f'sum({c})' for c in _SUMS)}, min(first_ms), max(last_ms)"
        lc_params: list[object] = []
    else:
        cases = {m: threshold_of(m) for m in models} if threshold_of is not None else {}
        cases = {m: t for m, t in cases.items() if t is not None}
        if cases:
            lc = f"coalesce({_IN_SIDE} > CASE model {' '.join('WHEN %s THEN %s' for _ in cases)} END, false)"
            lc_params = [x for m, t in cases.items() for x in (m, t)]
        else:
            lc, lc_params = "false", []
        sums = f"count(*), {', '.join(f'sum({c})' for c in _SUMS)}, min(ts_ms), max(ts_ms)"
    rows = conn.execute(
        f"SELECT {key} AS k, {split} AS s, model, {lc} AS lc, {sums} FROM {table} WHERE {clause}"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        [*lc_params, *params],
    ).fetchall()
    conn.rollback()
    out: list[tuple[Any, str, bool, Totals]] = []
    for r in rows:
        k = _period_key(group, int(r[0])) if group in PERIODS else str(r[0])
        model = str(r[2])
        flag = bool(r[3]) and threshold_of is not None and threshold_of(model) is not None
        n, inp, outp, c5, c1, cr, web = (int(x) for x in r[4:11])
        t = Totals(n, inp, outp, c5, c1, cr, web, first_ms=int(r[11]), last_ms=int(r[12]), models=[model])
        out.append(((k, str(r[1])) if by else k, model, flag, t))
    return out


def machines(conn: Any) -> list[dict[str, Any]]:
    """Every machine that synced: id, label, user, first/last seen, and its responses and tokens."""
    sums = ", ".join(f"coalesce(sum(r.{c}), 0)::bigint" for c in _SUMS)
    rows = conn.execute(
        f"SELECT m.machine_id, m.label, m.user_name, m.first_seen_ms, m.last_seen_ms, m.last_push_ms,"
        f" m.cchooks_version, coalesce(sum(r.responses), 0)::bigint, {sums}, max(r.last_ms)"
        f" FROM {S}.machines m LEFT JOIN {S}.rollup r ON r.machine_id = m.machine_id AND r.responses > 0"
        " GROUP BY m.machine_id ORDER BY m.label, m.machine_id"
    ).fetchall()
    conn.rollback()
    return [
        {"machine_id": r[0], "label": r[1], "user": r[2], "first_seen_ms": r[3], "last_seen_ms": r[4],
         "last_push_ms": r[5], "cchooks_version": r[6],
         "totals": _totals(r[7:14], r[14])}
        for r in rows
    ]  # fmt: skip


def _totals(sums: Any, last_ms: Any) -> Totals:
    n, inp, outp, c5, c1, cr, web = (int(x) for x in sums)
    return Totals(n, inp, outp, c5, c1, cr, web, last_ms=None if last_ms is None else int(last_ms))


def labels(conn: Any) -> dict[str, str]:
    rows = conn.execute(f"SELECT machine_id, label FROM {S}.machines").fetchall()
    conn.rollback()
    return {str(a): str(b) for a, b in rows}


def window_records(conn: Any, since_ms: int) -> list[UsageRecord]:
    """Every team response since `since_ms`, as records for the window views (limits --team)."""
    rows = conn.execute(
        f"SELECT message_id, request_id, session_id, ts_ms, model, {', '.join(_SUMS)}, agent_id, agent_type,"
        f" machine_id FROM {S}.responses WHERE bucket >= %s AND ts_ms >= %s AND NOT deleted"
        " ORDER BY ts_ms, rkey",
        (since_ms // ROLLUP_BUCKET_MS, since_ms),
    ).fetchall()
    conn.rollback()
    return [
        UsageRecord(
            message_id=r[0], request_id=r[1], session_id=r[2], timestamp_ms=int(r[3]), model=r[4],
            input_tokens=int(r[5]), output_tokens=int(r[6]), cache_creation_5m_tokens=int(r[7]),
            cache_creation_1h_tokens=int(r[8]), cache_read_tokens=int(r[9]), web_search_requests=int(r[10]),
            agent_id=r[11], agent_type=r[12], host=r[13],
        )  # fmt: skip
        for r in rows
    ]
