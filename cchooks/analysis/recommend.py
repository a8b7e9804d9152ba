"""Recommendations with evidence: each names the sessions it rests on and an estimate in dollars
and tokens at current prices (`PriceTable.cost`). None without numbers behind it; none when the
data does not cross the thresholds below (docs/analyze.md gives every formula).
"""

from __future__ import annotations

import math
from typing import Any

from cchooks.analysis.common import cache_hit_rate, cost, price, priced_by_key
from cchooks.ledger.analysis import SEP, Scope, otlp_compactions, sessions_of, sums, thread_rows
from cchooks.pricing import PriceTable
from cchooks.totals import Totals, round_usd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from cchooks.ledger.store import Ledger
    from cchooks.ledger.sums import SumRow

# Below this estimate (USD at current prices) a finding is noise, not a recommendation.
MIN_ESTIMATE_USD = 1.00
# How many session ids a recommendation lists (it always gives the full count).
MAX_SESSIONS_LISTED = 10

# 1. Large model on short mechanical agent tasks. A subagent run is short and mechanical when it
# makes at most MECH_MAX_RESPONSES responses averaging at most MECH_MAX_OUTPUT_PER_RESPONSE output
# tokens (tool calls, little writing). An agent type is flagged when at least MECH_MIN_RUNS such
# runs used a large model (its id contains one of LARGE_MODEL_MARKERS) and they are at least
# MECH_MIN_SHARE of the type's runs. Estimate: those runs' cost minus the same tokens on SMALL_MODEL.
MECH_MAX_RESPONSES = 10
MECH_MAX_OUTPUT_PER_RESPONSE = 800
MECH_MIN_RUNS = 3
MECH_MIN_SHARE = 0.5
LARGE_MODEL_MARKERS = ("opus",)
SMALL_MODEL = "claude-haiku-4-5"

# 2. Low cache-hit rate: cache read / (cache read + cache write + input) below LOW_CACHE_HIT_RATE for
# an agent type or project with at least LOW_CACHE_MIN_INPUT_SIDE input-side tokens. Estimate: the
# cost at CACHE_HIT_TARGET (input and cache writes scaled down, the difference read from cache).
LOW_CACHE_HIT_RATE = 0.5
LOW_CACHE_MIN_INPUT_SIDE = 1_000_000
CACHE_HIT_TARGET = 0.8

# 3. 1-hour cache writes never read: a response's 1-hour cache write counts as read when a later
# response of the same thread (main thread or one subagent) reads from the cache within
# ONE_HOUR_MS. Flagged when the unread share of 1-hour write tokens is at least UNREAD_1H_MIN_SHARE.
# Estimate: the 1-hour premium on the unread writes (their cost as 1-hour minus as 5-minute writes).
ONE_HOUR_MS = 3_600_000
UNREAD_1H_MIN_SHARE = 0.5

# 4. Frequent compaction: a compaction is a main-thread response whose context (input side) is at
# most COMPACTION_DROP_RATIO of the previous one's, which held at least COMPACTION_MIN_CONTEXT
# tokens (or a /compact call OTLP saw). Sessions with at least COMPACTION_MIN_PER_SESSION are
# flagged. Estimate: the cache writes that rebuilt the context after each compaction, plus the
# summary calls OTLP saw.
COMPACTION_DROP_RATIO = 0.5
COMPACTION_MIN_CONTEXT = 50_000
COMPACTION_MIN_PER_SESSION = 3

# 5. A few sessions carrying most of the cost: with at least CONCENTRATION_MIN_SESSIONS sessions,
# the top CONCENTRATION_TOP_FRACTION of them (at least one) carrying CONCENTRATION_MIN_SHARE of
# the cost or more. Estimate: what those sessions cost.
CONCENTRATION_MIN_SESSIONS = 10
CONCENTRATION_TOP_FRACTION = 0.1
CONCENTRATION_MIN_SHARE = 0.5


