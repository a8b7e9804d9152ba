"""The Prometheus exposition of the ledger: what `GET /metrics` of `cchooks serve` and `cchooks metrics` print.

`exposition(ledger_path, config_path)` registers one `LedgerCollector` on a fresh registry and
renders it with `prometheus_client.generate_latest`.

Why the counters are right where Claude Code's own are not: each is a sum over the ledger, which
stores every API response once and every OTLP point once, and only ever adds rows or replaces a
response with a more complete copy of itself. So every series has one writer (this process reading
the ledger) and stays monotonic across restarts of the server and re-ingests of the same files.
docs/prometheus.md lists every family, its labels, and the few ways a counter can still fall.

The window gauges and the session count ("slow" families: the windows read weeks of responses, as
`cchooks limits` does) are kept per (ledger, config) for `[metrics] slow_max_age_seconds` and then
recomputed in a background thread while scrapes get the previous figures: after the first scrape,
none waits for them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from cchooks.config.model import Config, MetricsConfig
from cchooks.ledger.store import Ledger
from cchooks.pricing import PriceTable
from cchooks.totals import Totals

# The Prometheus text format every Prometheus 2.x and 3.x reads (what generate_latest writes).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

OTHER = "other"  # the label value of everything past a label's cap

# (label value, Totals attribute) of each token type. Cache writes are one type here: a transcript's
# 5m/1h split may replace the all-5m figure of an older Claude Code's OTLP event (same total), which
# would make a per-TTL counter fall; the split has its own family (cchooks_cache_creation_tokens_total).
TOKEN_TYPES = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache_creation", "cache_creation_tokens"),
    ("cache_read", "cache_read_tokens"),
)
CACHE_TTLS = (("5m", "cache_creation_5m_tokens"), ("1h", "cache_creation_1h_tokens"))

WINDOWS = ("five_hour", "week", "month")

Samples = Iterable[tuple[Sequence[str], float | None]]


@dataclass(frozen=True, slots=True)
class OtlpFamily:
    """One of Claude Code's own OTLP sum metrics, re-exported from the stored points."""

    metric: str  # the OTLP name
    name: str  # the Prometheus family (without _total)
    doc: str
    attributes: tuple[str, ...] = ()  # OTLP point attributes kept as labels (same names)


CLAUDE_CODE_FAMILIES = (
    OtlpFamily("claude_code.session.count", "cchooks_claude_code_sessions",
               "Claude Code sessions started (OTLP claude_code.session.count), by start type.", ("start_type",)),
    OtlpFamily("claude_code.active_time.total", "cchooks_claude_code_active_time_seconds",
               "Seconds of active use (OTLP claude_code.active_time.total): type user = typing, cli = working.",
               ("type",)),
    OtlpFamily("claude_code.lines_of_code.count", "cchooks_claude_code_lines_of_code",
               "Lines of code changed (OTLP claude_code.lines_of_code.count), type added or removed.", ("type",)),
    OtlpFamily("claude_code.commit.count", "cchooks_claude_code_commits",
               "Git commits made by Claude Code (OTLP claude_code.commit.count)."),
    OtlpFamily("claude_code.pull_request.count", "cchooks_claude_code_pull_requests",
               "Pull requests created by Claude Code (OTLP claude_code.pull_request.count)."),
    OtlpFamily("claude_code.code_edit_tool.decision", "cchooks_claude_code_code_edit_tool_decisions",
               "Edit-tool permission decisions (OTLP claude_code.code_edit_tool.decision).",
               ("tool_name", "decision", "source", "language")),
    OtlpFamily("claude_code.token.usage", "cchooks_claude_code_tokens",
               "Tokens as Claude Code's own counter reports them (OTLP claude_code.token.usage), for"
               " comparison with cchooks_tokens_total.", ("model", "type")),
    OtlpFamily("claude_code.cost.usage", "cchooks_claude_code_cost_usd",
               "USD as Claude Code's own counter reports it (OTLP claude_code.cost.usage), for comparison"
               " with cchooks_cost_usd_total.", ("model",)),
)  # fmt: skip


def cap_labels(
    rows: Iterable[tuple[tuple[str, ...], float, int]], limit: int
) -> dict[tuple[str, ...], float]:
    """Sum rows of (label values, value, first seen) into at most `limit` values per label.

    Each label keeps the `limit` values seen first (smallest first-seen); the rest become "other".
    Values only ever arrive later, so a kept value stays kept and "other" never shrinks.
    """
    rows = list(rows)
    if not rows:
        return {}
    kept: list[set[str]] = []
    for i in range(len(rows[0][0])):
        first: dict[str, int] = {}
        for values, _v, seen in rows:
            first[values[i]] = min(seen, first.get(values[i], seen))
        kept.append(set(sorted(first, key=lambda k: (first[k], k))[:limit]))
    out: dict[tuple[str, ...], float] = {}
    for values, v, _seen in rows:
        key = tuple(x if x in kept[i] else OTHER for i, x in enumerate(values))
        out[key] = out.get(key, 0.0) + v
    return out


