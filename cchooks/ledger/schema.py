"""Ledger schema as an ordered list of migrations.

Each migration is a function taking a connection; the ledger's `user_version` pragma
records how many have run. Append new migrations at the end; never edit one that has
shipped.
"""

from __future__ import annotations

from cchooks.ledger.derived import (
    HOUR_FROM_QUARTERS,
    HOUR_TABLE,
    REBUILD_SOURCE_TOTALS,
    ROLLUP_TABLE,
    ROLLUP_VIEW,
    rebuild_rollup,
    usage_rollup_rebuild,
)
from cchooks.ledger.driver import sqlite3

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


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _rollup_table(db: sqlite3.Connection) -> str:
    """The 15-minute rollup's table: `usage_rollup` until migration 13 renames it. A ledger whose
    user_version was wound back runs earlier migrations again on the renamed one."""
    return ROLLUP_TABLE if _has_table(db, ROLLUP_TABLE) else ROLLUP_VIEW


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
    have_partial = "partial" in have  # a ledger whose version was reset to 4 after migration 8
    for sql in usage_rollup_rebuild(partial=have_partial, table=_rollup_table(db)):
        db.execute(sql)


# Columns whose change the team ledger must hear about (cchooks.ledger.team_queue); ts_ms and the
# key never change on an update.
TEAM_COLUMNS = (
    "message_id", "request_id", "session_id", "model", "input_tokens", "output_tokens", "cache_5m_tokens",
    "cache_1h_tokens", "cache_read_tokens", "web_search_requests", "service_tier", "speed", "agent_id",
    "agent_type", "project", "source", "otlp_cost_usd",
)  # fmt: skip
_TEAM_CLAIM = "coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'team_claim'), 0)"


_TEAM_CHANGED = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in TEAM_COLUMNS)
# Persistent, so every process that writes the ledger queues what the team must hear again. They
# exist only once a team sync has claimed rows (`team_queue.ensure_triggers`, in the claim's
# transaction): before that the claim is 0 and they never fire, yet each costs every insert a
# trigger run (about 2 µs a row, half of a backfill's merge).
TEAM_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS team_outbox_update AFTER UPDATE ON responses"
    f" WHEN ({_TEAM_CHANGED}) AND NEW.rowid <= {_TEAM_CLAIM}"
    " BEGIN INSERT INTO team_outbox (rkey) VALUES (NEW.rkey); END",
    "CREATE TRIGGER IF NOT EXISTS team_outbox_delete AFTER DELETE ON responses"
    f" WHEN OLD.rowid <= {_TEAM_CLAIM}"
    " BEGIN INSERT INTO team_outbox (rkey) VALUES (OLD.rkey); END",
    "CREATE TRIGGER IF NOT EXISTS team_outbox_insert AFTER INSERT ON responses"
    f" WHEN NEW.rowid <= {_TEAM_CLAIM}"
    " BEGIN INSERT INTO team_outbox (rkey) VALUES (NEW.rkey); END",
)


def _m006_team_outbox(db: sqlite3.Connection) -> None:
    """The offline queue of the team ledger (cchooks.team.sync). New rows are found by rowid above
    the sync cursor; rows at or below the claimed rowid that change, vanish or appear (a reused
    rowid) after they were read are queued here by persistent triggers, so the team hears of them.
    Without a team the claim is 0 and the triggers never fire (migration 12 drops them then)."""
    db.execute("CREATE TABLE IF NOT EXISTS team_outbox (seq INTEGER PRIMARY KEY, rkey TEXT NOT NULL)")
    for sql in TEAM_TRIGGERS:
        db.execute(sql)


def _m007_imports(db: sqlite3.Connection) -> None:
    """Usage imported from other tools' files (`cchooks import`), kept apart from the measured
    `responses`: what a file states, with its provenance. Idempotent (IF NOT EXISTS)."""
    run_script(
        db,
        """
        -- One row per imported file content: re-importing the same bytes changes nothing.
        CREATE TABLE IF NOT EXISTS import_files (
            fingerprint TEXT PRIMARY KEY,      -- sha256 of the file's bytes
            format      TEXT NOT NULL,
            path        TEXT NOT NULL,
            version     TEXT,
            imported_ms INTEGER NOT NULL,
            entries     INTEGER NOT NULL,
            limits      TEXT                   -- JSON of the limits the file states
        );
        -- One row per period / session / agent a file states. ikey: format + the entry's own key
        -- (+ the path for figures of one file only); a newer file's entry replaces an older one.
        CREATE TABLE IF NOT EXISTS imported_usage (
            ikey        TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            format      TEXT NOT NULL,
            path        TEXT NOT NULL,
            scope       TEXT NOT NULL,
            label       TEXT NOT NULL,
            start_ms    INTEGER,
            end_ms      INTEGER,
            session_id  TEXT,
            agent_type  TEXT,
            model       TEXT,
            requests    INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_5m_tokens INTEGER NOT NULL DEFAULT 0,
            cache_1h_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            web_search_requests INTEGER NOT NULL DEFAULT 0,
            unsplit_tokens INTEGER NOT NULL DEFAULT 0,
            stated_total INTEGER,
            stated_cost_usd REAL,
            first_ms    INTEGER,
            last_ms     INTEGER,
            note        TEXT,
            detail      INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS imported_usage_start ON imported_usage(start_ms);
        """,
    )


