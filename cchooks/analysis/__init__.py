"""`cchooks analyze`: where the tokens go (by agent type), what they cost (cost analysis), and what
to change (recommendations with evidence). Views only: every figure is a ledger query priced
with `PriceTable.cost`; docs/analyze.md explains each one.
"""

from __future__ import annotations

from typing import Any

from cchooks.analysis.common import cache_hit_rate, cost, priced_by_key, rate
from cchooks.analysis.costs import cost_analysis
from cchooks.analysis.recommend import recommendations
from cchooks.ledger.analysis import SEP, Scope, counts_by_agent, sums
from cchooks.pricing import PriceTable
from cchooks.totals import SCHEMA_VERSION, Totals, iso_ms

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from cchooks.ledger.store import Ledger
    from cchooks.ledger.sums import SumRow

SECTIONS = ("breakdown", "cost_analysis", "recommendations")


def analyze(
    ledger: Ledger, prices: PriceTable, scope: Scope, sections: tuple[str, ...] = SECTIONS
) -> dict[str, Any]:
    """The analysis as one JSON document (docs/analyze.md)."""
    th = prices.long_context_threshold
    cache: dict[str, list[SumRow]] = {}

    def rows(by: str) -> list[SumRow]:
        # Each grouping is queried once; pricing a row again only sets the same figures again.
        if by not in cache:
            cache[by] = sums(ledger, by, scope, th)
        return cache[by]

    total = Totals()
    for t in priced_by_key(rows("all"), prices).values():
        total.merge(t)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "since_ms": scope.since_ms, "until_ms": scope.until_ms, "since": iso_ms(scope.since_ms),
        "until": iso_ms(scope.until_ms), "agent": scope.agent,
        "totals": dict(cache_hit_rate=rate(cache_hit_rate(total)), **total.to_json()),
    }  # fmt: skip
    if "breakdown" in sections:
        doc["breakdown"], doc["agents"] = breakdown(ledger, prices, scope, total, rows)
    if "cost_analysis" in sections:
        doc["cost_analysis"] = cost_analysis(rows("all"), prices)
    if "recommendations" in sections:
        doc["recommendations"] = recommendations(ledger, scope, prices, rows)
    return doc


