"""The tables derived from `responses`, and how they are kept exact.

- `rollup_15m` (15-minute buckets x model x long-context side), `rollup_1h` (the same by the
  hour) and `usage_dims` (session x project x agent x model x side) answer the period and the
  session/project/agent reports;
- `source_totals` (source x model x side) answers /metrics;
- each connection that writes keeps them exact with TEMP triggers (ROLLUP_TRIGGERS); a bulk
  backfill drops them and the secondary indexes of `responses` and rebuilds everything once
  (REBUILD_ROLLUP, RESPONSE_INDEXES; `cchooks.ledger.bulk_load`).

The migrations that create these tables are in `cchooks.ledger.schema`.
"""

from __future__ import annotations

# Every UTC offset in use is a whole number of 15-minute steps, so 15-minute UTC buckets
# group exactly into local days, weeks and months in any zone.
ROLLUP_BUCKET_MS = 900_000
# Hours do for zones whose offsets are whole hours and change on the hour (most of them), with
# a third as many rows for a period report to sort.
ROLLUP_HOUR_MS = 3_600_000
# Migration 13 renamed the 15-minute rollup `usage_rollup` to `rollup_15m` and left a view under
# the old name: a process of an older cchooks still running (its TEMP triggers write
# `usage_rollup`) then fails to write instead of leaving `rollup_1h` behind. Reads use the old
# name, which every schema version has (an older ledger opened read-only is not migrated).
ROLLUP_TABLE = "rollup_15m"
HOUR_TABLE = "rollup_1h"
ROLLUP_VIEW = "usage_rollup"


# The rollup splits each bucket's sums at this input side (input + cache writes + cache reads),
# the long-context threshold of every bundled price entry that has long rates. Queries use the
# rollup's split only for models whose price entry has this threshold (or none); a price entry
# with another threshold makes them sum the responses themselves (cchooks.ledger.sums).
ROLLUP_LONG_CONTEXT_SPLIT = 200_000
INPUT_SIDE = "(input_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens)"


def _lc(row: str) -> str:
    return (
        f"(({row}.input_tokens + {row}.cache_5m_tokens + {row}.cache_1h_tokens + {row}.cache_read_tokens)"
        f" > {ROLLUP_LONG_CONTEXT_SPLIT})"
    )


_TOKENS = (
    "input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens, cache_read_tokens, web_search_requests"
)
_ADD = ", ".join(f"{t} = {t} + excluded.{t}" for t in _TOKENS.split(", "))
_SUB = ", ".join(f"{t} = {t} - OLD.{t}" for t in _TOKENS.split(", "))
_NEW = ", ".join(f"NEW.{t}" for t in _TOKENS.split(", "))


def _values(row: str, stored: bool) -> str:
    """The row a sums statement adds: in a trigger, VALUES of NEW; `stored`, the same expressions
    over the stored response keyed by the statement's one parameter (`ROLLUP_ADD_STORED`)."""
    return f"SELECT {row} FROM main.responses AS NEW WHERE NEW.rkey = ?" if stored else f"VALUES ({row})"


def _add_new(table: str, group: str, conflict: str, stored: bool = False) -> str:
    """A trigger statement adding the NEW response to its `group` row of a sums table (`conflict`:
    the table's key columns); both rollups have the same sums, times and partial count. `partial`
    (0/1 per response) sums to the estimated responses; it is the last column because migration 8
    appended it."""
    return f"""
    INSERT INTO {table} {_values(f"{group}, 1, {_NEW}, NEW.ts_ms, NEW.ts_ms, NEW.partial", stored)}
    ON CONFLICT ({conflict}) DO UPDATE SET responses = responses + 1, {_ADD},
        first_ms = min(coalesce(first_ms, excluded.first_ms), excluded.first_ms),
        last_ms = max(coalesce(last_ms, excluded.last_ms), excluded.last_ms),
        partial = partial + excluded.partial;"""



