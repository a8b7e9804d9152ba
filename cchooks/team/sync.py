"""TeamSync: push the local ledger's queue to the team ledger, exactly once per response key.

One batch is one PostgreSQL transaction: COPY into a temporary staging table, one set-based
`INSERT … ON CONFLICT (rkey) DO UPDATE … WHERE` that keeps the most complete copy, then the
rollup buckets the batch touched are recomputed from the responses (never incremented), under
advisory locks taken in bucket order. After the commit the local cursor moves (see
cchooks.ledger.team_queue); a sync killed in between pushes the batch again, which changes nothing.

Which copy wins, so the result never depends on who syncs first: the larger output, then the
larger input side, then more web searches; on a tie the lower machine id; the same machine's newer
copy replaces its older one. Rows are sorted by key before they are written, so concurrent
machines lock rows in the same order and cannot deadlock each other; a deadlock or serialization
failure all the same just runs the transaction again.

`TeamSync.run(stop)` is the loop `cchooks watch` and `cchooks serve` run (cchooks.team.daemon):
sync every `[team] sync_interval` seconds, reconnecting with backoff while the server is away;
`status()` is its state, `document()` the team view the daemon serves.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

from cchooks.ledger import team_queue
from cchooks.ledger.derived import ROLLUP_BUCKET_MS, ROLLUP_LONG_CONTEXT_SPLIT
from cchooks.ledger.store import Ledger
from cchooks.ledger.team_queue import TEAM_READ, OutboxBatch
from cchooks.team import TeamError
from cchooks.team.pg import SCHEMA as S
from cchooks.team.pg import connect, first_line, is_connection_lost, is_retryable
from cchooks.team.settings import TeamSettings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.config.model import Config
    from cchooks.team.view import TeamView

log = logging.getLogger("cchooks.team")

BUCKET_LOCK_CLASS = 0x6363_0002  # pg_advisory_xact_lock(class, bucket)
MAX_ATTEMPTS = 6
# The daemon's team view reads every machine's rollup: at most this often, however short the sync interval.
VIEW_EVERY_MS = 30_000

_COLS = ", ".join(TEAM_READ)
_TYPES = {
    "rkey": 'text COLLATE "C"', "ts_ms": "bigint", "message_id": "text", "request_id": "text", "session_id": "text",
    "model": "text", "input_tokens": "bigint", "output_tokens": "bigint", "cache_5m_tokens": "bigint",
    "cache_1h_tokens": "bigint", "cache_read_tokens": "bigint", "web_search_requests": "bigint",
    "service_tier": "text", "speed": "text", "agent_id": "text", "agent_type": "text", "project": "text",
    "source": "text", "otlp_cost_usd": "double precision",
}  # fmt: skip
STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS cchooks_stage ("
    + ", ".join(f"{c} {_TYPES[c]}" for c in TEAM_READ)
    + ") ON COMMIT DELETE ROWS"
)


def _in_side(t: str) -> str:
    return f"({t}.input_tokens + {t}.cache_5m_tokens + {t}.cache_1h_tokens + {t}.cache_read_tokens)"


def _rank(t: str) -> str:
    return f"({t}.output_tokens, {_in_side(t)}, {t}.web_search_requests)"


_UPDATABLE = [c for c in TEAM_READ if c not in ("rkey", "ts_ms")]
UPSERT = f"""
INSERT INTO {S}.responses AS t ({_COLS}, machine_id, user_name, synced_ms, deleted)
SELECT {_COLS}, %(m)s, %(u)s, %(now)s, false FROM cchooks_stage ORDER BY rkey
ON CONFLICT (rkey) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE)},
    machine_id = excluded.machine_id, user_name = excluded.user_name,
    synced_ms = excluded.synced_ms, deleted = false
WHERE t.deleted
   OR {_rank("excluded")} > {_rank("t")}
   OR ({_rank("excluded")} = {_rank("t")} AND (excluded.machine_id < t.machine_id
       OR (excluded.machine_id = t.machine_id AND (excluded.user_name, {", ".join(f"excluded.{c}" for c in _UPDATABLE)})
           IS DISTINCT FROM (t.user_name, {", ".join(f"t.{c}" for c in _UPDATABLE)}))))