def breakdown(
    ledger: Ledger, prices: PriceTable, scope: Scope, total: Totals, rows: Callable[[str], list[SumRow]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per agent type (main thread and each subagent type) and per agent run, largest cost first."""
    by_type = priced_by_key(rows("agent"), prices)
    counts = counts_by_agent(ledger, scope)
    spend = cost(total)
    types = []
    for agent_type, t in sorted(by_type.items(), key=lambda kv: (-cost(kv[1]), -kv[1].total_tokens, kv[0])):
        sessions, runs = counts.get(agent_type, (0, 0))
        types.append(dict(
            agent_type=agent_type, sessions=sessions, agents=runs, cache_hit_rate=rate(cache_hit_rate(t)),
            cost_share=round(cost(t) / spend, 4) if spend else None,
            token_share=round(t.total_tokens / total.total_tokens, 4) if total.total_tokens else None,
            **t.to_json(),
        ))  # fmt: skip
    agents = []
    for key, t in priced_by_key(rows("run"), prices).items():
        agent_id, session_id, agent_type = key.split(SEP, 2)
        agents.append(dict(agent_id=agent_id, agent_type=agent_type, session_id=session_id,
                           cache_hit_rate=rate(cache_hit_rate(t)), **t.to_json()))  # fmt: skip
    agents.sort(key=lambda a: (-(a["cost_usd"] or 0), a["agent_id"], a["session_id"]))
    return types, agents


# -- text and CSV -------------------------------------------------------------------------------


def _usd(v: float | None) -> str:
    return "?" if v is None else f"${v:,.2f}"


def _tok(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"


def render_text(doc: dict[str, Any]) -> str:
    t = doc["totals"]
    span = f"{doc['since'] or 'start'} .. {doc['until'] or 'now'}" if doc["since"] or doc["until"] else "all time"
    out = [f"Analysis ({span}){' (agent ' + doc['agent'] + ')' if doc['agent'] else ''}: {t['responses']:,} responses,"
           f" {_tok(t['total_tokens'])} tokens, {_usd(t['cost_usd'])}, cache hit {_pct(t['cache_hit_rate'])}"]  # fmt: skip
    if "breakdown" in doc:
        out += [
            "",
            f"{'agent type':<22} {'sess':>5} {'runs':>5} {'resp':>6} {'tokens':>8} {'cost':>10} {'share':>6} {'hit':>5}",
        ]
        for r in doc["breakdown"]:
            out.append(
                f"{r['agent_type'][:22]:<22} {r['sessions']:>5} {r['agents']:>5} {r['responses']:>6}"
                f" {_tok(r['total_tokens']):>8} {_usd(r['cost_usd']):>10} {_pct(r['cost_share']):>6}"
                f" {_pct(r['cache_hit_rate']):>5}"
            )
        if doc["agent"] and doc.get("agents"):
            out += ["", f"{'agent id':<20} {'session':<10} {'resp':>6} {'tokens':>8} {'cost':>10}"]
            for a in doc["agents"][:15]:
                out.append(f"{a['agent_id'][:20]:<20} {a['session_id'][:8]:<10} {a['responses']:>6}"
                           f" {_tok(a['total_tokens']):>8} {_usd(a['cost_usd']):>10}")  # fmt: skip
    if "cost_analysis" in doc:
        c = doc["cost_analysis"]
        kinds = ", ".join(f"{k['kind'].replace('_', ' ')} {_usd(k['cost_usd'])}" for k in c["by_token_type"])
        cache = c["caching"]
        mix = ", ".join(f"{m['model']} {_pct(m['cost_share'])}" for m in c["model_mix"][:4])
        lc = c["long_context"]
        out += ["", f"Cost by token type: {kinds}",
                f"Caching saved {_usd(cache['saved_usd'])} ({_pct(cache['saved_share'])}) against"
                f" {_usd(cache['without_cache_usd'])} without caching",
                f"Model mix (cost): {mix or '-'}",
                f"Long context: {_pct(lc['token_share'])} of tokens, {_pct(lc['cost_share'])} of cost"]  # fmt: skip
        if c["unpriced_models"]:
            out.append(f"Unpriced models (not in dollar figures): {', '.join(c['unpriced_models'])}")
    if "recommendations" in doc:
        recs = doc["recommendations"]
        out += [
            "",
            "Recommendations:" if recs else "Recommendations: none (nothing in the data crosses a threshold)",
        ]
        for i, r in enumerate(recs, 1):
            what = "could save" if r["estimate_kind"] == "savings" else "cost"
            out.append(f"{i}. {r['title']}: {what} ~{_usd(r['estimate_usd'])} / {_tok(r['estimate_tokens'])} tokens"
                       f" ({r['session_count']} session{'' if r['session_count'] == 1 else 's'})")  # fmt: skip
            out.append(f"   {r['advice']}")
    return "\n".join(out)


CSV_FIELDS = ("section", "key", "session_id", "responses", "input_tokens", "output_tokens",
              "cache_creation_5m_tokens", "cache_creation_1h_tokens", "cache_read_tokens", "total_tokens",
              "cost_usd", "cache_hit_rate", "estimate_usd", "estimate_tokens", "note")  # fmt: skip


def csv_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per total, agent type, agent run, model and recommendation."""
    rows: list[dict[str, Any]] = [dict(section="total", key="total", **doc["totals"])]
    for r in doc.get("breakdown", []):
        rows.append(dict(section="agent_type", key=r["agent_type"], **r))
    for a in doc.get("agents", []):
        rows.append(dict(section="agent", key=f"{a['agent_type']}:{a['agent_id']}", **a))
    for m in doc.get("cost_analysis", {}).get("model_mix", []):
        rows.append(dict(section="model", key=m["model"], **m))
    for r in doc.get("recommendations", []):
        rows.append(dict(section="recommendation", key=r["id"], estimate_usd=r["estimate_usd"],
                         estimate_tokens=r["estimate_tokens"], note=r["title"]))  # fmt: skip
    return [{k: row.get(k) for k in CSV_FIELDS} for row in rows]