def _sub_old(table: str, rows: str, where: str) -> str:
    """A trigger statement taking the OLD response out of its group row (`where`) of a sums table;
    the group's first and last times are looked up again among its remaining `rows` (a FROM clause)."""
    return f"""
    UPDATE {table} SET responses = responses - 1, {_SUB}, partial = partial - OLD.partial,
        first_ms = (SELECT min(r.ts_ms) {rows}),
        last_ms = (SELECT max(r.ts_ms) {rows})
    WHERE {where};"""

def _period_group(table: str, bucket_ms: int) -> tuple[str, str, str]:
    return (table, f"NEW.ts_ms / {bucket_ms}, NEW.model, {_lc('NEW')}", "bucket, model, long_context")


def _period_sub_old(table: str, bucket_ms: int) -> str:
    # After a row leaves a bucket (an update or delete, both rare), that bucket's real first and
    # last times are looked up again: one short range of the responses_ts index.
    rows = (
        f"FROM responses r WHERE r.ts_ms >= (OLD.ts_ms / {bucket_ms}) * {bucket_ms}"
        f" AND r.ts_ms < (OLD.ts_ms / {bucket_ms} + 1) * {bucket_ms}"
        f" AND r.model = OLD.model AND {_lc('r')} = {_lc('OLD')}"
    )
    where = f"bucket = OLD.ts_ms / {bucket_ms} AND model = OLD.model AND long_context = {_lc('OLD')}"
    return _sub_old(table, rows, where)


_ROLLUP_GROUP = _period_group(ROLLUP_TABLE, ROLLUP_BUCKET_MS)
_HOUR_GROUP = _period_group(HOUR_TABLE, ROLLUP_HOUR_MS)
_ADD_NEW = _add_new(*_ROLLUP_GROUP) + _add_new(*_HOUR_GROUP)
_SUB_OLD = _period_sub_old(ROLLUP_TABLE, ROLLUP_BUCKET_MS) + _period_sub_old(HOUR_TABLE, ROLLUP_HOUR_MS)

# TEMP triggers: every Ledger connection installs them (Ledger.open), and a bulk backfill
# drops them on its own connection and rebuilds the rollup once instead of per row.
# The per-session rollup (migration 9): sums per session, project, agent kind, model and
# long-context side, so session, project and agent reports never sort every response.
DIM_PROJECT = "coalesce({r}project, {r}project_dir, '')"
DIM_AGENT = "coalesce({r}agent_type, CASE WHEN {r}agent_id IS NULL THEN 'main' ELSE 'subagent' END)"


def _dims(row: str) -> str:
    r = row + "."
    return f"{row}.session_id, {DIM_PROJECT.format(r=r)}, {DIM_AGENT.format(r=r)}, {row}.model, {_lc(row)}"


_DIMS_GROUP = ("usage_dims", _dims("NEW"), "session_id, project, agent, model, long_context")
_DIMS_ADD_NEW = _add_new(*_DIMS_GROUP)
# After a row leaves a group (rare), its real first and last times: one session's responses_session range.
_OLD_DIM_ROWS = (
    "FROM responses r WHERE r.session_id = OLD.session_id"
    f" AND {DIM_PROJECT.format(r='r.')} = {DIM_PROJECT.format(r='OLD.')}"
    f" AND {DIM_AGENT.format(r='r.')} = {DIM_AGENT.format(r='OLD.')}"
    f" AND r.model = OLD.model AND {_lc('r')} = {_lc('OLD')}"
)
_DIMS_SUB_OLD = _sub_old(
    "usage_dims", _OLD_DIM_ROWS, f"(session_id, project, agent, model, long_context) = ({_dims('OLD')})"
)

