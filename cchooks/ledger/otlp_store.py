"""Storing decoded OTLP exports in the ledger, idempotently, through one writer thread.

`store_batch` writes one `ExportBatch` inside the caller's transaction:
- metric points go to `otlp_points`, keyed (series, start_ns, time_ns): a retried export
  inserts nothing. Cumulative sums get their `delta` (increase over the previous point
  of the series; a new start time, or a lower value of a monotonic sum, is a restart and
  the whole value counts); a point that arrives late fixes the delta of its successor.
- `api_request` events go to `otlp_api_requests` and are linked at once to the
  `responses` table (see `cchooks.ledger.reconcile.link_api_requests`), so an OTLP-only
  call is counted in the ledger as soon as it arrives, and exactly once.
- every other event goes to `otlp_events`.

`BatchWriter` owns the ledger connection of a receiver: request threads decode and
`submit()`; one thread drains the queue, writes many batches per transaction (group
commit) and only then wakes the submitters. The receiver acknowledges an export only
after the transaction holding it committed, so an acknowledged export is on disk and an
unacknowledged one is retried by the exporter and deduplicated here: every data point is
stored exactly once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cchooks.ledger.store import Ledger
from cchooks.parsers.otlp import (
    KIND_SUM,
    TEMPORALITY_CUMULATIVE,
    TEMPORALITY_DELTA,
    ApiRequest,
    ExportBatch,
    LogEvent,
    MetricPoint,
    canonical_json,
)


@dataclass(slots=True)
class StoreResult:
    points_new: int = 0
    points_dup: int = 0
    api_new: int = 0
    api_dup: int = 0
    events_new: int = 0
    events_dup: int = 0
    rejected: int = 0

    def merge(self, other: StoreResult) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@functools.lru_cache(maxsize=1024)
def resource_id(resource_json: str) -> str:
    """The otlp_resources id of a resource's canonical JSON."""
    return hashlib.blake2b(resource_json.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _store_resources(ledger: Ledger, batches: list[ExportBatch]) -> None:
    found: dict[str, str] = {}
    for b in batches:
        for p in b.points:
            rj = p.resource_json or canonical_json(p.resource)
            found.setdefault(resource_id(rj), rj)
        for e in b.events:
            rj = canonical_json(e.resource)
            found.setdefault(resource_id(rj), rj)
    if found:
        ledger.conn.executemany(
            "INSERT OR IGNORE INTO otlp_resources (id, attributes) VALUES (?, ?)", found.items()
        )


def _dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, default=str, separators=(",", ":"))


