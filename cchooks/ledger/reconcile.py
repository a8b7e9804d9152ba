"""Reconciliation of the two witnesses: transcripts and OTLP `api_request` events.

Matching (one API call = one `responses` row, whatever saw it):
- exact: the event's `request_id` is the transcript's `requestId`, which is the ledger
  key (`responses.rkey`). Upserting the event's record onto that key marks the row
  confirmed (source 'both') and stores Claude Code's `cost_usd` with it; if the
  transcript comes later, its upsert lands on the OTLP row the same way.
- fallback, only where a request id is missing (an event without one, or a transcript
  row without one): same session, same model, same input/cache token counts, transcript
  output not above the event's (older versions wrote partial output counts), within
  `MATCH_WINDOW_MS`; the nearest unclaimed transcript-only row wins.
- no match: the call becomes a row of source 'otlp' (message_id '', key = request id, or
  the synthetic 'otlp:<session>:<timestamp ms>:<event.sequence>' without one). That is how
  the /compact summary call, which no transcript records, is counted, once.

`link_api_requests` runs as events arrive (in the receiver's write transaction).
`reconcile_ledger` re-runs matching for calls still unconfirmed (a transcript read
later may now match an OTLP-only row: the row is folded into the transcript's) and
refreshes the learned prices. `reconcile_report` compares the witnesses per session.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cchooks.ledger.store import Ledger
from cchooks.parsers.otlp import COST_USAGE, TOKEN_USAGE, ApiRequest
from cchooks.pricing import PriceTable, normalize_model_id
from cchooks.records import SOURCE_BOTH, SOURCE_OTLP, SOURCE_TRANSCRIPT, UsageRecord
from cchooks.totals import SCHEMA_VERSION, Totals, round_usd

MATCH_WINDOW_MS = 5 * 60 * 1000

_API_COLUMNS = (
    "ekey, session_id, model, ts_ms, request_id, prompt_id, seq, input_tokens, output_tokens,"
    " cache_read_tokens, cache_creation_tokens, cache_5m_tokens, cache_1h_tokens, cost_usd, duration_ms,"
    " ttft_ms, speed, effort, query_source, agent_id, service_version"
)


def _api_from_row(row: tuple[Any, ...]) -> ApiRequest:
    return ApiRequest(*row)


# -- matching -------------------------------------------------------------------------


def _fallback(ledger: Ledger, a: ApiRequest, *, only_without_request_id: bool) -> tuple[str, str, str] | None:
    """The transcript-only row that is this call, matched exactly: (rkey, message_id, request_id).

    Same session, same model, the same input-side numbers (input, cache read, cache
    creation: all known when the request starts), the transcript's output not above the
    event's (a partial line), within MATCH_WINDOW_MS, and not claimed by another event: so
    two events with identical numbers (two side calls) never land on one row. Among
    several such rows the nearest in time wins, the earlier on a tie.
    """
    sql = (
        "SELECT rkey, message_id, request_id, ts_ms, model FROM responses"
        " WHERE source = ? AND session_id = ? AND input_tokens = ? AND cache_read_tokens = ?"
        " AND cache_5m_tokens + cache_1h_tokens = ? AND output_tokens <= ? AND ts_ms BETWEEN ? AND ?"
        " AND NOT EXISTS (SELECT 1 FROM otlp_api_requests e WHERE e.rkey = responses.rkey)"
    )
    if only_without_request_id:
        sql += " AND request_id = ''"
    params = (
        SOURCE_TRANSCRIPT, a.session_id, a.input_tokens, a.cache_read_tokens, a.cache_creation_tokens,
        a.output_tokens, a.ts_ms - MATCH_WINDOW_MS, a.ts_ms + MATCH_WINDOW_MS,
    )  # fmt: skip
    model = normalize_model_id(a.model)
    best: tuple[int, int, str, str, str] | None = None
    for rkey, mid, rid, ts, row_model in ledger.conn.execute(sql, params):
        if normalize_model_id(str(row_model)) != model:
            continue
        cand = (abs(int(ts) - a.ts_ms), int(ts), str(rkey), str(mid), str(rid))
        if best is None or cand < best:
            best = cand
    return None if best is None else best[2:]


def _record_for(ledger: Ledger, a: ApiRequest, known: dict[str, tuple[str, str]]) -> UsageRecord:
    """The ledger record this event is: on the row its request id names, else the exact
    fallback match, else a row of its own."""
    hit = known.get(a.request_id) if a.request_id else None
    if hit is not None:
        return a.to_record(request_id=a.request_id, message_id=hit[1])
    cand = _fallback(ledger, a, only_without_request_id=bool(a.request_id))
    if cand is None:
        return a.to_record()
    _rkey, mid, rid = cand
    return a.to_record(request_id=rid or (a.request_id or ""), message_id=mid)


def _link_one(ledger: Ledger, a: ApiRequest) -> str:
    known = ledger.rows_by_request_id([a.request_id or ""])
    record = _record_for(ledger, a, known)
    ledger.upsert_records([record])
    ledger.conn.execute("UPDATE otlp_api_requests SET rkey = ? WHERE ekey = ?", (record.key, a.key))
    return record.key


def link_api_requests(ledger: Ledger, requests: Iterable[ApiRequest]) -> int:
    """Merge api_request events into `responses` (call inside `ledger.write()`); idempotent.

    Bulk for the common case (a request id the ledger knows, or a session with no
    transcript row the exact fallback could match): a few statements for any number of
    events. Events of one call are taken in (time, event.sequence) order, each claiming
    its row at once, so identical-number calls pair off one to one.
    """
    reqs = sorted(requests, key=lambda a: (a.ts_ms, a.sequence if a.sequence is not None else -1))
    if not reqs:
        return 0
    db = ledger.conn
    known = ledger.rows_by_request_id(str(a.request_id) for a in reqs if a.request_id)
    sessions = sorted({a.session_id for a in reqs})
    # Sessions with transcript-only rows the fallback could match: any such row for an
    # event without a request id, only rows without one for an event that has one.
    loose: set[str] = set()
    loose_without_id: set[str] = set()
    for i in range(0, len(sessions), 500):
        chunk = sessions[i : i + 500]
        for sid, no_id in db.execute(
            "SELECT session_id, min(request_id) = '' FROM responses WHERE source = ?"
            f" AND session_id IN ({','.join('?' * len(chunk))}) GROUP BY session_id",
            (SOURCE_TRANSCRIPT, *chunk),
        ):
            loose.add(str(sid))
            if no_id:
                loose_without_id.add(str(sid))
    bulk: list[tuple[ApiRequest, UsageRecord]] = []
    for a in reqs:
        hit = known.get(a.request_id) if a.request_id else None
        if hit is not None:
            bulk.append((a, a.to_record(request_id=a.request_id, message_id=hit[1])))
        elif a.session_id not in (loose_without_id if a.request_id else loose):
            bulk.append((a, a.to_record()))
        else:
            # Written (and claimed) now, so a later event of this call cannot match the same row.
            _link_one(ledger, a)
    ledger.upsert_records(r for _a, r in bulk)
    db.executemany("UPDATE otlp_api_requests SET rkey = ? WHERE ekey = ?", [(r.key, a.key) for a, r in bulk])
    return len(reqs)


def _fold(ledger: Ledger, a: ApiRequest, old_key: str, cand: tuple[str, str, str]) -> None:
    """A transcript row for this call exists now: fold the event's OTLP-only row into it."""
    db = ledger.conn
    ledger.rollup_follows()
    db.execute("UPDATE otlp_api_requests SET rkey = NULL WHERE ekey = ?", (a.key,))
    if not db.execute("SELECT 1 FROM otlp_api_requests WHERE rkey = ?", (old_key,)).fetchone():
        db.execute("DELETE FROM responses WHERE rkey = ? AND source = ?", (old_key, SOURCE_OTLP))
    _rkey, mid, rid = cand
    record = a.to_record(request_id=rid or (a.request_id or ""), message_id=mid)
    ledger.upsert_records([record])
    db.execute("UPDATE otlp_api_requests SET rkey = ? WHERE ekey = ?", (record.key, a.key))


