"""Small, indexed queries for the hot paths (statusline and hooks).

Everything here answers one question with one or two SQL statements that use the
`responses_ts` / `responses_session` indexes or, for a session and for periods on the
15-minute grid (a day, a week, a 5-hour block), the rollups, so the cost stays flat however
big the ledger, a session or a day grows: session totals, totals since a moment (today, last
hour, this week), the current 5-hour block by ccusage's heuristic, Claude Code's latest
official rate-limit snapshot, and whether fresh OTLP confirms a session's figures. No query filters on
`responses.source`: calls only OTLP saw (the /compact summary) count like any other.
Reports use `cchooks.ledger.queries` instead; these functions never build a report and
import nothing heavy (no pydantic, no zoneinfo unless a named zone is asked for).
"""

from __future__ import annotations

import os
import time

from cchooks.ledger.derived import ROLLED_SUMS
from cchooks.ledger.driver import sqlite3
from cchooks.ledger.sums import period_rollups, rolled_rows, rollup_split_fits, sums_by
from cchooks.records import SOURCE_TRANSCRIPT, RateLimitSnapshot
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from cchooks.ledger.store import Ledger
    from cchooks.ledger.sums import SumRow
    from cchooks.pricing import PriceTable

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
FIVE_HOURS_MS = 5 * HOUR_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS


def now_ms() -> int:
    return int(time.time() * 1000)


def spend(ledger: Ledger, prices: PriceTable | None, where: str, params: Iterable[object]) -> Totals:
    """Sum the responses matching `where` (an SQL condition), priced per model and context tier."""
    threshold_of = prices.long_context_threshold if prices is not None else None
    return _priced(sums_by(ledger.conn, "''", where, tuple(params), threshold_of), prices)


def _rolled_spend(
    ledger: Ledger, prices: PriceTable | None, table: str, where: str, params: tuple[object, ...]
) -> Totals | None:
    """`spend` from a rollup's rows matching `where` (a few rows however many responses they sum:
    a long session, a busy day); None where only the responses can answer (a rollup a bulk load
    left stale, a price entry with another long-context threshold, a ledger without the table)."""
    threshold_of = prices.long_context_threshold if prices is not None else None
    try:
        if ledger.rollup_stale() or (threshold_of is not None and not rollup_split_fits(ledger.conn, threshold_of)):
            return None
        rows = ledger.conn.execute(
            f"SELECT '', model, long_context, {ROLLED_SUMS} FROM {table} WHERE {where}"
            " GROUP BY model, long_context HAVING sum(responses) > 0",
            params,
        ).fetchall()
    except sqlite3.OperationalError:  # an older ledger opened read-only
        return None
    return _priced(rolled_rows(rows, threshold_of), prices)


def _priced(rows: list[SumRow], prices: PriceTable | None) -> Totals:
    out = Totals()
    for _key, model, lc, t in rows:
        cost = None
        if prices is not None:
            cost = prices.cost(
                model, t.input_tokens, t.output_tokens, t.cache_creation_5m_tokens,
                t.cache_creation_1h_tokens, t.cache_read_tokens, long_context=lc,
            )  # fmt: skip
        out.add(
            model, t.responses, t.input_tokens, t.output_tokens, t.cache_creation_5m_tokens,
            t.cache_creation_1h_tokens, t.cache_read_tokens, cost,
            web_search_requests=t.web_search_requests, first_ms=t.first_ms, last_ms=t.last_ms,
            estimated_responses=t.estimated_responses,
        )  # fmt: skip
    return out


def session_spend(ledger: Ledger, prices: PriceTable | None, session_id: str) -> Totals:
    rolled = _rolled_spend(ledger, prices, "usage_dims", "session_id = ?", (session_id,))
    return rolled if rolled is not None else spend(ledger, prices, "session_id = ?", (session_id,))


def session_agent_spend(
    ledger: Ledger, prices: PriceTable | None, session_id: str, agent_type: str
) -> Totals:
    """One session's spend by agent type (`main`: the main thread), as `report agent` keys it."""
    if agent_type == "main":
        return spend(
            ledger, prices, "session_id = ? AND agent_id IS NULL AND agent_type IS NULL", (session_id,)
        )
    return spend(ledger, prices, "session_id = ? AND agent_type = ?", (session_id, agent_type))


