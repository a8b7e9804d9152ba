"""Turn ledger sums into priced report rows. Views only: no file parsing here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from cchooks.ledger.queries import GroupSums, group_sums, session_projects
from cchooks.ledger.store import Ledger
from cchooks.pricing import PriceTable

KEY_NAMES = {
    "daily": "date",
    "weekly": "week",
    "monthly": "month",
    "session": "session_id",
    "project": "project",
    "model": "model",
    "agent": "agent",
    "total": "total",
}


@dataclass(slots=True)
class Totals:
    responses: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_5m_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    cache_read_tokens: int = 0
    web_search_requests: int = 0
    cost_usd: float = 0.0  # priced responses only
    unpriced_tokens: int = 0  # tokens of models with no known price
    first_ms: int | None = None
    last_ms: int | None = None
    estimated_responses: int = 0  # output only from streaming-partial lines: a lower bound (`~`)

    @property
    def cache_creation_tokens(self) -> int:
        return self.cache_creation_5m_tokens + self.cache_creation_1h_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation_tokens + self.cache_read_tokens

    @property
    def cost_known(self) -> bool:
        return self.unpriced_tokens == 0

    def add(self, s: GroupSums, cost: float | None) -> None:
        self.responses += s.responses
        self.input_tokens += s.input_tokens
        self.output_tokens += s.output_tokens
        self.cache_creation_5m_tokens += s.cache_5m_tokens
        self.cache_creation_1h_tokens += s.cache_1h_tokens
        self.cache_read_tokens += s.cache_read_tokens
        self.web_search_requests += s.web_search_requests
        self.estimated_responses += s.estimated_responses
        if cost is None:
            self.unpriced_tokens += (
                s.input_tokens + s.output_tokens + s.cache_5m_tokens + s.cache_1h_tokens + s.cache_read_tokens
            )
        else:
            self.cost_usd += cost
        self.first_ms = s.first_ms if self.first_ms is None else min(self.first_ms, s.first_ms)
        self.last_ms = s.last_ms if self.last_ms is None else max(self.last_ms, s.last_ms)

    def to_json(self) -> dict[str, Any]:
        return {
            "responses": self.responses,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
            "cache_creation_5m_tokens": self.cache_creation_5m_tokens,
            "cache_creation_1h_tokens": self.cache_creation_1h_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "total_tokens": self.total_tokens,
            # null when nothing in the row could be priced; see unpriced_tokens otherwise
            "cost_usd": round(self.cost_usd, 6) if self.cost_known or self.cost_usd else None,
            "unpriced_tokens": self.unpriced_tokens,
            "web_search_requests": self.web_search_requests,
            "estimated_responses": self.estimated_responses,
        }


@dataclass(slots=True)
class ReportRow:
    key: str
    totals: Totals = field(default_factory=Totals)
    models: dict[str, Totals] = field(default_factory=dict)
    project: str | None = None  # session reports

    def to_json(self, key_name: str, breakdown: bool) -> dict[str, Any]:
        out: dict[str, Any] = {key_name: self.key}
        if self.project is not None:
            out["project"] = self.project
        out.update(self.totals.to_json())
        out["models"] = sorted(self.models)
        if self.totals.first_ms is not None:
            out["first_ms"] = self.totals.first_ms
            out["last_ms"] = self.totals.last_ms
        if breakdown:
            out["breakdown"] = [dict(model=m, **t.to_json()) for m, t in sorted(self.models.items())]
        return out


@dataclass(slots=True)
class Report:
    group: str
    rows: list[ReportRow]
    totals: Totals
    unpriced_models: list[str]

    @property
    def key_name(self) -> str:
        return KEY_NAMES[self.group]

    def to_json(self, breakdown: bool = False) -> dict[str, Any]:
        return {
            "group": self.group,
            "rows": [r.to_json(self.key_name, breakdown) for r in self.rows],
            "totals": self.totals.to_json(),
            "unpriced_models": self.unpriced_models,
        }


def cost_of_sums(prices: PriceTable, s: GroupSums) -> float | None:
    price = prices.lookup(s.model)
    if price is None:
        return None
    long_context = s.long_context and price.long_context_threshold is not None
    return price.cost(
        s.input_tokens, s.output_tokens, s.cache_5m_tokens, s.cache_1h_tokens, s.cache_read_tokens,
        long_context=long_context,
    )  # fmt: skip


def build_report(
    ledger: Ledger,
    group: str,
    tz: tzinfo,
    prices: PriceTable,
    since_ms: int | None = None,
    until_ms: int | None = None,
    session_id: str | None = None,
    project: str | None = None,
) -> Report:
    rows: dict[str, ReportRow] = {}
    total = Totals()
    unpriced: set[str] = set()
    for s in group_sums(ledger, group, tz, since_ms, until_ms, session_id, project):
        cost = cost_of_sums(prices, s)
        if cost is None:
            unpriced.add(s.model)
        row = rows.setdefault(s.key, ReportRow(s.key))
        row.totals.add(s, cost)
        row.models.setdefault(s.model, Totals()).add(s, cost)
        total.add(s, cost)
    ordered = list(rows.values())
    if group == "session":
        projects = session_projects(ledger, [r.key for r in ordered])
        for r in ordered:
            r.project = projects.get(r.key, "")
        ordered.sort(key=lambda r: r.totals.last_ms or 0)
    elif group in ("project", "model", "agent"):
        ordered.sort(key=lambda r: -(r.totals.cost_usd or 0) - r.totals.total_tokens * 1e-12)
    return Report(group, ordered, total, sorted(unpriced))