def fold_unjoined(ledger: Ledger, session_ids: Iterable[str]) -> int:
    """Fold these sessions' OTLP-only calls without a request id into transcript rows read
    since they arrived (call inside `ledger.write()`); ingest runs it when it may apply."""
    ids = sorted(set(session_ids))
    folded = 0
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = ledger.conn.execute(
            f"SELECT {', '.join('e.' + c.strip() for c in _API_COLUMNS.split(','))}, e.rkey"
            " FROM otlp_api_requests e JOIN responses r ON r.rkey = e.rkey WHERE r.source = ?"
            f" AND e.request_id IS NULL AND e.session_id IN ({','.join('?' * len(chunk))})"
            " ORDER BY e.ts_ms, e.seq",
            (SOURCE_OTLP, *chunk),
        ).fetchall()
        for row in rows:
            a = _api_from_row(tuple(row[:-1]))
            cand = _fallback(ledger, a, only_without_request_id=False)
            if cand is not None and cand[0] != row[-1]:
                _fold(ledger, a, str(row[-1]), cand)
                folded += 1
    return folded


@dataclass(slots=True)
class ReconcileStats:
    linked: int = 0  # events that had no ledger row yet
    folded: int = 0  # OTLP-only rows merged into a transcript row found later
    learned_models: list[str] = field(default_factory=list)