def set_agent_type(ledger: Ledger, session_id: str, agent_id: str, agent_type: str) -> int:
    """Name the type of a subagent's responses that have none (from a hook payload); returns how many."""
    with ledger.write() as db:
        cur = db.execute(
            "UPDATE responses SET agent_type = ? WHERE session_id = ? AND agent_id = ? AND agent_type IS NULL",
            (agent_type, session_id, agent_id),
        )
    return int(cur.rowcount)


def spend_between(
    ledger: Ledger, prices: PriceTable | None, since_ms: int, until_ms: int | None = None
) -> Totals:
    # A local day, week or month, a 5-hour block: bounds on the hourly rollup's grid (a zone of
    # whole-hour offsets; a month's spend from it takes 0.7 ms instead of 1.6) or the 15-minute one's.
    rollups = period_rollups(ledger, since_ms, until_ms)
    if rollups:
        table, step = rollups[0]
        where, params = "bucket >= ?", [since_ms // step]
        if until_ms is not None:
            where, params = f"{where} AND bucket < ?", [*params, until_ms // step]
        rolled = _rolled_spend(ledger, prices, table, where, tuple(params))
        if rolled is not None:
            return rolled
    if until_ms is None:
        return spend(ledger, prices, "ts_ms >= ?", (since_ms,))
    return spend(ledger, prices, "ts_ms >= ? AND ts_ms < ?", (since_ms, until_ms))


# -- OTLP confirmation ------------------------------------------------------------------------

# How recent the session's last OTLP api_request event must be for its figures to count as
# confirmed: Claude Code exports log events every 5 s by default (OTEL_LOGS_EXPORT_INTERVAL).
CONFIRM_FRESH_MS = 60_000

# One statement: the newest event's arrival is one seek (otlp_api_requests_received); only when
# it is fresh, the first event's time (otlp_api_requests_session) and a walk of the session's
# responses from then on (responses_session) that stops at the first transcript-only one. So
# without fresh OTLP it costs one seek, and with it a fraction of what `session_spend` costs
# (0.5 ms against 3 ms for a 5,000-response session), which the statusline runs anyway.
_CONFIRMED_SQL = (
    "SELECT CASE WHEN (SELECT max(received_ms) FROM otlp_api_requests WHERE session_id = ?1) >= ?2"
    " THEN NOT EXISTS (SELECT 1 FROM responses WHERE session_id = ?1 AND source = ?3"
    " AND ts_ms >= (SELECT min(ts_ms) FROM otlp_api_requests WHERE session_id = ?1)) ELSE 0 END"
)


def session_confirmed(ledger: Ledger, session_id: str, now: int, fresh_ms: int = CONFIRM_FRESH_MS) -> bool:
    """True when OTLP confirms the session's ledger figures right now.

    That is: Claude Code's telemetry delivered an api_request event of this session within
    the last `fresh_ms`, and every response of the session since its first event is either
    confirmed by an event (source 'both') or known only from one (source 'otlp', e.g. the
    /compact summary call). A response that only a transcript holds (its event not here yet,
    or lost) means the two witnesses do not agree, and the figure is merely the ledger's.
    """
    row = ledger.conn.execute(_CONFIRMED_SQL, (session_id, now - fresh_ms, SOURCE_TRANSCRIPT)).fetchone()
    return bool(row and row[0])


def last_main_response(ledger: Ledger, session_id: str) -> tuple[str, int, int] | None:
    """(model, context tokens, ts_ms) of the session's newest main-thread response."""
    row = ledger.conn.execute(
        "SELECT model, input_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens, ts_ms"
        " FROM responses WHERE session_id = ? AND agent_id IS NULL ORDER BY ts_ms DESC LIMIT 1",
        (session_id,),
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]), int(row[2]))


# -- time boundaries --------------------------------------------------------------------------


def local_day_start_ms(now: int, tz_name: str | None = None) -> int:
    """Epoch ms of the latest local midnight at or before `now` (the machine's zone unless named)."""
    if tz_name:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(tz_name)
        d = datetime.fromtimestamp(now / 1000, tz)
        return int(d.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
    t = time.localtime(now // 1000)
    return int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1)) * 1000)