def _priced(
    rows: Iterable[tuple[str, str, bool, Totals]], prices: PriceTable
) -> list[tuple[str, str, Totals]]:
    """(key, model, Totals with its cost) per sum row, priced by the one cost function."""
    out = []
    for key, model, long_context, t in rows:
        out.append((key, model, prices.price_totals(model, t, long_context)))
    return out


def _merge_by(rows: Iterable[tuple[str, Totals]]) -> dict[str, Totals]:
    out: dict[str, Totals] = {}
    for key, t in rows:
        out.setdefault(key, Totals()).merge(t)
    return dict(sorted(out.items()))


def _counter(name: str, doc: str, labels: Sequence[str], samples: Samples) -> Metric:
    fam = CounterMetricFamily(name, doc, labels=list(labels))
    for values, v in samples:
        if v is not None:
            fam.add_metric(list(values), float(v))
    return fam


def _gauge(name: str, doc: str, labels: Sequence[str], samples: Samples) -> Metric:
    fam = GaugeMetricFamily(name, doc, labels=list(labels))
    for values, v in samples:
        if v is not None:
            fam.add_metric(list(values), float(v))
    return fam


def _tokens(by: dict[str, Totals]) -> Samples:
    return [((key, kind), getattr(t, attr)) for key, t in by.items() for kind, attr in TOKEN_TYPES]


def _cost(by: dict[str, Totals]) -> Samples:
    # A key whose responses have no price has no cost series: its cost is unknown, not 0.
    return [((key,), t.cost_usd) for key, t in by.items() if t.priced or not t.responses]


def _responses(by: dict[str, Totals]) -> Samples:
    return [((key,), t.responses) for key, t in by.items()]


def ledger_families(ledger: Ledger, prices: PriceTable) -> list[Metric]:
    """The deduplicated responses: by model, by source, OTLP-only, freshness."""
    from cchooks.ledger import metrics as q

    threshold_of = prices.long_context_threshold
    rows = _priced(q.response_sums(ledger, threshold_of) + q.extra_source_sums(ledger, threshold_of), prices)
    by_model = _merge_by((model, t) for _src, model, t in rows)
    # The sources every ledger has always have a series (0 until they see a response), so the
    # first response they see is an increase, not the start of a new series.
    by_source = _merge_by(
        [(src, Totals()) for src in q.ALWAYS_SOURCES]
        + [(w, t) for src, _m, t in rows for w in q.witnesses(src)]
    )
    otlp_only = _merge_by((model, t) for src, model, t in rows if src == "otlp")
    newest = q.newest_response_ms(ledger)
    last_ingest = ledger.last_ingest_ms()
    return [
        _counter("cchooks_responses", "API responses in the ledger, each counted once, by model.",
                 ("model",), _responses(by_model)),
        _counter("cchooks_tokens", "Tokens of the ledger's responses by model and type (input, output,"
                 " cache_creation, cache_read).", ("model", "type"), _tokens(by_model)),
        _counter("cchooks_cache_creation_tokens", "Cache write tokens by model and TTL (5m, 1h); the sum"
                 " over TTLs is cchooks_tokens_total{type=\"cache_creation\"}. Can move between TTLs when a"
                 " transcript's split replaces an older OTLP event's all-5m figure.", ("model", "ttl"),
                 [((m, ttl), getattr(t, a)) for m, t in by_model.items() for ttl, a in CACHE_TTLS]),
        _counter("cchooks_cost_usd", "USD of the ledger's responses at the price table's rates"
                 " (PriceTable.cost), by model; no series for a model without a price.", ("model",), _cost(by_model)),
        _counter("cchooks_web_search_requests", "Server-side web searches of the ledger's responses, by model.",
                 ("model",), [((m,), t.web_search_requests) for m, t in by_model.items()]),
        _counter("cchooks_source_responses", "Responses each source witnessed (transcript, otlp; manual and"
                 " imported records when present); a response two sources saw counts under both.",
                 ("source",), _responses(by_source)),
        _counter("cchooks_source_tokens", "Tokens of the responses each source witnessed, by type.",
                 ("source", "type"), _tokens(by_source)),
        _counter("cchooks_source_cost_usd", "USD of the responses each source witnessed.",
                 ("source",), _cost(by_source)),
        _gauge("cchooks_otlp_only_responses", "Responses only OTLP has seen so far (e.g. /compact calls); a"
               " gauge: a transcript copy arriving later moves a response out.", ("model",), _responses(otlp_only)),
        _gauge("cchooks_otlp_only_tokens", "Tokens of the responses only OTLP has seen so far, by type.",
               ("type",), [((k,), sum(getattr(t, a) for t in otlp_only.values())) for k, a in TOKEN_TYPES]),
        _gauge("cchooks_ledger_newest_response_timestamp_seconds", "Time of the newest response in the ledger.",
               (), [((), None if newest is None else newest / 1000)]),
        _gauge("cchooks_ledger_last_ingest_timestamp_seconds", "When transcripts were last read into the ledger.",
               (), [((), None if last_ingest is None else last_ingest / 1000)]),
    ]  # fmt: skip