def reconcile_ledger(ledger: Ledger, *, learn: bool = True) -> ReconcileStats:
    """Match every unconfirmed api_request event again; fold OTLP-only rows into late transcripts."""
    stats = ReconcileStats()
    with ledger.write():
        db = ledger.conn
        rows = db.execute(
            f"SELECT {', '.join('e.' + c.strip() for c in _API_COLUMNS.split(','))}, e.rkey, r.source"
            " FROM otlp_api_requests e LEFT JOIN responses r ON r.rkey = e.rkey"
            " WHERE e.rkey IS NULL OR r.rkey IS NULL OR r.source = ?"
            " ORDER BY e.ts_ms, e.seq",
            (SOURCE_OTLP,),
        ).fetchall()
        for row in rows:
            a = _api_from_row(tuple(row[:-2]))
            old_key, old_source = row[-2], row[-1]
            if old_key is None or old_source is None:
                _link_one(ledger, a)
                stats.linked += 1
                continue
            hit = ledger.rows_by_request_id([a.request_id]).get(a.request_id) if a.request_id else None
            cand: tuple[str, str, str] | None
            if hit is not None and hit[0] != old_key:
                cand = (hit[0], hit[1], a.request_id or "")
            else:
                cand = _fallback(ledger, a, only_without_request_id=bool(a.request_id))
            if cand is None or cand[0] == old_key:
                continue
            _fold(ledger, a, str(old_key), cand)
            stats.folded += 1
    if learn:
        from cchooks.ledger.learned import learn_prices

        stats.learned_models = [f.model for f in learn_prices(ledger)]
    return stats


# -- the report -------------------------------------------------------------------------


def _same_tokens(a: Totals, b: Totals) -> bool:
    """Equal token figures (the cache write split aside: some witnesses only know the sum)."""
    return (a.input_tokens, a.output_tokens, a.cache_creation_tokens, a.cache_read_tokens) == (
        b.input_tokens, b.output_tokens, b.cache_creation_tokens, b.cache_read_tokens,
    )  # fmt: skip