def _m008_message_identity(db: sqlite3.Connection) -> None:
    """A response's identity is its message id; its request id is an alias (issue 16).

    Rows are re-keyed 'm:' + message id. Rows that were one response under two keys (a
    2.0.x fork copy without requestId beside its original, or an OTLP-only row beside the
    transcript's) become one: the most complete usage, the session of the original
    (the row that had a request id), OTLP links moved along. New columns: `partial` (output
    seen only on lines written before the message ended; unknown for rows stored before,
    left 0), `credit` (see cchooks.records.CREDIT_*).
    """
    columns = (("responses", "partial", 0), ("responses", "credit", 1), (_rollup_table(db), "partial", 0))
    for table, column, default in columns:
        # Idempotent: a ledger whose user_version was wound back must not fail here.
        if column not in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER NOT NULL DEFAULT {default}")
    db.execute("UPDATE responses SET credit = 2 WHERE request_id != ''")
    # Rows already stored by message id that another row also names by request id.
    for (rid,) in db.execute(
        "SELECT request_id FROM responses WHERE request_id != '' GROUP BY request_id HAVING count(*) > 1"
    ).fetchall():
        rows = db.execute(
            "SELECT rkey, message_id FROM responses WHERE request_id = ? ORDER BY message_id = '' ", (rid,)
        ).fetchall()
        mids = {m for _k, m in rows if m}
        if len(mids) == 1:
            db.execute("UPDATE responses SET message_id = ? WHERE request_id = ?", (mids.pop(), rid))
    dup_sql = (
        "SELECT rkey, session_id, ts_ms, input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens,"
        " cache_read_tokens, credit, source FROM responses WHERE message_id = ? ORDER BY credit DESC, rkey"
    )
    for (mid,) in db.execute(
        "SELECT message_id FROM responses WHERE message_id != '' GROUP BY message_id HAVING count(*) > 1"
    ).fetchall():
        rows = db.execute(dup_sql, (mid,)).fetchall()
        credited = rows[0]
        best = max(rows, key=lambda r: (r[4], r[3] + r[5] + r[6] + r[7]))
        sources = {r[9] for r in rows}
        source = sources.pop() if len(sources) == 1 else "both"
        keep = credited[0]
        db.execute(
            "UPDATE responses SET session_id = ?, ts_ms = ?, input_tokens = ?, output_tokens = ?,"
            " cache_5m_tokens = ?, cache_1h_tokens = ?, cache_read_tokens = ?, source = ?,"
            " request_id = (SELECT max(request_id) FROM responses WHERE message_id = ?),"
            " otlp_cost_usd = (SELECT max(otlp_cost_usd) FROM responses WHERE message_id = ?)"
            " WHERE rkey = ?",
            (credited[1], credited[2], *best[3:8], source, mid, mid, keep),
        )
        for r in rows[1:]:
            db.execute("UPDATE otlp_api_requests SET rkey = ? WHERE rkey = ?", (keep, r[0]))
            db.execute("DELETE FROM responses WHERE rkey = ?", (r[0],))
    # The key is no team column: tell a team ledger (migration 6's queue) of both keys of every
    # row it has heard of, the old one as gone (duplicates deleted above queued themselves).
    rekeyed = (
        "FROM responses WHERE message_id != '' AND rkey != 'm:' || message_id AND rowid <= " + _TEAM_CLAIM
    )
    db.execute(f"INSERT INTO team_outbox (rkey) SELECT rkey {rekeyed}")
    db.execute(f"INSERT INTO team_outbox (rkey) SELECT 'm:' || message_id {rekeyed}")
    db.execute("UPDATE otlp_api_requests SET rkey = (SELECT 'm:' || r.message_id FROM responses r"
               " WHERE r.rkey = otlp_api_requests.rkey AND r.message_id != '')"
               " WHERE rkey IN (SELECT rkey FROM responses WHERE message_id != '')")
    db.execute("UPDATE responses SET rkey = 'm:' || message_id WHERE message_id != ''")
    # The alias lookup: an OTLP event or a copy that names the response by request id.
    db.execute("CREATE INDEX IF NOT EXISTS responses_request ON responses(request_id)")
    for sql in usage_rollup_rebuild(table=_rollup_table(db)):  # source_totals comes with migration 9
        db.execute(sql)


