"""One session in detail: its responses, its subagents and the calls only OTLP saw (the dashboard's drill-down)."""

from __future__ import annotations

from typing import Any

from cchooks.ledger.store import Ledger
from cchooks.pricing import PriceTable
from cchooks.records import SOURCE_OTLP
from cchooks.totals import SCHEMA_VERSION, Totals, iso_ms, round_usd

MAX_RESPONSES = 5000  # a session's response list is cut here (the totals still count every one)


def session_document(ledger: Ledger, session_id: str, prices: PriceTable) -> dict[str, Any] | None:
    """None when the ledger has no response of `session_id`."""
    records = list(ledger.records(session_id=session_id))
    if not records:
        return None
    total = Totals()
    main = Totals()
    agents: dict[str, Totals] = {}
    agent_types: dict[str, str | None] = {}
    otlp_only = Totals()
    responses: list[dict[str, Any]] = []
    project = ""
    for r in records:
        cost = prices.record_cost(r)
        total.add_record(r, cost)
        if r.agent_id:
            agents.setdefault(r.agent_id, Totals()).add_record(r, cost)
            agent_types.setdefault(r.agent_id, r.agent_type)
        else:
            main.add_record(r, cost)
        if r.source == SOURCE_OTLP:
            otlp_only.add_record(r, cost)
        project = project or r.project or r.project_dir or ""
        if len(responses) < MAX_RESPONSES:
            responses.append({
                "key": r.request_id or r.message_id, "ts_ms": r.timestamp_ms, "at": iso_ms(r.timestamp_ms),
                "model": r.model, "agent_id": r.agent_id, "agent_type": r.agent_type, "source": r.source,
                "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                "cache_creation_5m_tokens": r.cache_creation_5m_tokens,
                "cache_creation_1h_tokens": r.cache_creation_1h_tokens,
                "cache_read_tokens": r.cache_read_tokens, "cost_usd": round_usd(cost),
            })  # fmt: skip
    return {
        "schema_version": SCHEMA_VERSION,
        "session_id": session_id,
        "project": project,
        "totals": total.to_json(),
        "main": main.to_json(),
        "subagents": [
            {"agent_id": a, "agent_type": agent_types.get(a), **t.to_json()}
            for a, t in sorted(agents.items(), key=lambda kv: kv[1].first_ms or 0)
        ],
        "otlp_only": otlp_only.to_json(),
        "responses": responses,
        "responses_truncated": len(records) > len(responses),
    }