@dataclass(slots=True)
class SessionReconcile:
    session_id: str
    ledger: Totals = field(default_factory=Totals)  # every response, counted once
    transcript: Totals = field(default_factory=Totals)  # responses the transcripts hold
    otlp: Totals = field(default_factory=Totals)  # api_request events
    otlp_metric_tokens: dict[str, float] = field(default_factory=dict)  # claude_code.token.usage by type
    otlp_metric_cost_usd: float | None = None
    matched: int = 0
    transcript_only: int = 0
    otlp_only: int = 0
    otlp_only_by_source: dict[str, int] = field(default_factory=dict)
    token_mismatches: int = 0
    unmatched_without_request_id: int = 0  # OTLP-only calls whose event had no request_id to join on
    cost_claude_code: float | None = None  # sum of the events' cost_usd
    cost_ours_same_calls: float | None = None  # our price table on the same events' tokens
    cost_ours_ledger: float | None = None  # our price table over every ledger response
    cost_transcript_only: float | None = None
    unpriced_models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "ledger": self.ledger.to_json(),
            "transcript": self.transcript.to_json(),
            "otlp": self.otlp.to_json(),
            "otlp_metric_tokens": self.otlp_metric_tokens,
            "otlp_metric_cost_usd": _r(self.otlp_metric_cost_usd),
            "matched": self.matched,
            "transcript_only": self.transcript_only,
            "otlp_only": self.otlp_only,
            "otlp_only_by_query_source": self.otlp_only_by_source,
            "token_mismatches": self.token_mismatches,
            "unmatched_without_request_id": self.unmatched_without_request_id,
            "cost_claude_code_usd": _r(self.cost_claude_code),
            "cost_ours_same_calls_usd": _r(self.cost_ours_same_calls),
            "cost_ours_ledger_usd": _r(self.cost_ours_ledger),
            "cost_transcript_only_usd": _r(self.cost_transcript_only),
            "unpriced_models": self.unpriced_models,
            "notes": self.notes,
        }


_r = round_usd


@dataclass(slots=True)
class ReconcileReport:
    sessions: list[SessionReconcile]
    total: SessionReconcile
    price_notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "sessions": [s.to_json() for s in self.sessions],
            "total": self.total.to_json(),
            "price_notes": self.price_notes,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


def _add_cost(cur: float | None, add: float) -> float:
    return add if cur is None else cur + add


def _describe_source(qs: str) -> str:
    if qs == "compact":
        return "compaction call(s) seen only by OTLP (/compact's summary request is written to no transcript)"
    if qs.startswith("agent:"):
        return f"subagent call(s) ({qs}) seen only by OTLP (subagent transcript missing or deleted)"
    return f"call(s) ({qs or 'unknown source'}) seen only by OTLP (transcript elsewhere, deleted, or not read yet)"


