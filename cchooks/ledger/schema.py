"""Ledger schema as an ordered list of migrations.

Each migration is a function taking a connection; the ledger's `user_version` pragma
records how many have run. Append new migrations at the end; never edit one that has
shipped.
"""

from __future__ import annotations

import sqlite3
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
        CREATE INDEX responses_message ON responses(message_id);

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
        """
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m001_core,
]