ROLLUP_TRIGGERS = [
    f"CREATE TEMP TRIGGER IF NOT EXISTS rollup_insert AFTER INSERT ON main.responses BEGIN {_ADD_NEW}"
    f" {_DIMS_ADD_NEW} END",
    f"CREATE TEMP TRIGGER IF NOT EXISTS rollup_delete AFTER DELETE ON main.responses BEGIN {_SUB_OLD}"
    f" {_DIMS_SUB_OLD} END",
    f"CREATE TEMP TRIGGER IF NOT EXISTS rollup_update AFTER UPDATE OF ts_ms, model, partial, {_TOKENS},"
    " session_id, project, project_dir, agent_type, agent_id"
    f" ON main.responses BEGIN {_SUB_OLD} {_ADD_NEW} {_DIMS_SUB_OLD} {_DIMS_ADD_NEW} END",
]
DROP_ROLLUP_TRIGGERS = [
    f"DROP TRIGGER IF EXISTS temp.{n}" for n in ("rollup_insert", "rollup_delete", "rollup_update")
]
# The secondary indexes of `responses`. A backfill into an empty ledger drops them and builds
# them once at the end (cchooks.ledger.bulk_load): one sort each instead of a B-tree insert per row.
RESPONSE_INDEXES = [
    "CREATE INDEX IF NOT EXISTS responses_ts ON responses(ts_ms)",
    "CREATE INDEX IF NOT EXISTS responses_session ON responses(session_id, ts_ms)",
    "CREATE INDEX IF NOT EXISTS responses_request ON responses(request_id)",
]
DROP_RESPONSE_INDEXES = [
    f"DROP INDEX IF EXISTS {n}" for n in ("responses_ts", "responses_session", "responses_request")
]


def usage_rollup_rebuild(partial: bool = True, table: str = ROLLUP_VIEW) -> list[str]:
    """The 15-minute rollup alone, as migrations 5 and 8 rebuild it (`table`: its name, which
    migration 13 changed). partial=False: as migration 5 left it, before migration 8 added `partial`."""
    return [
        f"DELETE FROM {table}",
        f"INSERT INTO {table} SELECT ts_ms / {ROLLUP_BUCKET_MS}, model, {_lc('responses')}, count(*),"
        f" {', '.join(f'sum({t})' for t in _TOKENS.split(', '))}, min(ts_ms), max(ts_ms)"
        f"{', sum(partial)' if partial else ''} FROM responses GROUP BY 1, 2, 3",
    ]


_SUMS = ", ".join(f"sum({t})" for t in _TOKENS.split(", "))
# Every derived table in one sort of the responses: a temporary fine grouping (15-minute bucket
# x session x project x agent x model x side x source, far fewer rows than responses), summed
# three times (the period rollup, the per-session rollup, the per-source totals).
FINE_ROLLUP_COLUMNS = f"bucket, sid, project, agent, model, lc, source, n, {_TOKENS}, first_ms, last_ms, partial"
FINE_ROLLUP_SELECT = (
    f"SELECT ts_ms / {ROLLUP_BUCKET_MS}, {_dims('responses')}, responses.source, count(*), {_SUMS},"
    " min(ts_ms), max(ts_ms), sum(partial) FROM responses GROUP BY 1, 2, 3, 4, 5, 6, 7"
)
FINE_ROLLUP_CREATE = [f"CREATE TEMP TABLE IF NOT EXISTS fine_rollup ({FINE_ROLLUP_COLUMNS})", "DELETE FROM temp.fine_rollup"]
# The ten sums over rows of a rollup (rollup_15m, rollup_1h, usage_dims), in their columns' order.
ROLLED_SUMS = (
    "sum(responses), sum(input_tokens), sum(output_tokens), sum(cache_5m_tokens), sum(cache_1h_tokens),"
    " sum(cache_read_tokens), sum(web_search_requests), min(first_ms), max(last_ms), sum(partial)"
)
# The hourly rollup from the 15-minute one (four of its buckets to an hour).
HOUR_FROM_QUARTERS = [
    f"DELETE FROM {HOUR_TABLE}",
    f"INSERT INTO {HOUR_TABLE} SELECT bucket / {ROLLUP_HOUR_MS // ROLLUP_BUCKET_MS}, model, long_context,"
    f" {ROLLED_SUMS} FROM {ROLLUP_TABLE} GROUP BY 1, 2, 3",
]


def from_fine_rollup(rollup: str = ROLLUP_TABLE, hour: bool = True) -> list[str]:
    """The derived tables from a filled temp.fine_rollup (which they drop). Migration 10 ran this
    on the 15-minute rollup's name then, without the hourly one (`rollup`, `hour`)."""
    return [
        f"DELETE FROM {rollup}",
        f"INSERT INTO {rollup} SELECT bucket, model, lc, sum(n), {_SUMS}, min(first_ms), max(last_ms), sum(partial)"
        " FROM temp.fine_rollup GROUP BY 1, 2, 3",
        *(HOUR_FROM_QUARTERS if hour else []),
        *_FROM_FINE_DIMS,
    ]