def reconcile_report(
    ledger: Ledger, table: PriceTable, *, session_id: str | None = None, tolerance_usd: float = 1e-6
) -> ReconcileReport:
    """Per session: transcript vs OTLP totals, match counts, and cost per Claude Code vs per our table."""
    db = ledger.conn
    sessions: dict[str, SessionReconcile] = {}

    def sess(sid: str) -> SessionReconcile:
        s = sessions.get(sid)
        if s is None:
            s = sessions[sid] = SessionReconcile(sid)
        return s

    where = " WHERE session_id = ?" if session_id else ""
    params: tuple[Any, ...] = (session_id,) if session_id else ()
    unpriced: dict[str, set[str]] = {}
    events_by_rkey: dict[str, list[ApiRequest]] = {}
    event_rows = db.execute(f"SELECT {_API_COLUMNS}, rkey FROM otlp_api_requests{where}", params).fetchall()
    for row in event_rows:
        a = _api_from_row(tuple(row[:-1]))
        if row[-1] is not None:
            events_by_rkey.setdefault(str(row[-1]), []).append(a)
        s = sess(a.session_id)
        ours = table.cost(a.model, a.input_tokens, a.output_tokens, a.cache_5m_tokens, a.cache_1h_tokens,
                          a.cache_read_tokens)  # fmt: skip
        s.otlp.add(a.model, 1, a.input_tokens, a.output_tokens, a.cache_5m_tokens, a.cache_1h_tokens,
                   a.cache_read_tokens, ours, first_ms=a.ts_ms, last_ms=a.ts_ms)  # fmt: skip
        if a.cost_usd is not None:
            s.cost_claude_code = _add_cost(s.cost_claude_code, a.cost_usd)
            if ours is None:
                unpriced.setdefault(a.session_id, set()).add(a.model)
            else:
                s.cost_ours_same_calls = _add_cost(s.cost_ours_same_calls, ours)

    for rkey, source, sid, model, inp, out, c5, c1, cr, ts, partial in db.execute(
        "SELECT rkey, source, session_id, model, input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens,"
        f" cache_read_tokens, ts_ms, partial FROM responses{where}",
        params,
    ):
        s = sess(str(sid))
        cost = table.cost(str(model), inp, out, c5, c1, cr)
        s.ledger.add(str(model), 1, inp, out, c5, c1, cr, cost, first_ms=ts, last_ms=ts,
                     estimated_responses=1 if partial else 0)  # fmt: skip
        if cost is None:
            unpriced.setdefault(str(sid), set()).add(str(model))
        else:
            s.cost_ours_ledger = _add_cost(s.cost_ours_ledger, cost)
        if source in (SOURCE_TRANSCRIPT, SOURCE_BOTH):
            s.transcript.add(str(model), 1, inp, out, c5, c1, cr, cost, first_ms=ts, last_ms=ts)
        if source == SOURCE_BOTH:
            s.matched += 1
            row_tokens = Totals(1, inp, out, c5, c1, cr)
            for a in events_by_rkey.get(str(rkey), []):
                ev = Totals(1, a.input_tokens, a.output_tokens, a.cache_5m_tokens, a.cache_1h_tokens,
                            a.cache_read_tokens)  # fmt: skip
                if not _same_tokens(ev, row_tokens):
                    s.token_mismatches += 1
        elif source == SOURCE_TRANSCRIPT:
            s.transcript_only += 1
            if cost is not None:
                s.cost_transcript_only = _add_cost(s.cost_transcript_only, cost)
        elif source == SOURCE_OTLP:
            s.otlp_only += 1
            evs = events_by_rkey.get(str(rkey), [])
            qs = (evs[0].query_source or "") if evs else ""
            s.otlp_only_by_source[qs] = s.otlp_only_by_source.get(qs, 0) + 1
            if evs and not evs[0].request_id:
                s.unmatched_without_request_id += 1

    mwhere = " AND session_id = ?" if session_id else ""
    for sid, metric, typ, total in db.execute(
        "SELECT session_id, metric, type, sum(delta) FROM otlp_points WHERE metric IN (?, ?)"
        f" AND delta IS NOT NULL{mwhere} GROUP BY session_id, metric, type",
        (TOKEN_USAGE, COST_USAGE, *params),
    ):
        if sid is None:
            continue
        s = sess(str(sid))
        if metric == TOKEN_USAGE:
            s.otlp_metric_tokens[str(typ)] = float(total)
        else:
            s.otlp_metric_cost_usd = _add_cost(s.otlp_metric_cost_usd, float(total))

    total = SessionReconcile("all")
    for sid, s in sessions.items():
        s.unpriced_models = sorted(unpriced.get(sid, ()))
        s.notes = _notes(s, tolerance_usd)
        _merge_into(total, s)
    total.unpriced_models = sorted({m for ms in unpriced.values() for m in ms})
    total.notes = _notes(total, tolerance_usd)
    ordered = sorted(sessions.values(), key=lambda s: s.session_id)
    return ReconcileReport(ordered, total, _price_notes(ledger, table))


def _merge_into(total: SessionReconcile, s: SessionReconcile) -> None:
    total.ledger.merge(s.ledger)
    total.transcript.merge(s.transcript)
    total.otlp.merge(s.otlp)
    for k, v in s.otlp_metric_tokens.items():
        total.otlp_metric_tokens[k] = total.otlp_metric_tokens.get(k, 0.0) + v
    if s.otlp_metric_cost_usd is not None:
        total.otlp_metric_cost_usd = _add_cost(total.otlp_metric_cost_usd, s.otlp_metric_cost_usd)
    total.matched += s.matched
    total.transcript_only += s.transcript_only
    total.otlp_only += s.otlp_only
    for k, n in s.otlp_only_by_source.items():
        total.otlp_only_by_source[k] = total.otlp_only_by_source.get(k, 0) + n
    total.token_mismatches += s.token_mismatches
    total.unmatched_without_request_id += s.unmatched_without_request_id
    for name in ("cost_claude_code", "cost_ours_same_calls", "cost_ours_ledger", "cost_transcript_only"):
        v = getattr(s, name)
        if v is not None:
            setattr(total, name, _add_cost(getattr(total, name), v))