"""
# A response gone from this machine's ledger (an OTLP-only row folded into its transcript row) is
# marked deleted, only where this machine's copy is the one kept: UPDATE, no DELETE privilege needed.
TOMBSTONE = f"""
UPDATE {S}.responses SET deleted = true, synced_ms = %(now)s
WHERE rkey = ANY(%(keys)s) AND machine_id = %(m)s AND NOT deleted RETURNING bucket
"""
_SUMS = ("input_tokens", "output_tokens", "cache_5m_tokens", "cache_1h_tokens", "cache_read_tokens",
         "web_search_requests")  # fmt: skip


def _recompute(table: str, source: str, group: tuple[str, ...]) -> str:
    """Set `table`'s rows of the buckets %(b)s to the sums of `source` (a query yielding `group`,
    responses, _SUMS, first_ms, last_ms); groups no longer there are zeroed. Idempotent, exact, and
    needs no DELETE privilege."""
    return f"""
WITH fresh AS ({source}), gone AS (
    UPDATE {S}.{table} g SET responses = 0, {", ".join(f"{c} = 0" for c in _SUMS)}, first_ms = NULL, last_ms = NULL
    WHERE g.bucket = ANY(%(b)s) AND g.responses <> 0 AND NOT EXISTS (
        SELECT 1 FROM fresh f WHERE {" AND ".join(f"f.{c} = g.{c}" for c in group)})
)
INSERT INTO {S}.{table} AS g SELECT * FROM fresh
ON CONFLICT ({", ".join(group)}) DO UPDATE SET
    responses = excluded.responses, {", ".join(f"{c} = excluded.{c}" for c in _SUMS)},
    first_ms = excluded.first_ms, last_ms = excluded.last_ms
WHERE (g.responses, {", ".join(f"g.{c}" for c in _SUMS)}, g.first_ms, g.last_ms)
    IS DISTINCT FROM (excluded.responses, {", ".join(f"excluded.{c}" for c in _SUMS)}, excluded.first_ms, excluded.last_ms)
"""


_GROUP = ("bucket", "model", "long_context", "machine_id", "user_name")
RECOMPUTE = _recompute(
    "rollup",
    f"""SELECT bucket, model, {_in_side("r")} > {ROLLUP_LONG_CONTEXT_SPLIT} AS long_context, machine_id, user_name,
           count(*) AS responses, {", ".join(f"sum({c})::bigint AS {c}" for c in _SUMS)},
           min(ts_ms) AS first_ms, max(ts_ms) AS last_ms
    FROM {S}.responses r WHERE bucket = ANY(%(b)s) AND NOT deleted GROUP BY 1, 2, 3, 4, 5""",
    _GROUP,
)
# The machine-less rollup, from the rollup just recomputed (a few rows per bucket, not the responses).
RECOMPUTE_TEAM = _recompute(
    "rollup_team",
    f"""SELECT bucket, model, long_context, sum(responses)::bigint AS responses,
           {", ".join(f"sum({c})::bigint AS {c}" for c in _SUMS)}, min(first_ms) AS first_ms, max(last_ms) AS last_ms
    FROM {S}.rollup WHERE bucket = ANY(%(b)s) AND responses > 0 GROUP BY 1, 2, 3""",
    ("bucket", "model", "long_context"),
)
HEARTBEAT = f"""
INSERT INTO {S}.machines VALUES (%(m)s, %(label)s, %(u)s, %(now)s, %(now)s, %(push)s, %(version)s)
ON CONFLICT (machine_id) DO UPDATE SET label = excluded.label, user_name = excluded.user_name,
    last_seen_ms = excluded.last_seen_ms, last_push_ms = coalesce(excluded.last_push_ms, machines.last_push_ms),
    cchooks_version = excluded.cchooks_version
"""
_PROJECT = TEAM_READ.index("project")


def project_name(project: object, hashed: bool) -> str | None:
    """The last component of the project's path (never the path), or its hash."""
    if not isinstance(project, str) or not project:
        return None
    name = project.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or project
    return hashlib.sha256(name.encode()).hexdigest()[:16] if hashed else name


@dataclass(slots=True)
class SyncResult:
    pushed: int = 0
    deleted: int = 0
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0
    pending: int = 0
    errors: list[str] = field(default_factory=list)