def project_families(ledger: Ledger, prices: PriceTable, cfg: MetricsConfig) -> list[Metric]:
    """Opt-in ([metrics] project_label): per project, the first `max_projects` the ledger stored."""
    from cchooks.ledger import metrics as q

    order = q.project_order(ledger)
    kept = set(order[: cfg.max_projects])
    rows = _priced(q.project_sums(ledger, prices.long_context_threshold), prices)
    by_project = _merge_by(((p if p in kept else OTHER), t) for p, _model, t in rows)
    return [
        _counter("cchooks_project_responses", f"Responses by project (cwd; the first {cfg.max_projects} projects"
                 " the ledger stored, the rest as other). Opt-in: [metrics] project_label.",
                 ("project",), _responses(by_project)),
        _counter("cchooks_project_tokens", "Tokens by project and type. Opt-in: [metrics] project_label.",
                 ("project", "type"), _tokens(by_project)),
        _counter("cchooks_project_cost_usd", "USD by project. Opt-in: [metrics] project_label.",
                 ("project",), _cost(by_project)),
    ]  # fmt: skip


def claude_code_families(ledger: Ledger, cfg: MetricsConfig) -> list[Metric]:
    """Claude Code's own metrics: the sum of the stored OTLP points' deltas, labels capped."""
    from cchooks.ledger.metrics import otlp_metric_sums

    out = []
    for fam in CLAUDE_CODE_FAMILIES:
        sums = cap_labels(otlp_metric_sums(ledger, fam.metric, fam.attributes), cfg.max_label_values)
        out.append(_counter(fam.name, fam.doc, fam.attributes, sorted(sums.items())))
    return out


def slow_families(
    ledger: Ledger, prices: PriceTable, config: Config, now_ms: int | None = None
) -> list[Metric]:
    """The windows against their limits (cchooks.monitor.data, as `cchooks limits`) and the session count."""
    from cchooks.ledger.metrics import ledger_sessions
    from cchooks.monitor.data import ViewContext, load_window_data, summary
    from cchooks.monitor.data import now_ms as clock
    from cchooks.pricing.record_cost import cost_function
    from cchooks.timezones import resolve_tz

    now = clock() if now_ms is None else now_ms
    ctx = ViewContext(
        prices, config.limits.model_dump(), resolve_tz(config.report.timezone), cost_function(prices)
    )
    s = summary(ctx, load_window_data(ledger, now), now)
    w: dict[str, dict[str, Any]] = {k: s[k] for k in WINDOWS}

    def per_window(key: str, scale: float = 1.0) -> Samples:
        return [((k,), None if w[k].get(key) is None else float(w[k][key]) * scale) for k in WINDOWS]

    def burn(key: str) -> Samples:
        return [((k,), (w[k].get("burn") or {}).get(key)) for k in WINDOWS]

    recent = w["five_hour"].get("burn_recent") or {}
    official: dict[str, dict[str, Any]] = s.get("official", {})
    return [
        _counter("cchooks_ledger_sessions", "Sessions with at least one response in the ledger.",
                 (), [((), ledger_sessions(ledger))]),
        _gauge("cchooks_window_used_ratio", "Share of the window's limit used (0-1): Claude Code's official"
               " percentage when a statusline payload reported one, else the ledger against the plan's limits;"
               " absent when no limit is known.", ("window",), per_window("percent", 0.01)),
        _gauge("cchooks_window_used_tokens", "Tokens counted in the current window (in its token measure).",
               ("window",), per_window("used_tokens")),
        _gauge("cchooks_window_used_usd", "USD spent in the current window.", ("window",), per_window("used_cost_usd")),
        _gauge("cchooks_window_limit_tokens", "The window's token limit (plan, learned or configured).",
               ("window",), per_window("token_limit")),
        _gauge("cchooks_window_limit_usd", "The window's USD limit (configured or learned).", ("window",),
               per_window("cost_limit_usd")),
        _gauge("cchooks_window_reset_timestamp_seconds", "When the current window ends (its limit resets);"
               " absent while no 5-hour window is active.", ("window",), per_window("reset_at_ms", 0.001)),
        _gauge("cchooks_window_burn_tokens_per_minute", "Tokens per minute since the window's first response.",
               ("window",), burn("tokens_per_minute")),
        _gauge("cchooks_window_burn_usd_per_hour", "USD per hour since the window's first response.",
               ("window",), burn("cost_per_hour_usd")),
        _gauge("cchooks_burn_tokens_per_minute", "Tokens per minute over the last burn span (60 minutes).",
               (), [((), recent.get("tokens_per_minute", 0.0))]),
        _gauge("cchooks_burn_usd_per_hour", "USD per hour over the last burn span (60 minutes).",
               (), [((), recent.get("cost_per_hour_usd", 0.0))]),
        _gauge("cchooks_rate_limit_used_ratio", "Claude Code's official rate-limit use (0-1) as last reported in"
               " a statusline payload, by window (five_hour, seven_day, ...).", ("window",),
               [((k,), v["used_percentage"] / 100.0) for k, v in official.items()]),
        _gauge("cchooks_rate_limit_reset_timestamp_seconds", "When Claude Code said that rate-limit window resets.",
               ("window",), [((k,), None if v["resets_at_ms"] is None else v["resets_at_ms"] / 1000)
                             for k, v in official.items()]),
        _gauge("cchooks_rate_limit_observed_timestamp_seconds", "When that rate-limit figure was reported.",
               ("window",), [((k,), v["observed_ms"] / 1000) for k, v in official.items()]),
    ]  # fmt: skip


