"""Ledger schema as an ordered list of migrations.

Each migration is a function taking a connection; the ledger's `user_version` pragma
records how many have run. Append new migrations at the end; never edit one that has
shipped.
"""

from __future__ import annotations

import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the caller's transaction (executescript would commit)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""


def _m001_core(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        -- One row per billed API response, keyed like Claude Code keys it.
        -- rkey is the request id when known (the one key transcripts and OTLP share),
        -- else 'm:' + message id.
        CREATE TABLE responses (
            rkey         TEXT PRIMARY KEY,
            message_id   TEXT NOT NULL,
            request_id   TEXT NOT NULL,
            session_id   TEXT NOT NULL,
            ts_ms        INTEGER NOT NULL,
            model        TEXT NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_5m_tokens INTEGER NOT NULL DEFAULT 0,
            cache_1h_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            web_search_requests INTEGER NOT NULL DEFAULT 0,
            service_tier TEXT,
            speed        TEXT,
            agent_id     TEXT,
            agent_type   TEXT,
            project      TEXT,
            project_dir  TEXT,
            source       TEXT NOT NULL DEFAULT 'transcript',
            otlp_cost_usd REAL,
            host         TEXT
        );
        CREATE INDEX responses_ts ON responses(ts_ms);
        CREATE INDEX responses_session ON responses(session_id, ts_ms);

        -- Read position per transcript file, committed with the records it produced.
        CREATE TABLE files (
            path        TEXT PRIMARY KEY,
            dev         INTEGER,
            ino         INTEGER,
            size        INTEGER NOT NULL DEFAULT 0,
            mtime_ns    INTEGER NOT NULL DEFAULT 0,
            offset      INTEGER NOT NULL DEFAULT 0,
            head_hash   TEXT,
            tail_hash   TEXT,
            session_id  TEXT,
            malformed   INTEGER NOT NULL DEFAULT 0,
            updated_ms  INTEGER NOT NULL DEFAULT 0
        );

        -- Claude Code's official rate-limit figures from statusline payloads.
        CREATE TABLE rate_limit_snapshots (
            observed_ms     INTEGER NOT NULL,
            window          TEXT NOT NULL,
            used_percentage REAL NOT NULL,
            resets_at_ms    INTEGER,
            session_id      TEXT,
            PRIMARY KEY (window, observed_ms)
        );

        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT
        );
        """,
    )


def _m002_otlp(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        -- OTLP resources (service.version, os.type, ...), stored once, named by a hash.
        CREATE TABLE otlp_resources (
            id          TEXT PRIMARY KEY,
            attributes  TEXT NOT NULL
        );

        -- Every OTLP metric data point, once: the same point exported twice (a retry) has the
        -- same (series, start_ns, time_ns). `series` identifies metric + resource + scope +
        -- point attributes. `delta` is what the point adds: the value itself for delta sums,
        -- the increase over the previous point for cumulative sums (a new start time or a
        -- lower value of a monotonic sum is a restart: the whole value counts), NULL for
        -- gauges. claude_code.token.usage / cost.usage and every other metric live here;
        -- session_id, model and type are copied out of the attributes for indexed queries.
        -- A rowid table (appends stay sequential) with a unique key, for write speed.
        CREATE TABLE otlp_points (
            id          INTEGER PRIMARY KEY,
            series      TEXT NOT NULL,
            start_ns    INTEGER NOT NULL,
            time_ns     INTEGER NOT NULL,
            metric      TEXT NOT NULL,
            kind        TEXT NOT NULL,
            temporality INTEGER NOT NULL,
            monotonic   INTEGER,
            unit        TEXT,
            value       REAL NOT NULL,
            delta       REAL,
            session_id  TEXT,
            model       TEXT,
            type        TEXT,
            attributes  TEXT NOT NULL,
            resource_id TEXT NOT NULL REFERENCES otlp_resources(id),
            scope       TEXT,
            extra       TEXT,
            received_ms INTEGER NOT NULL,
            UNIQUE (series, start_ns, time_ns)
        );
        -- Cumulative series are read back in time order to turn them into deltas.
        CREATE INDEX otlp_points_cumulative ON otlp_points(series, time_ns) WHERE temporality = 2;
        CREATE INDEX otlp_points_metric ON otlp_points(metric, session_id);

        -- claude_code.api_request events: one billed API call each, as Claude Code saw it.
        -- ekey dedupes exporter retries (session, sequence, timestamps, request id).
        -- rkey is the responses row the call was reconciled to (NULL until then).
        CREATE TABLE otlp_api_requests (
            ekey          TEXT PRIMARY KEY,
            session_id    TEXT NOT NULL,
            prompt_id     TEXT,
            request_id    TEXT,
            model         TEXT NOT NULL,
            ts_ms         INTEGER NOT NULL,
            seq           INTEGER,
            input_tokens  INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
            cache_5m_tokens INTEGER NOT NULL DEFAULT 0,
            cache_1h_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd      REAL,
            duration_ms   REAL,
            ttft_ms       REAL,
            speed         TEXT,
            effort        TEXT,
            query_source  TEXT,
            agent_id      TEXT,
            service_version TEXT,
            attributes    TEXT NOT NULL,
            rkey          TEXT,
            received_ms   INTEGER NOT NULL
        );
        CREATE INDEX otlp_api_requests_session ON otlp_api_requests(session_id, ts_ms);
        CREATE INDEX otlp_api_requests_request ON otlp_api_requests(request_id);
        CREATE INDEX otlp_api_requests_rkey ON otlp_api_requests(rkey);

        -- Every other OTLP log event (user_prompt, tool_result, compaction, hooks, ...).
        CREATE TABLE otlp_events (
            ekey        TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            session_id  TEXT,
            prompt_id   TEXT,
            ts_ms       INTEGER NOT NULL,
            seq         INTEGER,
            body        TEXT,
            attributes  TEXT NOT NULL,
            resource_id TEXT NOT NULL REFERENCES otlp_resources(id),
            received_ms INTEGER NOT NULL
        );
        CREATE INDEX otlp_events_session ON otlp_events(session_id, ts_ms);
        CREATE INDEX otlp_events_name ON otlp_events(name, ts_ms);

        -- Per-model rates (USD per million tokens) solved from Claude Code's own cost_usd.
        -- fit names the unknowns solved for (the rest follow Anthropic's multipliers);
        -- max_rel_error is the worst relative residual over the events used.
        CREATE TABLE learned_prices (
            model          TEXT PRIMARY KEY,
            input          REAL NOT NULL,
            output         REAL NOT NULL,
            cache_read     REAL NOT NULL,
            cache_write_5m REAL NOT NULL,
            cache_write_1h REAL NOT NULL,
            fit            TEXT NOT NULL,
            events         INTEGER NOT NULL,
            max_rel_error  REAL NOT NULL,
            updated_ms     INTEGER NOT NULL
        );
        """,
    )