def _m009_source_totals(db: sqlite3.Connection) -> None:
    """Per-source, per-model sums over the whole ledger, for /metrics (see _SOURCE_ADD_NEW)."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS source_totals (
            source TEXT NOT NULL,
            model TEXT NOT NULL,
            long_context INTEGER NOT NULL,
            responses INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_5m_tokens INTEGER NOT NULL,
            cache_1h_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            web_search_requests INTEGER NOT NULL,
            PRIMARY KEY (source, model, long_context)
        ) WITHOUT ROWID;
        """,
    )
    for sql in REBUILD_SOURCE_TOTALS:
        db.execute(sql)


def _m010_usage_dims(db: sqlite3.Connection) -> None:
    """The per-session rollup behind session, project and agent reports (kept exact by
    ROLLUP_TRIGGERS, rebuilt with the period rollup). Idempotent."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS usage_dims (
            session_id TEXT NOT NULL,
            project TEXT NOT NULL,
            agent TEXT NOT NULL,
            model TEXT NOT NULL,
            long_context INTEGER NOT NULL,
            responses INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_5m_tokens INTEGER NOT NULL,
            cache_1h_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            web_search_requests INTEGER NOT NULL,
            first_ms INTEGER,
            last_ms INTEGER,
            partial INTEGER NOT NULL,
            PRIMARY KEY (session_id, project, agent, model, long_context)
        ) WITHOUT ROWID;
        """,
    )
    for sql in rebuild_rollup(_rollup_table(db), hour=_has_table(db, HOUR_TABLE)):
        db.execute(sql)


def _m011_manual_entries(db: sqlite3.Connection) -> None:
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


def _m012_team_triggers_on_claim(db: sqlite3.Connection) -> None:
    """Drop the team-outbox triggers from a ledger no team sync has claimed rows of (they could
    not fire); the first claim creates them again (see TEAM_TRIGGERS). Idempotent."""
    row = db.execute("SELECT value FROM meta WHERE key = 'team_claim'").fetchone()
    if row is None or int(row[0] or 0) <= 0:
        for name in ("team_outbox_update", "team_outbox_delete", "team_outbox_insert"):
            db.execute(f"DROP TRIGGER IF EXISTS {name}")


def _m013_hourly_rollup(db: sqlite3.Connection) -> None:
    """The 15-minute rollup summed by the hour (`rollup_1h`): a third of the rows for a period
    report in a zone of whole-hour offsets. The 15-minute table is renamed `rollup_15m` and a view
    keeps its old name for reading, so an older cchooks still running, whose TEMP triggers write
    `usage_rollup`, fails to write (and reads again after a restart) instead of leaving the
    hourly rollup behind. Idempotent."""
    if not _has_table(db, ROLLUP_TABLE):
        db.execute(f"ALTER TABLE {ROLLUP_VIEW} RENAME TO {ROLLUP_TABLE}")
    db.execute(f"CREATE VIEW IF NOT EXISTS {ROLLUP_VIEW} AS SELECT * FROM {ROLLUP_TABLE}")
    run_script(
        db,
        f"""
        CREATE TABLE IF NOT EXISTS {HOUR_TABLE} (
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
            first_ms INTEGER,
            last_ms INTEGER,
            partial INTEGER NOT NULL,
            PRIMARY KEY (bucket, model, long_context)
        ) WITHOUT ROWID;
        """,
    )
    for sql in HOUR_FROM_QUARTERS:
        db.execute(sql)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m001_core,
    _m002_otlp,
    _m003_rollup,
    _m004_otlp_received,
    _m005_rollup_times,
    _m006_team_outbox,
    _m007_imports,
    _m008_message_identity,
    _m009_source_totals,
    _m010_usage_dims,
    _m011_manual_entries,
    _m012_team_triggers_on_claim,
    _m013_hourly_rollup,
]