def local_week_start_ms(now: int, weekday: int = 0, hour: int = 0, tz_name: str | None = None) -> int:
    """Start of the current local week, weeks starting on `weekday` (Monday = 0) at `hour`."""
    day0 = local_day_start_ms(now, tz_name)
    if tz_name:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        wd = datetime.fromtimestamp(now / 1000, ZoneInfo(tz_name)).weekday()
    else:
        wd = time.localtime(now // 1000).tm_wday
    back = (wd - weekday) % 7
    midnight = day0
    # Step back through local midnights (not 24 h steps) so DST days count right.
    for _ in range(back):
        midnight = local_day_start_ms(midnight - HOUR_MS, tz_name)
    if midnight + hour * HOUR_MS > now:
        for _ in range(7):
            midnight = local_day_start_ms(midnight - HOUR_MS, tz_name)
    return midnight + hour * HOUR_MS


class BlockEstimate:
    """The active 5-hour block by ccusage's heuristic (an estimate: no official figures)."""

    __slots__ = ("start_ms", "end_ms", "last_ms")

    def __init__(self, start_ms: int, end_ms: int, last_ms: int) -> None:
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.last_ms = last_ms


def current_block(ledger: Ledger, now: int, lookback_ms: int = DAY_MS) -> BlockEstimate | None:
    """The active 5-hour block, or None when nothing happened in the last 5 hours.

    ccusage's rule: a block starts at its first response's timestamp floored to the hour and
    lasts 5 hours; a response 5 hours or more after the block's start, or after the previous
    response, starts a new block. The chain is followed from `lookback_ms` ago, which matches
    the full-history result whenever that day holds an idle gap of 5 hours.

    By index probes, not a loop over the day's responses (thousands on a busy day): a response
    5 hours after the previous one is also 5 hours after its block's start, so the rule comes
    down to "the first response at or past the current block's end starts the next block",
    one probe per block (at most five in a day).
    """
    conn = ledger.conn
    lo = now - lookback_ms
    first = "SELECT min(ts_ms) FROM responses WHERE ts_ms >= ? AND ts_ms <= ?"
    (t,) = conn.execute(first, (lo, now)).fetchone()
    if t is None:
        return None
    while True:
        start = t - t % HOUR_MS
        if start + FIVE_HOURS_MS > now:
            break
        (t,) = conn.execute(first, (start + FIVE_HOURS_MS, now)).fetchone()
        if t is None:
            break
    (last,) = conn.execute("SELECT max(ts_ms) FROM responses WHERE ts_ms >= ? AND ts_ms <= ?", (lo, now)).fetchone()
    if now >= start + FIVE_HOURS_MS or now - last >= FIVE_HOURS_MS:
        return None
    return BlockEstimate(start, start + FIVE_HOURS_MS, last)


# -- official rate-limit snapshots ----------------------------------------------------------


def latest_snapshot(ledger: Ledger, window: str) -> RateLimitSnapshot | None:
    row = ledger.conn.execute(
        "SELECT observed_ms, window, used_percentage, resets_at_ms, session_id FROM rate_limit_snapshots"
        " WHERE window = ? ORDER BY observed_ms DESC LIMIT 1",
        (window,),
    ).fetchone()
    return None if row is None else RateLimitSnapshot(*row)


def record_snapshots(ledger: Ledger, snaps: Iterable[RateLimitSnapshot]) -> int:
    """Store snapshots that differ from the latest stored one of their window; returns how many.

    The statusline refreshes every few seconds with the same figures; storing only changes
    keeps the table at a few rows per window and hour instead of thousands.
    """
    todo = []
    for s in snaps:
        last = latest_snapshot(ledger, s.window)
        if (
            last is not None
            and last.used_percentage == s.used_percentage
            and last.resets_at_ms == s.resets_at_ms
            and s.observed_ms >= last.observed_ms
        ):
            continue
        todo.append(s)
    if todo:
        with ledger.write():
            for s in todo:
                ledger.add_rate_limit_snapshot(s)
    return len(todo)


def current_official(ledger: Ledger, window: str, now: int) -> RateLimitSnapshot | None:
    """The latest stored snapshot of `window` whose reset time is still ahead, else None."""
    s = latest_snapshot(ledger, window)
    if s is None or s.resets_at_ms is None or s.resets_at_ms <= now:
        return None
    return s


# -- opening on the hot path ----------------------------------------------------------------


def open_hot(path: str | os.PathLike[str] | None, busy_ms: int, *, lazy_triggers: bool = False) -> Ledger:
    """Open the ledger for a hot path: waits on another writer at most `busy_ms`.

    Readers never wait in WAL mode; a busy writer only makes our own write fail fast
    (`sqlite3.OperationalError: database is locked`), which callers treat as "skip the write".
    """
    from cchooks.ledger.store import Ledger

    ledger = Ledger.open(path, lazy_triggers=lazy_triggers)
    ledger.conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    return ledger


def is_locked_error(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()