def _rec(
    rid: str, title: str, advice: str, kind: str, usd: float, tokens: int, sessions: list[str],
    evidence: dict[str, Any], thresholds: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    ordered = sorted(set(sessions))
    return {
        "id": rid, "title": title, "advice": advice, "estimate_kind": kind, "estimate_usd": round_usd(usd),
        "estimate_tokens": int(tokens), "session_count": len(ordered), "sessions": ordered[:MAX_SESSIONS_LISTED],
        "evidence": evidence, "thresholds": thresholds,
    }  # fmt: skip


def _is_large(model: str) -> bool:
    return any(m in model.lower() for m in LARGE_MODEL_MARKERS)


def large_model_mechanical(run_rows: list[SumRow], prices: PriceTable) -> list[dict[str, Any]]:
    runs: dict[str, list[tuple[str, bool, Totals]]] = {}
    for key, model, lc, t in run_rows:
        runs.setdefault(key, []).append((model, lc, t))
    by_type: dict[str, dict[str, Any]] = {}
    for key, parts in runs.items():
        _agent_id, session, agent_type = key.split(SEP, 2)
        stat = by_type.setdefault(
            agent_type, {"runs": 0, "flagged": [], "usd": 0.0, "tokens": 0, "models": set()}
        )
        stat["runs"] += 1
        n = sum(t.responses for _, _, t in parts)
        out = sum(t.output_tokens for _, _, t in parts)
        if not (n <= MECH_MAX_RESPONSES and out <= MECH_MAX_OUTPUT_PER_RESPONSE * n):
            continue
        if not all(_is_large(m) for m, _, _ in parts):
            continue
        saving, ok = 0.0, True
        for model, lc, t in parts:
            now = prices.cost(model, t.input_tokens, t.output_tokens, t.cache_creation_5m_tokens,
                              t.cache_creation_1h_tokens, t.cache_read_tokens, long_context=lc)  # fmt: skip
            small = prices.cost(SMALL_MODEL, t.input_tokens, t.output_tokens, t.cache_creation_5m_tokens,
                                t.cache_creation_1h_tokens, t.cache_read_tokens, long_context=lc)  # fmt: skip
            if now is None or small is None:
                ok = False
                break
            saving += now - small
        if not ok:
            continue
        stat["flagged"].append(session)
        stat["usd"] += saving
        stat["tokens"] += sum(t.total_tokens for _, _, t in parts)
        stat["models"].update(m for m, _, _ in parts)
    out_recs = []
    for agent_type, s in sorted(by_type.items()):
        k = len(s["flagged"])
        if (
            agent_type == "main"
            or k < MECH_MIN_RUNS
            or k / s["runs"] < MECH_MIN_SHARE
            or s["usd"] < MIN_ESTIMATE_USD
        ):
            continue
        out_recs.append(_rec(
            "large-model-mechanical", f"{agent_type} agents run short mechanical tasks on a large model",
            f"Give the {agent_type} agent type a smaller model (e.g. `model: haiku` in its agent definition):"
            f" {k} of its {s['runs']} runs made at most {MECH_MAX_RESPONSES} responses averaging at most"
            f" {MECH_MAX_OUTPUT_PER_RESPONSE} output tokens on {', '.join(sorted(s['models']))}.",
            "savings", s["usd"], s["tokens"], s["flagged"],
            {"agent_type": agent_type, "runs": s["runs"], "short_runs_on_large_model": k,
             "models": sorted(s["models"]), "compared_with": SMALL_MODEL},
            {"max_responses": MECH_MAX_RESPONSES, "max_output_per_response": MECH_MAX_OUTPUT_PER_RESPONSE,
             "min_runs": MECH_MIN_RUNS, "min_share": MECH_MIN_SHARE},
        ))  # fmt: skip
    return out_recs


def low_cache_hit(
    ledger: Ledger, scope: Scope, by: str, rows: list[SumRow], prices: PriceTable
) -> list[dict[str, Any]]:
    groups: dict[str, list[tuple[str, bool, Totals]]] = {}
    for key, model, lc, t in rows:
        groups.setdefault(key, []).append((model, lc, t))
    recs = []
    for key, parts in sorted(groups.items()):
        total = Totals()
        for _, _, t in parts:
            total.merge(t)
        side = total.input_tokens + total.cache_creation_tokens + total.cache_read_tokens
        hit = cache_hit_rate(total)
        if hit is None or side < LOW_CACHE_MIN_INPUT_SIDE or hit >= LOW_CACHE_HIT_RATE:
            continue
        scale = (1 - CACHE_HIT_TARGET) / (1 - hit)
        usd, moved, ok = 0.0, 0, True
        for model, lc, t in parts:
            now = prices.cost(model, t.input_tokens, t.output_tokens, t.cache_creation_5m_tokens,
                              t.cache_creation_1h_tokens, t.cache_read_tokens, long_context=lc)  # fmt: skip
            inp, c5, c1 = (round(x * scale) for x in (t.input_tokens, t.cache_creation_5m_tokens,
                                                        t.cache_creation_1h_tokens))  # fmt: skip
            shift = t.input_tokens + t.cache_creation_tokens - inp - c5 - c1
            target = prices.cost(
                model, inp, t.output_tokens, c5, c1, t.cache_read_tokens + shift, long_context=lc
            )
            if now is None or target is None:
                ok = False
                break
            usd += now - target
            moved += shift
        if not ok or usd < MIN_ESTIMATE_USD:
            continue
        label = "agent type" if by == "agent" else "project"
        recs.append(_rec(
            "low-cache-hit", f"low cache-hit rate for {label} {key or '(unknown)'}",
            f"Only {hit:.0%} of the input side of {label} {key or '(unknown)'} was read from cache. Keep"
            " prompts stable at the start (system prompt, CLAUDE.md, tool list), avoid idle gaps longer than the"
            " cache TTL mid-task, and resume sessions instead of starting over.",
            "savings", usd, moved, sessions_of(ledger, scope, by, key),
            {label.replace(" ", "_"): key, "cache_hit_rate": round(hit, 4), "input_side_tokens": side,
             "cache_read_tokens": total.cache_read_tokens, "cache_write_tokens": total.cache_creation_tokens,
             "uncached_input_tokens": total.input_tokens, "target_rate": CACHE_HIT_TARGET},
            {"below_rate": LOW_CACHE_HIT_RATE, "min_input_side_tokens": LOW_CACHE_MIN_INPUT_SIDE,
             "target_rate": CACHE_HIT_TARGET},
        ))  # fmt: skip
    return recs


def threads(
    ledger: Ledger, scope: Scope
) -> tuple[dict[str, int], dict[str, int], dict[str, list[str]], dict[str, Any]]:
    """One pass over every thread: 1-hour writes (all and unread, by model), and compactions by session."""
    all_1h: dict[str, int] = {}
    unread: dict[str, int] = {}
    unread_sessions: dict[str, list[str]] = {}
    compactions: dict[str, Any] = {}
    thread: tuple[str, str] | None = None
    pending: list[tuple[int, str, int]] = []  # 1h writes not yet seen read: (ts, model, tokens)
    prev_ctx = 0

    def flush() -> None:
        for _ts, model, n in pending:
            unread[model] = unread.get(model, 0) + n
            if thread is not None:
                unread_sessions.setdefault(model, []).append(thread[0])
        pending.clear()

    for session, agent, ts, model, inp, c5, c1, cr in thread_rows(ledger, scope):
        if (session, agent) != thread:
            flush()
            thread, prev_ctx = (session, agent), 0
        if cr > 0:
            expired = [p for p in pending if ts - p[0] > ONE_HOUR_MS]  # gone before this read
            for _ts, m, n in expired:
                unread[m] = unread.get(m, 0) + n
                unread_sessions.setdefault(m, []).append(session)
            pending.clear()
        if c1 > 0:
            all_1h[model] = all_1h.get(model, 0) + c1
            pending.append((ts, model, c1))
        if not agent:
            ctx = inp + c5 + c1 + cr
            if prev_ctx >= COMPACTION_MIN_CONTEXT and ctx <= prev_ctx * COMPACTION_DROP_RATIO:
                compactions.setdefault(session, []).append((model, c5, c1))
            prev_ctx = ctx
    flush()
    return all_1h, unread, unread_sessions, compactions


def unread_1h(all_1h: dict[str, int], unread: dict[str, int], sessions: dict[str, list[str]],
              prices: PriceTable) -> list[dict[str, Any]]:  # fmt: skip
    total, never = sum(all_1h.values()), sum(unread.values())
    if not total or never / total < UNREAD_1H_MIN_SHARE:
        return []
    usd = 0.0
    for model, n in unread.items():
        as_1h, as_5m = prices.cost(model, 0, 0, 0, n, 0), prices.cost(model, 0, 0, n, 0, 0)
        if as_1h is None or as_5m is None:
            continue
        usd += as_1h - as_5m
    if usd < MIN_ESTIMATE_USD:
        return []
    return [_rec(
        "unread-1h-cache", "1-hour cache writes that are never read",
        f"{never / total:.0%} of 1-hour cache write tokens were never read within the hour by the same"
        " thread. Use the default 5-minute cache TTL unless work really pauses for more than 5 minutes and resumes"
        " within the hour.",
        "savings", usd, never, [s for v in sessions.values() for s in v],
        {"cache_write_1h_tokens": total, "unread_1h_tokens": never, "unread_share": round(never / total, 4)},
        {"read_within_ms": ONE_HOUR_MS, "min_unread_share": UNREAD_1H_MIN_SHARE},
    )]  # fmt: skip


def frequent_compaction(compactions: dict[str, Any], otlp: dict[str, list[tuple[str, int, int, int, int, int]]],
                        prices: PriceTable) -> list[dict[str, Any]]:  # fmt: skip
    flagged: list[str] = []
    usd, tokens, count = 0.0, 0, 0
    for session in sorted(set(compactions) | set(otlp)):
        found = compactions.get(session, [])
        calls = otlp.get(session, [])
        n = max(len(found), len(calls))
        if n < COMPACTION_MIN_PER_SESSION:
            continue
        flagged.append(session)
        count += n
        for model, c5, c1 in found:
            usd += prices.cost(model, 0, 0, c5, c1, 0) or 0.0
            tokens += c5 + c1
        for model, inp, outp, c5, c1, cr in calls:
            usd += prices.cost(model, inp, outp, c5, c1, cr) or 0.0
            tokens += inp + outp + c5 + c1 + cr
    if not flagged or usd < MIN_ESTIMATE_USD:
        return []
    return [_rec(
        "frequent-compaction", "sessions that compact again and again",
        f"{len(flagged)} session(s) compacted {count} times in all; each compaction re-writes the context"
        " into the cache. Start a fresh session per task (/clear), keep exploration in subagents, and trim"
        " large tool outputs.",
        "savings", usd, tokens, flagged,
        {"sessions_flagged": len(flagged), "compactions": count},
        {"drop_ratio": COMPACTION_DROP_RATIO, "min_context_tokens": COMPACTION_MIN_CONTEXT,
         "min_per_session": COMPACTION_MIN_PER_SESSION},
    )]  # fmt: skip


def concentration(session_rows: list[SumRow], prices: PriceTable) -> list[dict[str, Any]]:
    sessions = priced_by_key(session_rows, prices)
    n = len(sessions)
    spend = sum(cost(t) for t in sessions.values())
    if n < CONCENTRATION_MIN_SESSIONS or spend <= 0:
        return []
    k = max(1, math.floor(n * CONCENTRATION_TOP_FRACTION))
    top = sorted(sessions.items(), key=lambda kv: (-cost(kv[1]), kv[0]))[:k]
    top_usd = sum(cost(t) for _, t in top)
    share = top_usd / spend
    if share < CONCENTRATION_MIN_SHARE or top_usd < MIN_ESTIMATE_USD:
        return []
    return [_rec(
        "cost-concentration", f"{k} of {n} sessions carry {share:.0%} of the cost",
        "Look at these sessions first: long-running contexts, big tool outputs or a large model for routine"
        " work. Splitting them into shorter sessions keeps every request's context smaller.",
        "cost", top_usd, sum(t.total_tokens for _, t in top), [s for s, _ in top],
        {"sessions": n, "top_sessions": k, "top_cost_share": round(share, 4), "total_cost_usd": round_usd(spend)},
        {"min_sessions": CONCENTRATION_MIN_SESSIONS, "top_fraction": CONCENTRATION_TOP_FRACTION,
         "min_share": CONCENTRATION_MIN_SHARE},
    )]  # fmt: skip


def recommendations(
    ledger: Ledger, scope: Scope, prices: PriceTable, rows: Callable[[str], list[SumRow]] | None = None
) -> list[dict[str, Any]]:
    """Every recommendation the ledger's data supports, largest estimate first. `rows(by)` gives
    the sums by `by` (cchooks.ledger.analysis.KEYS), when the caller has them already."""
    th = prices.long_context_threshold
    rows = rows or (lambda by: sums(ledger, by, scope, th))
    recs = large_model_mechanical(rows("run"), prices)
    recs += low_cache_hit(ledger, scope, "agent", rows("agent"), prices)
    recs += low_cache_hit(ledger, scope, "project", rows("project"), prices)
    all_1h, unread, unread_sessions, compactions = threads(ledger, scope)
    recs += unread_1h(all_1h, unread, unread_sessions, prices)
    recs += frequent_compaction(compactions, otlp_compactions(ledger, scope), prices)
    recs += concentration(rows("session"), prices)
    recs.sort(key=lambda r: -(r["estimate_usd"] or 0))
    return recs


__all__ = ["price", "recommendations"]