_FROM_FINE_DIMS = [
    "DELETE FROM usage_dims",
    f"INSERT INTO usage_dims SELECT sid, project, agent, model, lc, sum(n), {_SUMS}, min(first_ms), max(last_ms),"
    " sum(partial) FROM temp.fine_rollup GROUP BY 1, 2, 3, 4, 5",
    "DELETE FROM source_totals",
    f"INSERT INTO source_totals SELECT source, model, lc, sum(n), {_SUMS} FROM temp.fine_rollup GROUP BY 1, 2, 3",
    "DROP TABLE temp.fine_rollup",
]
FROM_FINE_ROLLUP = from_fine_rollup()


def rebuild_rollup(rollup: str = ROLLUP_TABLE, hour: bool = True) -> list[str]:
    """Everything derived from `responses`, rebuilt together after a bulk backfill or a recovery
    (migration 10: the names of then, see `from_fine_rollup`)."""
    return [*FINE_ROLLUP_CREATE, f"INSERT INTO temp.fine_rollup {FINE_ROLLUP_SELECT}", *from_fine_rollup(rollup, hour)]


REBUILD_ROLLUP = rebuild_rollup()


# Whole-ledger sums per (source, model, long-context flag): what /metrics exports on every scrape
# (cchooks.ledger.metrics), a handful of rows instead of a scan of every response. Kept exact by
# the same TEMP-trigger mechanism as the rollup (a bulk backfill drops and rebuilds both).


def _source_add_new(stored: bool = False) -> str:
    return f"""
    INSERT INTO source_totals {_values(f"NEW.source, NEW.model, {_lc('NEW')}, 1, {_NEW}", stored)}
    ON CONFLICT (source, model, long_context) DO UPDATE SET responses = responses + 1, {_ADD};"""


_SOURCE_ADD_NEW = _source_add_new()
_SOURCE_SUB_OLD = f"""
    UPDATE source_totals SET responses = responses - 1, {_SUB}
    WHERE source = OLD.source AND model = OLD.model AND long_context = {_lc("OLD")};"""
ROLLUP_TRIGGERS += [
    f"CREATE TEMP TRIGGER IF NOT EXISTS source_totals_insert AFTER INSERT ON main.responses BEGIN {_SOURCE_ADD_NEW} END",
    f"CREATE TEMP TRIGGER IF NOT EXISTS source_totals_delete AFTER DELETE ON main.responses BEGIN {_SOURCE_SUB_OLD} END",
    f"CREATE TEMP TRIGGER IF NOT EXISTS source_totals_update AFTER UPDATE OF source, model, {_TOKENS}"
    f" ON main.responses BEGIN {_SOURCE_SUB_OLD} {_SOURCE_ADD_NEW} END",
]
DROP_ROLLUP_TRIGGERS += [
    f"DROP TRIGGER IF EXISTS temp.{n}"
    for n in ("source_totals_insert", "source_totals_delete", "source_totals_update")
]
REBUILD_SOURCE_TOTALS = [
    "DELETE FROM source_totals",
    f"INSERT INTO source_totals SELECT source, model, {_lc('responses')}, count(*),"
    f" {', '.join(f'sum({t})' for t in _TOKENS.split(', '))} FROM responses GROUP BY 1, 2, 3",
]
# Tables derived from `responses` (rebuilt, never copied by `cchooks recover`).
DERIVED_TABLES = (ROLLUP_TABLE, HOUR_TABLE, "usage_dims", "source_totals")

# What the three INSERT triggers do for one stored response (parameter: its rkey), run by
# `Ledger.upsert_rows` for new responses on a connection without the triggers: making them
# costs more than the hot paths' whole write (see Ledger.write).
ROLLUP_ADD_STORED = [
    _add_new(*_ROLLUP_GROUP, stored=True),
    _add_new(*_HOUR_GROUP, stored=True),
    _add_new(*_DIMS_GROUP, stored=True),
    _source_add_new(stored=True),
]
