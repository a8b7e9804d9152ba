"""Queries behind `cchooks analyze`: sums by agent type, agent run, session and project, the
per-thread sequences the recommendations read, and OTLP's compaction calls.

Sums come back as `cchooks.ledger.sums` rows (key, model, long-context flag, unpriced Totals) for
the caller to price with `PriceTable.cost`. The agent type of a response is its `agent_type`
(from `attributionAgent`, the agent's `.meta.json` or a hook payload), else `main` for the main
thread and `subagent` for a subagent of unknown type: the same key as `report agent`.
"""

from __future__ import annotations

from cchooks.ledger.store import time_filter
from cchooks.ledger.sums import sums_by

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from cchooks.ledger.store import Ledger
    from cchooks.ledger.sums import SumRow, ThresholdOf

AGENT_KEY = "coalesce(agent_type, CASE WHEN agent_id IS NULL THEN 'main' ELSE 'subagent' END)"
SEP = "\x1f"
# An agent run: one subagent (its id) in one session, with its type.
RUN_KEY = f"agent_id || '{SEP}' || session_id || '{SEP}' || {AGENT_KEY}"
KEYS = {
    "agent": AGENT_KEY,
    "run": RUN_KEY,
    "session": "session_id",
    "project": "coalesce(project, project_dir, '')",
    "all": "''",
}


class Scope:
    """The responses an analysis covers: [since, until) and optionally one agent type."""

    __slots__ = ("since_ms", "until_ms", "agent")

    def __init__(
        self, since_ms: int | None = None, until_ms: int | None = None, agent: str | None = None
    ) -> None:
        self.since_ms = since_ms
        self.until_ms = until_ms
        self.agent = agent

    def where(self) -> tuple[str, list[object]]:
        where, params = time_filter(self.since_ms, self.until_ms)
        if self.agent:
            where.append(f"{AGENT_KEY} = ?")
            params.append(self.agent)
        return " AND ".join(where), params


def sums(ledger: Ledger, by: str, scope: Scope, threshold_of: ThresholdOf | None) -> list[SumRow]:
    """Unpriced sums per (`by` key, model, long-context flag); `by` is one of KEYS."""
    where, params = scope.where()
    if by == "run":
        where = f"({where}) AND agent_id IS NOT NULL" if where else "agent_id IS NOT NULL"
    return sums_by(ledger.conn, KEYS[by], where, params, threshold_of)


def counts_by_agent(ledger: Ledger, scope: Scope) -> dict[str, tuple[int, int]]:
    """Agent type -> (sessions, agent runs)."""
    where, params = scope.where()
    sql = (
        f"SELECT {AGENT_KEY} AS k, count(DISTINCT session_id), count(DISTINCT agent_id) FROM responses"
        f"{' WHERE ' + where if where else ''} GROUP BY k"
    )
    return {str(k): (int(s), int(a)) for k, s, a in ledger.conn.execute(sql, params)}


def sessions_of(ledger: Ledger, scope: Scope, by: str, key: str) -> list[str]:
    """Sessions holding responses of one agent type / project (`by` = agent | project)."""
    where, params = scope.where()
    clause = f"{KEYS[by]} = ?" + (f" AND {where}" if where else "")
    return [str(r[0]) for r in ledger.conn.execute(
        f"SELECT DISTINCT session_id FROM responses WHERE {clause}", [key, *params]
    )]  # fmt: skip


def thread_rows(ledger: Ledger, scope: Scope) -> Iterator[tuple[str, str, int, str, int, int, int, int]]:
    """(session, agent id or '', ts_ms, model, input, cache 5m, cache 1h, cache read) of every response,
    by thread (the main thread or one subagent of a session) in time order."""
    where, params = scope.where()
    sql = (
        "SELECT session_id, coalesce(agent_id, ''), ts_ms, model, input_tokens, cache_5m_tokens, cache_1h_tokens,"
        f" cache_read_tokens FROM responses{' WHERE ' + where if where else ''}"
        " ORDER BY session_id, coalesce(agent_id, ''), ts_ms, rkey"
    )
    for r in ledger.conn.execute(sql, params):
        yield (str(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7]))


def otlp_compactions(ledger: Ledger, scope: Scope) -> dict[str, list[tuple[str, int, int, int, int, int]]]:
    """Session -> the /compact summary calls OTLP saw (model, input, output, cache 5m, 1h, read)."""
    where, params = time_filter(scope.since_ms, scope.until_ms)
    clause = " AND ".join(["query_source = 'compact'", *where])
    out: dict[str, list[tuple[str, int, int, int, int, int]]] = {}
    for r in ledger.conn.execute(
        "SELECT session_id, model, input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens, cache_read_tokens"
        f" FROM otlp_api_requests WHERE {clause}",
        params,
    ):
        out.setdefault(str(r[0]), []).append(
            (str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]))
        )
    return out