# Every UTC offset in use is a whole number of 15-minute steps, so 15-minute UTC buckets
# group exactly into local days, weeks and months in any zone.
ROLLUP_BUCKET_MS = 900_000


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
_ADD_NEW = f"""
    INSERT INTO usage_rollup VALUES (NEW.ts_ms / {ROLLUP_BUCKET_MS}, NEW.model, {_lc("NEW")}, 1, {_NEW},
        NEW.ts_ms, NEW.ts_ms)
    ON CONFLICT (bucket, model, long_context) DO UPDATE SET responses = responses + 1, {_ADD},
        first_ms = min(coalesce(first_ms, excluded.first_ms), excluded.first_ms),
        last_ms = max(coalesce(last_ms, excluded.last_ms), excluded.last_ms);"""
# After a row leaves a bucket (an update or delete, both rare), that bucket's real first and last
# times are looked up again: one short range of the responses_ts index.
_OLD_BUCKET_ROWS = (
    f"FROM responses r WHERE r.ts_ms >= (OLD.ts_ms / {ROLLUP_BUCKET_MS}) * {ROLLUP_BUCKET_MS}"
    f" AND r.ts_ms < (OLD.ts_ms / {ROLLUP_BUCKET_MS} + 1) * {ROLLUP_BUCKET_MS}"
    f" AND r.model = OLD.model AND {_lc('r')} = {_lc('OLD')}"
)
_SUB_OLD = f"""
    UPDATE usage_rollup SET responses = responses - 1, {_SUB},
        first_ms = (SELECT min(r.ts_ms) {_OLD_BUCKET_ROWS}),
        last_ms = (SELECT max(r.ts_ms) {_OLD_BUCKET_ROWS})
    WHERE bucket = OLD.ts_ms / {ROLLUP_BUCKET_MS} AND model = OLD.model AND long_context = {_lc("OLD")};"""