def team_families(doc: dict[str, Any], cfg: MetricsConfig) -> list[Metric]:
    """Per machine of the team ledger (the daemon's in-memory team view, `TeamSync.document()`):
    what each synced, priced here. `host` is the machine's label; the first `max_label_values`
    labels the team ledger saw (first seen first) keep theirs, the rest are `other`."""
    me = doc.get("this_machine") or {}
    out: list[Metric] = [
        _gauge("cchooks_machine_info", "This machine in the team ledger: its label (host) and stable id.",
               ("host", "machine_id"), [((str(me.get("label") or ""), str(me.get("machine_id") or "")), 1.0)]),
    ]  # fmt: skip
    hosts: list[dict[str, Any]] = doc.get("hosts") or []
    if doc.get("pending") or not hosts:
        return out  # no view yet: no team series rather than zeros that would look like a reset
    kept = {k[0] for k in cap_labels([((str(h["label"]),), 0.0, int(h["first_seen_ms"])) for h in hosts],
                                     cfg.max_label_values)}  # fmt: skip
    by: dict[str, dict[str, Any]] = {}
    for h in hosts:
        acc = by.setdefault(str(h["label"]) if h["label"] in kept else OTHER, {"cost": None, "seen": 0, "n": 0})
        acc["n"] += int(h["responses"])
        for _kind, attr in TOKEN_TYPES:
            acc[attr] = acc.get(attr, 0) + int(h[attr])
        if h["cost_usd"] is not None:
            acc["cost"] = (acc["cost"] or 0.0) + float(h["cost_usd"])
        acc["seen"] = max(acc["seen"], int(h["last_seen_ms"]))
    rows = sorted(by.items())
    return out + [
        _counter("cchooks_team_responses", "Responses each machine synced into the team ledger (each response"
                 " counted once, on the machine whose copy the team keeps).", ("host",),
                 [((k,), a["n"]) for k, a in rows]),
        _counter("cchooks_team_tokens", "Tokens each machine synced into the team ledger, by type.", ("host", "type"),
                 [((k, kind), a[attr]) for k, a in rows for kind, attr in TOKEN_TYPES]),
        _counter("cchooks_team_cost_usd", "USD of what each machine synced, at this machine's price table"
                 " (PriceTable.cost); no series for a machine with no priced response.", ("host",),
                 [((k,), a["cost"]) for k, a in rows]),
        _gauge("cchooks_team_last_seen_timestamp_seconds", "When each machine last synced (or heartbeat).",
               ("host",), [((k,), a["seen"] / 1000) for k, a in rows]),
        _gauge("cchooks_team_view_timestamp_seconds", "When the team figures above were read from the team ledger.",
               (), [((), doc["updated_ms"] / 1000)]),
    ]  # fmt: skip