_POINT_SQL = (
    "INSERT OR IGNORE INTO otlp_points (series, start_ns, time_ns, metric, kind, temporality, monotonic,"
    " unit, value, delta, session_id, model, type, attributes, resource_id, scope, extra, received_ms)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _point_row(p: MetricPoint, delta: float | None, received_ms: int) -> tuple[object, ...]:
    return (
        p.series, p.start_ns, p.time_ns, p.metric, p.kind, p.temporality,
        None if p.monotonic is None else int(p.monotonic), p.unit, p.value, delta,
        p.session_id, p.model, p.type, p.attributes_json or _dumps(p.attributes),
        resource_id(p.resource_json or canonical_json(p.resource)), p.scope,
        None if p.extra is None else _dumps(p.extra), received_ms,
    )  # fmt: skip


def cumulative_delta(prev: tuple[int, float] | None, start_ns: int, value: float, monotonic: bool) -> float:
    """What a cumulative point adds after `prev` = (start_ns, value) of the point before it."""
    if prev is None:
        return value
    prev_start, prev_value = prev
    if start_ns != prev_start or (monotonic and value < prev_value):
        return value  # the series restarted: everything since the new start is new
    return value - prev_value


def _store_points(ledger: Ledger, points: list[MetricPoint], received_ms: int, res: StoreResult) -> None:
    db = ledger.conn
    plain: list[tuple[object, ...]] = []
    cumulative: list[MetricPoint] = []
    for p in points:
        if p.kind == KIND_SUM and p.temporality == TEMPORALITY_CUMULATIVE:
            cumulative.append(p)
        else:
            delta = p.value if p.kind == KIND_SUM and p.temporality == TEMPORALITY_DELTA else None
            plain.append(_point_row(p, delta, received_ms))
    if plain:
        cur = db.executemany(_POINT_SQL, plain)
        res.points_new += cur.rowcount
        res.points_dup += len(plain) - cur.rowcount
    cumulative.sort(key=lambda p: (p.series, p.time_ns))
    for p in cumulative:
        if db.execute(
            "SELECT 1 FROM otlp_points WHERE series = ? AND start_ns = ? AND time_ns = ?",
            (p.series, p.start_ns, p.time_ns),
        ).fetchone():
            res.points_dup += 1
            continue
        monotonic = bool(p.monotonic)
        prev = db.execute(
            "SELECT start_ns, value FROM otlp_points WHERE series = ? AND temporality = 2 AND time_ns < ?"
            " ORDER BY time_ns DESC LIMIT 1",
            (p.series, p.time_ns),
        ).fetchone()
        delta = cumulative_delta(None if prev is None else (prev[0], prev[1]), p.start_ns, p.value, monotonic)
        db.execute(_POINT_SQL, _point_row(p, delta, received_ms))
        res.points_new += 1
        nxt = db.execute(
            "SELECT start_ns, time_ns, value FROM otlp_points WHERE series = ? AND temporality = 2 AND time_ns > ?"
            " ORDER BY time_ns LIMIT 1",
            (p.series, p.time_ns),
        ).fetchone()
        if nxt is not None:
            fixed = cumulative_delta((p.start_ns, p.value), nxt[0], nxt[2], monotonic)
            db.execute(
                "UPDATE otlp_points SET delta = ? WHERE series = ? AND start_ns = ? AND time_ns = ?",
                (fixed, p.series, nxt[0], nxt[1]),
            )


_API_SQL = (
    "INSERT OR IGNORE INTO otlp_api_requests (ekey, session_id, prompt_id, request_id, model, ts_ms, seq,"
    " input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cache_5m_tokens, cache_1h_tokens,"
    " cost_usd, duration_ms, ttft_ms, speed, effort, query_source, agent_id, service_version, attributes,"
    " rkey, received_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,?)"
)


def _api_row(a: ApiRequest, received_ms: int) -> tuple[object, ...]:
    return (
        a.key, a.session_id, a.prompt_id, a.request_id, a.model, a.ts_ms, a.sequence, a.input_tokens,
        a.output_tokens, a.cache_read_tokens, a.cache_creation_tokens, a.cache_5m_tokens, a.cache_1h_tokens,
        a.cost_usd, a.duration_ms, a.ttft_ms, a.speed, a.effort, a.query_source, a.agent_id,
        a.service_version, _dumps(a.attributes), received_ms,
    )  # fmt: skip


# The ledger keeps numbers and ids, never what was typed or read: attributes that can
# carry prompt text, tool inputs or outputs (with OTEL_LOG_USER_PROMPTS / tool details on)
# are dropped, and so is any long string and the log body.
_CONTENT_ATTRIBUTES = frozenset({
    "prompt", "tool_parameters", "tool_input", "tool_output", "tool_result", "content", "message",
    "text", "body", "output", "input", "arguments", "command", "file_path", "stdout", "stderr",
})  # fmt: skip
MAX_KEPT_STRING = 200


def content_free(attributes: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in attributes.items():
        if key in _CONTENT_ATTRIBUTES:
            out[key] = "<dropped>"
        elif isinstance(value, str) and len(value) > MAX_KEPT_STRING:
            out[key] = f"<dropped: {len(value)} chars>"
        else:
            out[key] = value
    return out


def _event_row(e: LogEvent, received_ms: int) -> tuple[object, ...]:
    body = None if e.body is None else "<dropped>"
    return (
        e.key, e.name, e.session_id, e.prompt_id, e.ts_ms, e.sequence, body, _dumps(content_free(e.attributes)),
        resource_id(canonical_json(e.resource)), received_ms,
    )  # fmt: skip


def _chunks(items: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _existing(ledger: Ledger, table: str, column: str, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(keys):
        sql = f"SELECT {column} FROM {table} WHERE {column} IN ({','.join('?' * len(chunk))})"
        found.update(str(k) for (k,) in ledger.conn.execute(sql, chunk))
    return found


def store_many(
    ledger: Ledger, batches: Iterable[ExportBatch], received_ms: int | None = None, *, link: bool = True
) -> StoreResult:
    """Write decoded exports (call inside `ledger.write()`); idempotent.

    However many exports there are, this costs a fixed handful of SQL statements (plus one per
    cumulative point and per call that needs the fallback match), which is what lets the
    receiver's writer keep up: every statement releases and re-takes the GIL.
    """
    now = int(time.time() * 1000) if received_ms is None else received_ms
    batches = list(batches)
    res = StoreResult()
    _store_resources(ledger, batches)
    points: list[MetricPoint] = []
    apis: dict[str, ApiRequest] = {}
    n_apis = 0
    events: list[LogEvent] = []
    for b in batches:
        res.rejected += b.rejected
        points.extend(b.points)
        for a in b.api_requests:
            apis.setdefault(a.key, a)
        n_apis += len(b.api_requests)
        events.extend(b.events)
    db = ledger.conn
    if points:
        _store_points(ledger, points, now, res)
    if apis:
        seen = _existing(ledger, "otlp_api_requests", "ekey", list(apis))
        new = [a for k, a in apis.items() if k not in seen]
        if new:
            db.executemany(_API_SQL, [_api_row(a, now) for a in new])
        res.api_new += len(new)
        res.api_dup += n_apis - len(new)
        if link and new:
            from cchooks.ledger.reconcile import link_api_requests

            link_api_requests(ledger, new)
    if events:
        cur = db.executemany(
            "INSERT OR IGNORE INTO otlp_events (ekey, name, session_id, prompt_id, ts_ms, seq, body, attributes,"
            " resource_id, received_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [_event_row(e, now) for e in events],
        )
        res.events_new += cur.rowcount
        res.events_dup += len(events) - cur.rowcount
    return res


def store_batch(
    ledger: Ledger, batch: ExportBatch, received_ms: int | None = None, *, link: bool = True
) -> StoreResult:
    """Write one decoded export (call inside `ledger.write()`); idempotent."""
    return store_many(ledger, [batch], received_ms, link=link)


def store_batches(ledger: Ledger, batches: Iterable[ExportBatch]) -> StoreResult:
    """Write several exports in one transaction (imports of captured bodies, tests)."""
    with ledger.write():
        return store_many(ledger, batches)


# -- the writer thread ----------------------------------------------------------------


LEARN_EVERY_S = 30.0
WAL_CHECKPOINT_PAGES = 4000


class QueueFull(Exception):
    """The writer is behind by more than its queue holds; the export should be retried."""


class WriterUnavailable(Exception):
    """The writer stopped or the ledger write failed; the export should be retried."""


@dataclass(slots=True)
class _Job:
    batch: ExportBatch
    done: threading.Event = field(default_factory=threading.Event)
    result: StoreResult | None = None
    error: str | None = None
    on_done: Callable[[], None] | None = None  # called on the writer thread once committed (or failed)


@dataclass(slots=True)
class WriterStats:
    jobs: int = 0
    transactions: int = 0
    failed_jobs: int = 0
    stored: StoreResult = field(default_factory=StoreResult)

    def to_json(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs, "transactions": self.transactions, "failed_jobs": self.failed_jobs,
            **self.stored.to_json(),
        }  # fmt: skip


class BatchWriter:
    """One thread, one ledger connection, many exports per transaction."""

    def __init__(
        self,
        ledger_path: str | os.PathLike[str] | None,
        *,
        max_queue: int = 20_000,
        max_batch: int = 1_000,
    ) -> None:
        self.ledger_path = ledger_path
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._ledger: Ledger | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.stats = WriterStats()
        self._prices: Any = None
        self._learned_at: dict[str, float] = {}
        self._pending_models: set[str] = set()  # unpriced models with events not yet learned from

    @property
    def path(self) -> str:
        return str(self._ledger.path) if self._ledger is not None else str(self.ledger_path or "")

    def start(self) -> None:
        """Open (and migrate) the ledger here, so a bad path fails before the server listens."""
        self._ledger = Ledger.open(self.ledger_path)
        # Checkpoint the WAL every ~16 MiB instead of every 4 MiB: a checkpoint writes pages back
        # and syncs, and rewrites of hot index pages coalesce between checkpoints (halves the
        # cost per export under load). The WAL is cut back to this size after each checkpoint.
        self._ledger.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        self._ledger.conn.execute(f"PRAGMA journal_size_limit = {WAL_CHECKPOINT_PAGES * 4096}")
        self._thread = threading.Thread(target=self._run, name="cchooks-otlp-writer", daemon=True)
        self._thread.start()

    def submit(self, batch: ExportBatch, timeout: float = 30.0) -> StoreResult:
        """Queue an export and wait until the transaction holding it committed.

        The result carries the export's rejected count; what was new or already stored is
        counted for the whole transaction in `stats`.
        """
        job = self.enqueue(batch)
        if not job.done.wait(timeout):
            # Still queued or being written: the exporter retries, and the retry is deduplicated.
            raise WriterUnavailable("ledger write did not finish in time")
        return self.outcome(job)

    def enqueue(self, batch: ExportBatch, on_done: Callable[[], None] | None = None) -> _Job:
        """Queue an export without waiting; `on_done` runs on the writer thread after its commit
        (an event loop passes `call_soon_threadsafe`). Read the result with `outcome(job)`."""
        if self._stopped.is_set() or self._thread is None:
            raise WriterUnavailable("the ledger writer is not running")
        job = _Job(batch, on_done=on_done)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise QueueFull("ledger writer queue is full") from None
        return job

    @staticmethod
    def outcome(job: _Job) -> StoreResult:
        """The result of a finished job; WriterUnavailable when its write failed."""
        if job.error is not None or job.result is None:
            raise WriterUnavailable(job.error or "ledger write failed")
        return job.result

    def queued(self) -> int:
        return self._queue.qsize()

    def stop(self, timeout: float = 30.0) -> None:
        """Write everything already queued, then stop."""
        if self._thread is None:
            return
        self._stopped.set()
        self._queue.put(None)
        self._thread.join(timeout)
        if self._ledger is not None and not self._thread.is_alive():
            with contextlib.suppress(Exception):  # leave a small WAL behind; readers may block it
                self._ledger.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._ledger.close()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                self._learn_unknown_models(None, force=True)
                return
            jobs = [job]
            stop = False
            while len(jobs) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                jobs.append(nxt)
            self._write(jobs)
            if stop:
                self._learn_unknown_models(None, force=True)
                return

    def _write(self, jobs: list[_Job]) -> None:
        ledger = self._ledger
        assert ledger is not None
        now = int(time.time() * 1000)
        results: list[StoreResult] = []
        # A result counts only once its transaction committed (a full disk fails the COMMIT,
        # after store_many returned): the stored counts are the rows the ledger holds.
        try:
            with ledger.write():
                r = store_many(ledger, [j.batch for j in jobs], now)
            results.append(r)
            transactions = 1
        except Exception:
            # One bad batch must not sink the others: retry them one transaction each.
            transactions = len(jobs)
            for j in jobs:
                try:
                    with ledger.write():
                        r = store_many(ledger, [j.batch], now)
                    results.append(r)
                except Exception as exc:
                    j.error = f"ledger write failed: {exc}"
        with self._lock:
            self.stats.transactions += transactions
            self.stats.jobs += len(jobs)
            for r in results:
                self.stats.stored.merge(r)
            for j in jobs:
                if j.error is None:
                    j.result = StoreResult(rejected=j.batch.rejected)
                else:
                    self.stats.failed_jobs += 1
        for j in jobs:
            j.done.set()
            if j.on_done is not None:
                with contextlib.suppress(Exception):  # e.g. the event loop closed meanwhile
                    j.on_done()
        self._learn_unknown_models(jobs)

    def _learn_unknown_models(self, jobs: list[_Job] | None, *, force: bool = False) -> None:
        """Keep learned prices fresh for models the price table lacks (each at most every LEARN_EVERY_S;
        `force` at shutdown learns from whatever arrived since)."""
        try:
            if jobs:
                models = {a.model for j in jobs if j.error is None for a in j.batch.api_requests if a.model}
                if models:
                    if self._prices is None:
                        from cchooks.pricing import load_price_table

                        self._prices = load_price_table()
                    self._pending_models.update(m for m in models if self._prices.lookup(m) is None)
            if not self._pending_models:
                return
            now = time.monotonic()
            due = sorted(
                m for m in self._pending_models
                if force or now - self._learned_at.get(m, -LEARN_EVERY_S) >= LEARN_EVERY_S
            )  # fmt: skip
            if due:
                from cchooks.ledger.learned import learn_prices

                for m in due:
                    self._learned_at[m] = now
                    self._pending_models.discard(m)
                assert self._ledger is not None
                learn_prices(self._ledger, due)
        except Exception:  # learning prices is a convenience; never let it stop the writer
            pass