# TEMP triggers: every Ledger connection installs them (Ledger.open), and a bulk backfill
# drops them on its own connection and rebuilds the rollup once instead of per row.
ROLLUP_TRIGGERS = [
    f"CREATE TEMP TRIGGER IF NOT EXISTS rollup_insert AFTER INSERT ON main.responses BEGIN {_ADD_NEW} END",
    f"CREATE TEMP TRIGGER IF NOT EXISTS rollup_delete AFTER DELETE ON main.responses BEGIN {_SUB_OLD} END",
    f"CREATE TEMP TRIGGER IF NOT EXISTS rollup_update AFTER UPDATE OF ts_ms, model, {_TOKENS}"
    f" ON main.responses BEGIN {_SUB_OLD} {_ADD_NEW} END",
]
DROP_ROLLUP_TRIGGERS = [
    f"DROP TRIGGER IF EXISTS temp.{n}" for n in ("rollup_insert", "rollup_delete", "rollup_update")
]
REBUILD_ROLLUP = [
    "DELETE FROM usage_rollup",
    f"INSERT INTO usage_rollup SELECT ts_ms / {ROLLUP_BUCKET_MS}, model, {_lc('responses')}, count(*),"
    f" {', '.join(f'sum({t})' for t in _TOKENS.split(', '))}, min(ts_ms), max(ts_ms)"
    " FROM responses GROUP BY 1, 2, 3",
]


def _m003_rollup(db: sqlite3.Connection) -> None:
    """Per-15-minute, per-model sums, so period reports and the statusline never scan
    every response. Kept exact by ROLLUP_TRIGGERS."""
    run_script(
        db,
        """
        CREATE TABLE usage_rollup (
            bucket INTEGER NOT NULL,
            model TEXT NOT NULL,
            long_context INTEGER NOT NULL,
            responses INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_5m_tokens INTEGER NOT NULL,
            cache_1h_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            web_search_requests INTEGER NOT NULL,
            PRIMARY KEY (bucket, model, long_context)
        ) WITHOUT ROWID;
        """,
    )
    # The rollup is filled by _m005_rollup_times, which gives it its final shape.


def _m004_otlp_received(db: sqlite3.Connection) -> None:
    """A session's newest OTLP arrival in one index seek, for the statusline's OTLP confirmation
    (cchooks.ledger.live.session_confirmed). Its other half, "a transcript-only response since
    the first event?", walks responses_session and needs no index of its own: a partial index
    on source = 'transcript' would make every ingested response ~50 % dearer to write."""
    db.execute("CREATE INDEX otlp_api_requests_received ON otlp_api_requests(session_id, received_ms)")


def _m005_rollup_times(db: sqlite3.Connection) -> None:
    """The rollup keeps each bucket's real first and last response times, so period reports show
    when usage really started and ended, not 15-minute bucket edges."""
    have = {str(r[1]) for r in db.execute("PRAGMA table_info(usage_rollup)")}
    for col in ("first_ms", "last_ms"):
        if col not in have:  # idempotent: a ledger whose version was reset must still open
            db.execute(f"ALTER TABLE usage_rollup ADD COLUMN {col} INTEGER")
    for sql in REBUILD_ROLLUP:
        db.execute(sql)


def _m006_manual_entries(db: sqlite3.Connection) -> None:
    """Usage entered by hand (`cchooks entries`, the dashboard): its own table, never mixed into
    measured responses, with every change kept in an audit trail."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS manual_entries (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            ts_ms         INTEGER NOT NULL,
            model         TEXT,
            input_tokens  INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            note          TEXT NOT NULL DEFAULT '',
            created_ms    INTEGER NOT NULL,
            updated_ms    INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS manual_entries_ts ON manual_entries(ts_ms);
        -- One row per add, edit or delete: the entry as it was before and after (JSON).
        CREATE TABLE IF NOT EXISTS manual_entries_audit (
            seq       INTEGER PRIMARY KEY AUTOINCREMENT,
            entry_id  INTEGER NOT NULL,
            action    TEXT NOT NULL,
            at_ms     INTEGER NOT NULL,
            origin    TEXT NOT NULL,
            before    TEXT,
            after     TEXT
        );
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m001_core,
    _m002_otlp,
    _m003_rollup,
    _m004_otlp_received,
    _m005_rollup_times,
    _m006_manual_entries,
]