class _SlowCache:
    """The slow families per (ledger, config): served until `max_age`, then refreshed in the background."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, list[Metric]]] = {}
        self._refreshing: set[tuple[str, str]] = set()

    def get(
        self, key: tuple[str, str], max_age: float, compute: Callable[[], list[Metric]],
        refresh: Callable[[], list[Metric]],
    ) -> list[Metric]:  # fmt: skip
        """`compute` runs here (first time, or max_age 0); `refresh` (which opens its own ledger) in a thread."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or max_age <= 0:
            families = compute()
            with self._lock:
                self._entries[key] = (time.monotonic(), families)
            return families
        at, families = entry
        if time.monotonic() - at > max_age:
            with self._lock:
                start = key not in self._refreshing
                self._refreshing.add(key)
            if start:
                threading.Thread(target=self._refresh, args=(key, refresh), daemon=True,
                                 name="cchooks-metrics-refresh").start()  # fmt: skip
        return families

    def _refresh(self, key: tuple[str, str], refresh: Callable[[], list[Metric]]) -> None:
        try:
            families = refresh()
            with self._lock:
                self._entries[key] = (time.monotonic(), families)
        except Exception:  # the previous figures stay; the next stale scrape tries again
            pass
        finally:
            with self._lock:
                self._refreshing.discard(key)


_SLOW = _SlowCache()


class LedgerCollector(Collector):
    """Every family of docs/prometheus.md, read from one open ledger at collect time."""

    def __init__(
        self, ledger: Ledger, config: Config, slow: Callable[[Ledger, PriceTable], list[Metric]] | None = None
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.slow = slow

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration: the registry is fresh for every scrape

    def collect(self) -> Iterator[Metric]:
        from cchooks.api import price_table

        started = time.perf_counter()
        prices = price_table(self.ledger, self.config.price_overrides())
        yield from ledger_families(self.ledger, prices)
        if self.config.metrics.project_label:
            yield from project_families(self.ledger, prices, self.config.metrics)
        yield from claude_code_families(self.ledger, self.config.metrics)
        if self.slow is not None:
            yield from self.slow(self.ledger, prices)
        else:
            yield from slow_families(self.ledger, prices, self.config)
        yield _gauge("cchooks_metrics_collect_seconds", "Seconds this exposition took to read the ledger.",
                     (), [((), time.perf_counter() - started)])  # fmt: skip


class _TeamCollector(Collector):
    def __init__(self, team: Callable[[], dict[str, Any]], cfg: MetricsConfig) -> None:
        self.team = team
        self.cfg = cfg

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from team_families(self.team(), self.cfg)


def open_ledger_for_metrics(path: str | os.PathLike[str] | None) -> Ledger:
    """The ledger, opened for writing when possible (migrating an older file), else read-only."""
    from cchooks.ledger import LedgerError

    try:
        return Ledger.open(path)
    except LedgerError:
        return Ledger.open(path, readonly=True)


def exposition(
    ledger_path: str | None, config_path: str | None, *, cache: bool = True,
    team: Callable[[], dict[str, Any]] | None = None,
) -> tuple[bytes, str]:  # fmt: skip
    """The Prometheus text exposition of the ledger, and its content type.

    With `cache` (a long-running server) the slow families follow `[metrics] slow_max_age_seconds`;
    without (`cchooks metrics`), everything is read now. `team` gives the team view (the daemon's
    in-memory copy, refreshed by its sync thread: a scrape never waits for PostgreSQL) for the
    per-host families. Raises ConfigError (invalid config file) or LedgerError (unreadable ledger).
    """
    from prometheus_client.exposition import generate_latest

    from cchooks.config import load_config

    config = load_config(config_path)
    key = (os.path.abspath(os.path.expanduser(ledger_path)) if ledger_path else "", config_path or "")

    def refresh() -> list[Metric]:
        from cchooks.api import price_table

        with open_ledger_for_metrics(ledger_path) as ledger:
            return slow_families(ledger, price_table(ledger, config.price_overrides()), config)

    def slow(ledger: Ledger, prices: PriceTable) -> list[Metric]:
        if not cache:
            return slow_families(ledger, prices, config)
        return _SLOW.get(key, config.metrics.slow_max_age_seconds, lambda: slow_families(ledger, prices, config),
                         refresh)  # fmt: skip

    with open_ledger_for_metrics(ledger_path) as ledger:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(LedgerCollector(ledger, config, slow))
        if team is not None:
            registry.register(_TeamCollector(team, config.metrics))
        # One read transaction: every family of a scrape comes from the same state of the ledger,
        # even while an ingest commits between its queries.
        with ledger.snapshot():
            return generate_latest(registry), CONTENT_TYPE
