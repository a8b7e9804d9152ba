"""Build Claude Code-shaped transcript lines for tests (shape taken from the 2.1.330 fixtures)."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Resp:
    n: int
    session: str
    inp: int
    out: int
    c5: int
    c1: int
    cr: int
    ts: str = "2026-11-22T11:45:01.165Z"
    model: str = "claude-opus-5-5"
    agent: str | None = None

    @property
    def mid(self) -> str:
        return f"msg_{self.n}"

    @property
    def rid(self) -> str:
        return f"req_{self.n}"


def assistant_line(r: Resp, *, block: int = 0, out: int | None = None, session: str | None = None,
                   request_session: str | None = None) -> str:
    obj: dict = {
        "parentUuid": None,
        "isSidechain": r.agent is not None,
        "message": {
            "id": r.mid, "type": "message", "role": "assistant", "model": r.model,
            "content": [{"type": "text", "text": f"block {block} of {r.n} with \"usage\" in text"}],
            "stop_reason": "end_turn",
            "usage": {
                "input_tokens": r.inp, "cache_creation_input_tokens": r.c5 + r.c1,
                "cache_read_input_tokens": r.cr, "output_tokens": r.out if out is None else out,
                "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                "service_tier": "standard",
                "cache_creation": {"ephemeral_1h_input_tokens": r.c1, "ephemeral_5m_input_tokens": r.c5},
                "speed": "standard", "future_field": {"x": 1},
            },
        },
        "apiBlockIndex": block,
        "requestId": r.rid,
        "type": "assistant",
        "uuid": f"u-{r.n}-{block}",
        "timestamp": r.ts,
        "cwd": "/tmp/proj",
        "sessionId": session or r.session,
        "version": "2.1.330",
    }
    if r.agent:
        obj["agentId"] = r.agent
        obj["attributionAgent"] = "general-purpose"
    if request_session:
        obj["requestSessionId"] = request_session
    return json.dumps(obj, separators=(",", ":"))


def noise_lines(r: Resp) -> list[str]:
    """Lines that carry usage-like numbers but are never billed responses."""
    return [
        json.dumps({"type": "user", "sessionId": r.session, "toolUseResult": {
            "usage": {"input_tokens": 999999, "output_tokens": 99999}, "totalTokens": 1}}),
        json.dumps({"type": "cost-state", "sessionId": r.session, "totalCostUSD": 9.9,
                    "modelUsage": {r.model: {"inputTokens": 123456, "outputTokens": 1}}}),
        json.dumps({"type": "assistant", "sessionId": r.session, "timestamp": r.ts, "requestId": "req_syn",
                    "message": {"id": "msg_syn", "model": "<synthetic>", "usage": {"input_tokens": 5}}}),
        json.dumps({"type": "assistant", "isApiErrorMessage": True, "sessionId": r.session, "timestamp": r.ts,
                    "requestId": "req_err", "message": {"id": "msg_err", "model": r.model,
                                                         "usage": {"input_tokens": 7}}}),
        json.dumps({"type": "attachment", "sessionId": r.session, "attachment": {"type": "x"}}),
    ]


def totals(resps: list[Resp]) -> dict[str, int]:
    return {
        "responses": len(resps),
        "input": sum(r.inp for r in resps),
        "output": sum(r.out for r in resps),
        "c5": sum(r.c5 for r in resps),
        "c1": sum(r.c1 for r in resps),
        "cr": sum(r.cr for r in resps),
    }


def record_totals(records) -> dict[str, int]:  # type: ignore[no-untyped-def]
    records = list(records)
    return {
        "responses": len(records),
        "input": sum(r.input_tokens for r in records),
        "output": sum(r.output_tokens for r in records),
        "c5": sum(r.cache_creation_5m_tokens for r in records),
        "c1": sum(r.cache_creation_1h_tokens for r in records),
        "cr": sum(r.cache_read_tokens for r in records),
    }