class TeamSync:
    """Pushes one local ledger to the team ledger. Keeps its connection between syncs."""

    def __init__(self, settings: TeamSettings, ledger_path: str | None, config: Config | None = None) -> None:
        self.settings = settings
        self.ledger_path = ledger_path
        self.config = config
        self._pg: Any = None
        self._staged = False
        self.last_snapshot_ms = 0
        # The daemon (`cchooks serve`) also keeps the team view (cchooks.team.view) for its
        # dashboard and /metrics, rebuilt on this connection after each sync.
        self.keep_view = False
        self.view: TeamView | None = None
        self.machine_id: str | None = None
        self._state_lock = threading.Lock()
        self._state: dict[str, Any] = {"syncs": 0, "failures": 0, "pushed": 0, "deleted": 0, "pending": None,
                                       "last_sync_ms": None, "last_error": None, "last_error_ms": None}  # fmt: skip

    # -- connection -------------------------------------------------------------------
    def _connection(self) -> Any:
        if self._pg is None or self._pg.closed:
            self._pg = connect(self.settings)
            self._staged = False
        return self._pg

    def close(self) -> None:
        if self._pg is not None:
            with contextlib.suppress(Exception):  # closing a connection the server already dropped
                self._pg.close()
            self._pg = None

    # -- one sync ---------------------------------------------------------------------
    def sync_once(self, *, snapshot: bool = True, max_batches: int | None = None) -> SyncResult:
        """Push everything queued (or `max_batches` batches), then heartbeat and refresh the snapshot.

        Raises TeamError (one line) when the team ledger cannot be reached or used; what was
        committed before stays committed and the rest waits in the local queue.
        """
        started = time.perf_counter()
        result = SyncResult()
        ledger = Ledger.open(self.ledger_path)
        try:
            team_queue.select_target(ledger, self.settings.target)
            mid = self.machine_id = team_queue.machine_id(ledger)
            try:
                conn = self._connection()
                while max_batches is None or result.batches < max_batches:
                    batch = team_queue.claim_batch(ledger, self.settings.batch_size)
                    if not len(batch):
                        if batch.cursor_to or batch.outbox_to:
                            team_queue.mark_pushed(ledger, batch)
                        break
                    self._push(conn, batch, mid, result)
                    team_queue.mark_pushed(ledger, batch)
                    result.batches += 1
                    result.pushed += len(batch.rows)
                    result.deleted += len(batch.deleted)
                    if not batch.more:
                        break
                self._heartbeat(conn, mid, result.pushed > 0)
                if snapshot:
                    self.refresh_snapshot(ledger, conn)
                view = self.view
                if self.keep_view and (view is None or time.time() * 1000 - view.updated_ms >= VIEW_EVERY_MS):
                    self.refresh_view(ledger, conn, mid)
            except TeamError:
                self.close()
                raise
            except Exception as exc:
                self.close()
                if _is_pg_error(exc):
                    raise TeamError(f"team ledger {self.settings.target}: {first_line(exc)}") from None
                raise
            result.pending = team_queue.pending(ledger)
        finally:
            ledger.close()
        result.seconds = time.perf_counter() - started
        return result

    def _push(self, conn: Any, batch: OutboxBatch, mid: str, result: SyncResult) -> None:
        hashed = self.settings.hash_project
        names: dict[object, str | None] = {}
        rows = []
        for r in batch.rows:  # PostgreSQL sorts them by key (the upsert's ORDER BY)
            row = list(r)
            p = row[_PROJECT]
            name = names.get(p, names)
            if name is names:
                name = names[p] = project_name(p, hashed)
            row[_PROJECT] = name
            rows.append(row)
        buckets = {cast(int, r[1]) // ROLLUP_BUCKET_MS for r in rows}
        params = {"m": mid, "u": self.settings.user, "now": int(time.time() * 1000)}
        for attempt in range(MAX_ATTEMPTS):
            try:
                with conn.transaction(), conn.cursor() as cur:
                    if not self._staged:
                        cur.execute(STAGE_DDL)
                    if rows:
                        with cur.copy(f"COPY cchooks_stage ({_COLS}) FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
                        cur.execute(UPSERT, params)
                    touched = set(buckets)
                    if batch.deleted:
                        cur.execute(TOMBSTONE, {**params, "keys": sorted(batch.deleted)})
                        touched.update(int(b[0]) for b in cur.fetchall())
                    order = sorted(touched)
                    if order:
                        cur.execute(
                            "SELECT count(pg_advisory_xact_lock(%s, b::int)) FROM unnest(%s::bigint[]) AS b",
                            (BUCKET_LOCK_CLASS, order),
                        )
                        cur.execute(RECOMPUTE, {"b": order})
                        cur.execute(RECOMPUTE_TEAM, {"b": order})
                self._staged = True
                return
            except Exception as exc:
                self._staged = False  # a rolled-back transaction may have created the table
                if is_retryable(exc) and attempt + 1 < MAX_ATTEMPTS:
                    result.retries += 1
                    time.sleep(0.05 * (attempt + 1))
                    continue
                raise

    def _heartbeat(self, conn: Any, mid: str, pushed: bool) -> None:
        from cchooks import __version__

        now = int(time.time() * 1000)
        with conn.transaction():
            conn.execute(
                HEARTBEAT,
                {"m": mid, "label": self.settings.label, "u": self.settings.user, "now": now,
                 "push": now if pushed else None, "version": __version__},
            )  # fmt: skip

    def refresh_snapshot(self, ledger: Ledger, conn: Any) -> None:
        """Write the pool's figures next to the ledger for the statusline (cchooks.team.snapshot)."""
        if not self.settings.statusline:
            return
        from cchooks.team.snapshot import build_snapshot, write_snapshot

        snap = build_snapshot(conn, ledger, self.settings, self.config)
        write_snapshot(ledger.path_str, snap)
        self.last_snapshot_ms = int(time.time() * 1000)

    def refresh_view(self, ledger: Ledger, conn: Any, mid: str) -> None:
        from cchooks.api import price_table
        from cchooks.config import load_config
        from cchooks.team.view import build_view
        from cchooks.timezones import resolve_tz

        cfg = self.config if self.config is not None else load_config()
        prices = price_table(ledger, cfg.price_overrides())
        view = build_view(conn, prices, resolve_tz(cfg.report.timezone), self.settings.target, mid)
        with self._state_lock:
            self.view = view

    # -- what the daemon shows ----------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The continuous sync's state: last sync, responses pushed since start, last error."""
        with self._state_lock:
            return {"team": self.settings.target, "interval_s": self.settings.sync_interval, **self._state}

    def document(self) -> dict[str, Any]:
        """`/api/team`: the last team view (pending until the first sync built one) and the sync's state."""
        from cchooks.totals import SCHEMA_VERSION

        with self._state_lock:
            view = self.view
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "team": self.settings.target,
            "this_machine": {"machine_id": self.machine_id, "label": self.settings.label, "user": self.settings.user},
            "pending": view is None,
        }
        if view is not None:
            doc.update(view.to_json())
        doc["sync"] = self.status()
        return doc

    def _record(self, result: SyncResult | None, error: str | None) -> None:
        now = int(time.time() * 1000)
        with self._state_lock:
            st = self._state
            if result is not None:
                st["syncs"] += 1
                st["pushed"] += result.pushed
                st["deleted"] += result.deleted
                st["pending"] = result.pending
                st["last_sync_ms"] = now
                st["last_error"] = None
            else:
                st["failures"] += 1
                st["last_error"] = error
                st["last_error_ms"] = now

    # -- continuously -----------------------------------------------------------------
    def run(self, stop: threading.Event, interval: float | None = None) -> None:
        """Sync until `stop` is set: every `interval` seconds (default `[team] sync_interval`), backing
        off up to ten intervals while the team ledger is unreachable. Never raises TeamError."""
        every = interval if interval is not None else self.settings.sync_interval
        wait = every
        failing = False
        while not stop.is_set():
            try:
                r = self.sync_once()
                self._record(r, None)
                if failing:
                    log.info("team ledger %s reachable again", self.settings.target)
                failing = False
                wait = every
                if r.pushed or r.deleted:
                    log.info("team sync: %d response(s) pushed in %.2f s", r.pushed + r.deleted, r.seconds)
            except TeamError as exc:
                self._record(None, str(exc))
                if not failing:
                    log.warning("team sync: %s (the local ledger keeps the queue; retrying)", exc)
                failing = True
                wait = min(wait * 2, every * 10)
            except Exception as exc:
                self._record(None, f"{type(exc).__name__}: {exc}".splitlines()[0])
                log.exception("team sync failed")
                failing = True
                wait = min(wait * 2, every * 10)
            stop.wait(wait)
        self.close()


def _is_pg_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, psycopg.Error) or is_connection_lost(exc)