def _notes(s: SessionReconcile, tol: float) -> list[str]:
    notes: list[str] = []
    for qs, n in sorted(s.otlp_only_by_source.items()):
        notes.append(f"{n} {_describe_source(qs)}")
    if s.transcript_only:
        why = (
            "OTLP was not enabled for that process or its export was lost"
            if s.otlp.responses
            else "no OTLP events for this session: telemetry was off or not received"
        )
        cost = f", ${s.cost_transcript_only:.6f} by our table" if s.cost_transcript_only is not None else ""
        notes.append(f"{s.transcript_only} response(s) only in transcripts ({why}{cost})")
    if s.unmatched_without_request_id:
        notes.append(
            f"{s.unmatched_without_request_id} OTLP call(s) without request_id (Claude Code 2.0.x) match no"
            " transcript response exactly (same session, model, input-side tokens, time): kept as calls of"
            " their own"
        )
    if s.ledger.estimated_responses:
        notes.append(
            f"{s.ledger.estimated_responses} response(s) estimated: their output is known only from streaming lines written"
            " before the message ended, and no OTLP event gives the final count (shown with ~)"
        )
    if s.token_mismatches:
        notes.append(
            f"{s.token_mismatches} matched response(s) whose token counts differ between transcript and OTLP"
            " (the ledger keeps the more complete)"
        )
    if s.otlp_metric_tokens:
        metric = {k: int(v) for k, v in s.otlp_metric_tokens.items()}
        events = {
            "input": s.otlp.input_tokens, "output": s.otlp.output_tokens,
            "cacheRead": s.otlp.cache_read_tokens, "cacheCreation": s.otlp.cache_creation_tokens,
        }  # fmt: skip
        if any(metric.get(k, 0) != v for k, v in events.items()):
            notes.append(
                f"token.usage metrics {metric} differ from the api_request events {events}"
                " (an export was lost, or processes sharing a session id collided)"
            )
    if s.cost_claude_code is not None and s.cost_ours_same_calls is not None:
        diff = s.cost_ours_same_calls - s.cost_claude_code
        if abs(diff) > tol:
            notes.append(
                f"our price table prices the calls Claude Code reported at ${s.cost_ours_same_calls:.6f},"
                f" Claude Code says ${s.cost_claude_code:.6f} ({diff:+.6f}): the rates differ (see price notes)"
            )
    if s.unpriced_models:
        notes.append(f"no price for {', '.join(s.unpriced_models)}: cost by our table is incomplete")
    return notes


def _price_notes(ledger: Ledger, table: PriceTable) -> list[str]:
    from cchooks.ledger.learned import stored_learned
    from cchooks.pricing.learned import LEARNED_SOURCE

    notes: list[str] = []
    for lp, _date in stored_learned(ledger):
        price = table.lookup(lp.model)
        rates = (
            f"input ${lp.input:g}, output ${lp.output:g}, cache read ${lp.cache_read:g}, cache write 5m"
            f" ${lp.cache_write_5m:g}, 1h ${lp.cache_write_1h:g} per million"
        )
        quality = "exact" if lp.exact else f"approximate, worst error {lp.max_rel_error:.2%}"
        if price is None:
            notes.append(
                f"{lp.model}: not in the price table; learned from {lp.events} events ({quality}): {rates}"
            )
        elif (price.source or "").startswith(LEARNED_SOURCE):
            notes.append(
                f"{lp.model}: priced by rates {LEARNED_SOURCE} ({lp.events} events, {quality}): {rates}"
            )
        else:
            ours = (price.input, price.output, price.cache_read, price.cache_write_5m, price.cache_write_1h)
            theirs = (lp.input, lp.output, lp.cache_read, lp.cache_write_5m, lp.cache_write_1h)
            if all(abs(a - b) <= 1e-6 * max(1.0, abs(a)) for a, b in zip(ours, theirs, strict=True)):
                notes.append(
                    f"{lp.model}: our price table agrees with Claude Code's cost_usd ({lp.events} events)"
                )
            else:
                names = ("input", "output", "cache read", "cache write 5m", "cache write 1h")
                diffs = ", ".join(
                    f"{n} ours ${a:g} vs Claude Code ${b:g}"
                    for n, a, b in zip(names, ours, theirs, strict=True)
                    if abs(a - b) > 1e-6 * max(1.0, abs(a))
                )
                notes.append(f"{lp.model}: rates differ from Claude Code's cost_usd ({quality} fit): {diffs}")
    return notes
