"""The team ledger's schema (PostgreSQL), as its own ordered list of migrations.

`cchooks team init` runs the ones a database lacks, under an advisory lock so two machines
initialising at once do not collide; `cchooks.schema_version` records how many ran. Append new
migrations at the end; never edit one that has shipped.

Keys are the local ledger's: one row per API response (`rkey`), whichever machine synced it;
`machine_id` and `user_name` are plain columns, never part of a key. `rollup` is the per-15-minute
sum per model, long-context side, machine and user (`rollup_team` the same over every machine) that
team reports read; cchooks.team.sync
recomputes the buckets each batch touches, so it is exact whatever order machines sync in.
"""

from __future__ import annotations

from typing import Any

from cchooks.ledger.derived import ROLLUP_BUCKET_MS
from cchooks.team import TeamError
from cchooks.team.pg import SCHEMA

S = SCHEMA

_M001 = f"""
CREATE TABLE {S}.machines (
    machine_id      text COLLATE "C" PRIMARY KEY,
    label           text NOT NULL,
    user_name       text NOT NULL,
    first_seen_ms   bigint NOT NULL,
    last_seen_ms    bigint NOT NULL,
    last_push_ms    bigint,
    cchooks_version text
);
CREATE TABLE {S}.responses (
    rkey          text COLLATE "C" PRIMARY KEY,
    message_id    text NOT NULL,
    request_id    text NOT NULL,
    session_id    text NOT NULL,
    ts_ms         bigint NOT NULL,
    bucket        bigint GENERATED ALWAYS AS (ts_ms / {ROLLUP_BUCKET_MS}) STORED,
    model         text NOT NULL,
    input_tokens  bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cache_5m_tokens bigint NOT NULL,
    cache_1h_tokens bigint NOT NULL,
    cache_read_tokens bigint NOT NULL,
    web_search_requests bigint NOT NULL,
    service_tier  text,
    speed         text,
    agent_id      text,
    agent_type    text,
    project       text,
    source        text NOT NULL,
    otlp_cost_usd double precision,
    machine_id    text NOT NULL,
    user_name     text NOT NULL,
    deleted       boolean NOT NULL DEFAULT false,
    synced_ms     bigint NOT NULL
);
CREATE INDEX responses_bucket ON {S}.responses (bucket);
CREATE TABLE {S}.rollup (
    bucket        bigint NOT NULL,
    model         text COLLATE "C" NOT NULL,
    long_context  boolean NOT NULL,
    machine_id    text COLLATE "C" NOT NULL,
    user_name     text COLLATE "C" NOT NULL,
    responses     bigint NOT NULL,
    input_tokens  bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cache_5m_tokens bigint NOT NULL,
    cache_1h_tokens bigint NOT NULL,
    cache_read_tokens bigint NOT NULL,
    web_search_requests bigint NOT NULL,
    first_ms      bigint,
    last_ms       bigint,
    PRIMARY KEY (bucket, model, long_context, machine_id, user_name)
);
-- The same sums over every machine: what team reports without --by and the snapshot read.
CREATE TABLE {S}.rollup_team (
    bucket        bigint NOT NULL,
    model         text COLLATE "C" NOT NULL,
    long_context  boolean NOT NULL,
    responses     bigint NOT NULL,
    input_tokens  bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cache_5m_tokens bigint NOT NULL,
    cache_1h_tokens bigint NOT NULL,
    cache_read_tokens bigint NOT NULL,
    web_search_requests bigint NOT NULL,
    first_ms      bigint,
    last_ms       bigint,
    PRIMARY KEY (bucket, model, long_context)
);
"""

MIGRATIONS: list[str] = [_M001]

# Taken by `team init` (pg_advisory_xact_lock); the sync's bucket locks use another class id.
INIT_LOCK = 0x6363_0001


def _version(conn: Any) -> int | None:
    row = conn.execute(f"SELECT to_regclass('{S}.schema_version')").fetchone()
    if row[0] is None:
        return None
    row = conn.execute(f"SELECT max(version) FROM {S}.schema_version").fetchone()
    return int(row[0] or 0)


def check_version(conn: Any, target: str) -> None:
    """Raise TeamError unless the schema is there and exactly what this cchooks knows."""
    try:
        version = _version(conn)
    finally:
        conn.rollback()
    if version is None or version == 0:
        raise TeamError(f"the team ledger {target} has no cchooks schema: run `cchooks team init`")
    if version < len(MIGRATIONS):
        raise TeamError(
            f"the team ledger {target} has schema version {version}, this cchooks needs"
            f" {len(MIGRATIONS)}: run `cchooks team init`"
        )
    if version > len(MIGRATIONS):
        raise TeamError(
            f"the team ledger {target} has schema version {version}; this cchooks knows"
            f" {len(MIGRATIONS)}: upgrade cchooks"
        )


def migrate(conn: Any, target: str) -> tuple[int, int]:
    """Create or migrate the schema; returns (version before, version after)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (INIT_LOCK,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {S}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {S}.schema_version (version integer NOT NULL)")
        before = _version(conn) or 0
        if before > len(MIGRATIONS):
            raise TeamError(
                f"the team ledger {target} has schema version {before}; this cchooks knows"
                f" {len(MIGRATIONS)}: upgrade cchooks"
            )
        for i in range(before, len(MIGRATIONS)):
            conn.execute(MIGRATIONS[i])
        if before < len(MIGRATIONS):
            conn.execute(f"DELETE FROM {S}.schema_version")
            conn.execute(f"INSERT INTO {S}.schema_version VALUES (%s)", (len(MIGRATIONS),))
    return before, len(MIGRATIONS)


def grant_sql(role: str) -> str:
    """The least-privilege grants for a syncing role (docs/team.md; `cchooks team init --print-grants`)."""
    return (
        f"GRANT USAGE ON SCHEMA {S} TO {role};\n"
        f"GRANT SELECT ON {S}.schema_version TO {role};\n"
        f"GRANT SELECT, INSERT, UPDATE ON {S}.machines, {S}.responses, {S}.rollup, {S}.rollup_team TO {role};\n"
    )
