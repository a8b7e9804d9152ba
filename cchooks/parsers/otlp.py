"""OTLP export bodies (metrics and logs; JSON or protobuf) -> typed records.

Pure: no sockets, no storage, no clocks. This module holds the records and the entry
points (`decode`, `decode_metrics`, `decode_logs`); the wire formats are read by
`cchooks.parsers.otlp_protobuf` (the generated classes of `opentelemetry-proto`) and
`cchooks.parsers.otlp_json`.

What comes out (see shared/docs/formats.md, "OpenTelemetry"):
- `MetricPoint`: one data point of any metric, with a stable `series` id (metric,
  resource, scope and point attributes) so retries and cumulative series can be
  recognised;
- `LogEvent`: one log record (Claude Code sends every event as a log record whose
  `event.name` attribute names it), with a dedupe `key`;
- `ApiRequest`: the typed view of a `claude_code.api_request` event, which is one
  billed API call (tokens, Claude Code's own `cost_usd`, and the transcript's
  `requestId` as `request_id`).

A body that cannot be decoded at all raises `OTLPDecodeError` (HTTP 400). A data point
or record that is present but unusable (no value, a non-finite value, an out-of-range
timestamp) is counted in `rejected` and reported back as OTLP partial success.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from cchooks.parsers.transcript import parse_timestamp_ms
from cchooks.records import INVALID_TOKENS, MAX_TOKENS, SOURCE_OTLP, UsageRecord, token_count

Encoding = Literal["json", "protobuf"]

# Metric kinds (the `data` oneof of an OTLP Metric).
KIND_SUM = "sum"
KIND_GAUGE = "gauge"
KIND_HISTOGRAM = "histogram"
KIND_EXP_HISTOGRAM = "exponential_histogram"
KIND_SUMMARY = "summary"

# AggregationTemporality.
TEMPORALITY_UNSPECIFIED = 0
TEMPORALITY_DELTA = 1
TEMPORALITY_CUMULATIVE = 2

TOKEN_USAGE = "claude_code.token.usage"
COST_USAGE = "claude_code.cost.usage"
API_REQUEST = "api_request"

_MAX_NS = (1 << 63) - 1
MAX_DEPTH = 32
TEMPORALITY_NAMES = {
    "AGGREGATION_TEMPORALITY_UNSPECIFIED": 0,
    "AGGREGATION_TEMPORALITY_DELTA": 1,
    "AGGREGATION_TEMPORALITY_CUMULATIVE": 2,
}


class OTLPDecodeError(ValueError):
    """The body is not a decodable OTLP export request."""


class Rejected(Exception):
    """One data point or log record is unusable; the rest of the body is fine."""


@dataclass(slots=True)
class MetricPoint:
    """One data point. `value` is as sent (a running total for cumulative sums)."""

    metric: str
    kind: str
    temporality: int
    monotonic: bool | None
    unit: str
    series: str
    start_ns: int
    time_ns: int
    value: float
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    extra: dict[str, Any] | None = None
    attributes_json: str = ""  # canonical JSON of `attributes` (sorted keys)
    resource_json: str = ""  # canonical JSON of `resource`

    @property
    def session_id(self) -> str | None:
        return _opt_str(self.attributes.get("session.id"))

    @property
    def model(self) -> str | None:
        return _opt_str(self.attributes.get("model"))

    @property
    def type(self) -> str | None:
        return _opt_str(self.attributes.get("type"))


@dataclass(slots=True)
class LogEvent:
    """One log record; Claude Code's events are log records named by `event.name`."""

    name: str  # without the "claude_code." prefix, e.g. "api_request"
    key: str  # dedupe key: the same event exported twice has the same key
    time_ns: int
    observed_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    body: Any = None

    @property
    def session_id(self) -> str | None:
        return _opt_str(self.attributes.get("session.id"))

    @property
    def prompt_id(self) -> str | None:
        return _opt_str(self.attributes.get("prompt.id"))

    @property
    def sequence(self) -> int | None:
        return _opt_int(self.attributes.get("event.sequence"))

    @property
    def ts_ms(self) -> int:
        if self.time_ns:
            return self.time_ns // 1_000_000
        parsed = parse_timestamp_ms(self.attributes.get("event.timestamp"))
        if parsed is not None:
            return parsed
        return self.observed_ns // 1_000_000


@dataclass(slots=True)
class ApiRequest:
    """A `claude_code.api_request` event: one billed API call as Claude Code saw it."""

    key: str
    session_id: str
    model: str
    ts_ms: int
    request_id: str | None = None
    prompt_id: str | None = None
    sequence: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_5m_tokens: int = 0
    cache_1h_tokens: int = 0
    cost_usd: float | None = None
    duration_ms: float | None = None
    ttft_ms: float | None = None
    speed: str | None = None
    effort: str | None = None
    query_source: str | None = None
    agent_id: str | None = None
    service_version: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def synthetic_key(self) -> str:
        """The ledger key of a call without a request id: 'otlp:<session>:<timestamp>:<seq>'."""
        seq = "" if self.sequence is None else str(self.sequence)
        return f"otlp:{self.session_id}:{self.ts_ms}:{seq}"

    @property
    def agent_type(self) -> str | None:
        # query_source is "agent:builtin:<type>" (or "agent:custom:<type>") for subagents.
        qs = self.query_source or ""
        if qs.startswith("agent:"):
            return qs.rsplit(":", 1)[-1] or None
        return None

    def to_record(self, *, request_id: str | None = None, message_id: str = "") -> UsageRecord:
        """The ledger response this call is (source 'otlp'); key = request id or the synthetic key."""
        rid = request_id if request_id is not None else (self.request_id or self.synthetic_key)
        return UsageRecord(
            message_id=message_id,
            request_id=rid,
            session_id=self.session_id,
            timestamp_ms=self.ts_ms,
            model=self.model,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_creation_5m_tokens=self.cache_5m_tokens,
            cache_creation_1h_tokens=self.cache_1h_tokens,
            cache_read_tokens=self.cache_read_tokens,
            speed=self.speed,
            agent_id=self.agent_id,
            agent_type=self.agent_type,
            source=SOURCE_OTLP,
            otlp_cost_usd=self.cost_usd,
        )


@dataclass(slots=True)
class ExportBatch:
    """Everything decoded from one export request."""

    signal: str  # metrics | logs | traces
    points: list[MetricPoint] = field(default_factory=list)
    events: list[LogEvent] = field(default_factory=list)
    api_requests: list[ApiRequest] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    key_counts: dict[str, int] = field(default_factory=dict, repr=False)  # see add_event

    def reject(self, why: str) -> None:
        self.rejected += 1
        if len(self.errors) < 5 and why not in self.errors:
            self.errors.append(why)

    @property
    def error_message(self) -> str:
        return "; ".join(self.errors)


# -- small value helpers ------------------------------------------------------------


def _opt_str(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


def _opt_int(v: object) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            return None
    return None


def _count(v: object, what: str) -> int:
    """A token count: absent is 0; present, an integer in [0, MAX_TOKENS) (see cchooks.records).

    Anything else (negative, huge, float, bool, a non-numeric string) rejects the event, so a broken
    or hostile exporter can neither poison the ledger's sums nor pass as zero.
    """
    if v is None:
        return 0
    if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= 12:
        v = int(v)  # a stringValue attribute: some exporters send numbers that way
    n = token_count(v)
    if n is None:
        raise Rejected(f"{INVALID_TOKENS}: {what}={str(v)[:24]!r}")
    return n


def check_point(name: str, value: float) -> None:
    """Reject a token-usage point whose value is not a valid token count."""
    if name == TOKEN_USAGE and not (0 <= value < MAX_TOKENS):
        raise Rejected(f"{INVALID_TOKENS}: value={value!r}")


def _opt_float(v: object) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        f = float(v)
    elif isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


def clean_text(s: str) -> str:
    """A str that encodes to UTF-8 (JSON may carry lone surrogates)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "replace").decode("utf-8")
    return s


def canonical_json(v: object) -> str:
    """Sorted-key compact JSON: equal values give equal text."""
    return json.dumps(v, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))


def _digest(parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode("ascii"), digest_size=16).hexdigest()


def _series(metric: str, resource_json: str, scope: str, attributes_json: str) -> str:
    text = "\x1f".join((metric, resource_json, scope, attributes_json))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def checked_ns(v: int, what: str) -> int:
    if not 0 <= v <= _MAX_NS:
        raise Rejected(f"{what} out of range")
    return v


def series_id(metric: str, resource: dict[str, Any], scope: str, attributes: dict[str, Any]) -> str:
    """Stable id of a metric series: the same metric, resource, scope and attributes."""
    return _series(metric, canonical_json(resource), scope, canonical_json(attributes))


def make_point(
    metric: str, kind: str, temporality: int, monotonic: bool | None, unit: str, start: int, time: int,
    value: float, attrs: dict[str, Any], resource: dict[str, Any], resource_json: str, scope: str,
    extra: dict[str, Any] | None,
) -> MetricPoint:  # fmt: skip
    attrs_json = canonical_json(attrs)
    return MetricPoint(
        metric=metric, kind=kind, temporality=temporality, monotonic=monotonic, unit=unit,
        series=_series(metric, resource_json, scope, attrs_json), start_ns=start, time_ns=time, value=value,
        attributes=attrs, resource=resource, scope=scope, extra=extra, attributes_json=attrs_json,
        resource_json=resource_json,
    )  # fmt: skip


def event_key(name: str, attributes: dict[str, Any], time_ns: int, body: Any) -> str:
    """Dedupe key of an event.

    Claude Code numbers events per process (`event.sequence`), and a resumed session runs in a
    new process that counts from the same start, so the sequence alone collides: the key is
    (session.id, name, event.sequence, event.timestamp, record time, request_id). A record with
    neither session nor sequence is keyed by its whole content.
    """
    session = attributes.get("session.id")
    seq = attributes.get("event.sequence")
    if session is None and seq is None:
        return _digest(["c", name, attributes, time_ns, body])
    return _digest(
        ["e", session, name, seq, attributes.get("event.timestamp"), time_ns, attributes.get("request_id")]
    )


def _event_name(attributes: dict[str, Any], event_name_field: str, body: Any) -> str:
    name = attributes.get("event.name")
    if not isinstance(name, str) or not name:
        name = event_name_field or (body if isinstance(body, str) and len(body) < 200 else "")
    return name.removeprefix("claude_code.")


def make_event(
    resource: dict[str, Any],
    scope: str,
    attributes: dict[str, Any],
    time_ns: int,
    observed_ns: int,
    body: Any,
    event_name_field: str,
) -> LogEvent:
    time_ns = checked_ns(time_ns, "timeUnixNano")
    observed_ns = checked_ns(observed_ns, "observedTimeUnixNano")
    name = _event_name(attributes, event_name_field, body)
    return LogEvent(
        name=name,
        key=event_key(name, attributes, time_ns, body),
        time_ns=time_ns,
        observed_ns=observed_ns,
        attributes=attributes,
        resource=resource,
        scope=scope,
        body=body,
    )


def api_request_from_event(ev: LogEvent) -> ApiRequest:
    """The typed view of an api_request event (missing numbers are 0, never guessed)."""
    a = ev.attributes
    total_cc = _count(a.get("cache_creation_tokens"), "cache_creation_tokens")
    c5 = _count(a.get("cache_creation_5m_tokens"), "cache_creation_5m_tokens")
    c1 = _count(a.get("cache_creation_1h_tokens"), "cache_creation_1h_tokens")
    if c5 + c1 < total_cc:
        # No split (older versions) or a partial one: the rest is the default 5-minute write.
        c5 = total_cc - c1
    cost = _opt_float(a.get("cost_usd"))
    if cost is None and (micros := _opt_int(a.get("cost_usd_micros"))) is not None:
        cost = micros / 1_000_000
    return ApiRequest(
        key=ev.key,
        session_id=_opt_str(a.get("session.id")) or "",
        model=_opt_str(a.get("model")) or "",
        ts_ms=ev.ts_ms,
        request_id=_opt_str(a.get("request_id")),
        prompt_id=_opt_str(a.get("prompt.id")),
        sequence=_opt_int(a.get("event.sequence")),
        input_tokens=_count(a.get("input_tokens"), "input_tokens"),
        output_tokens=_count(a.get("output_tokens"), "output_tokens"),
        cache_read_tokens=_count(a.get("cache_read_tokens"), "cache_read_tokens"),
        cache_creation_tokens=max(total_cc, c5 + c1),
        cache_5m_tokens=c5,
        cache_1h_tokens=c1,
        cost_usd=cost,
        duration_ms=_opt_float(a.get("duration_ms")),
        ttft_ms=_opt_float(a.get("ttft_ms")),
        speed=_opt_str(a.get("speed")),
        effort=_opt_str(a.get("effort")),
        query_source=_opt_str(a.get("query_source")),
        agent_id=_opt_str(a.get("agent_id")),
        service_version=_opt_str(ev.resource.get("service.version")),
        attributes=a,
    )


def add_event(batch: ExportBatch, ev: LogEvent) -> None:
    # Records with equal keys in one export are separate events: a retry resends the whole
    # export, never one record twice. Older versions (2.0.x) send no event.sequence, and two
    # side calls with the same numbers can share a millisecond, so the later ones get '#n'.
    n = batch.key_counts.get(ev.key, 0)
    batch.key_counts[ev.key] = n + 1
    if n:
        ev.key = f"{ev.key}#{n}"
    if ev.name == API_REQUEST:
        try:
            req = api_request_from_event(ev)
        except Rejected as exc:  # this event only; the rest of the batch is stored
            batch.reject(f"api_request: {exc}")
            return
        batch.api_requests.append(req)
    else:
        batch.events.append(ev)


def finite_float(v: float, what: str) -> float:
    if not math.isfinite(v):
        raise Rejected(f"non-finite {what}")
    return v


def _json_parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise OTLPDecodeError(f"invalid JSON body: {exc}") from None


def _guard(fn: Any, arg: Any) -> ExportBatch:
    try:
        batch: ExportBatch = fn(arg)
    except OTLPDecodeError:
        raise
    except RecursionError:
        raise OTLPDecodeError("body nested too deeply") from None
    return batch


# -- entry points -------------------------------------------------------------------


def decode_metrics(body: bytes, encoding: Encoding) -> ExportBatch:
    """Decode an ExportMetricsServiceRequest body."""
    if encoding == "protobuf":
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        from cchooks.parsers.otlp_protobuf import metrics_from_message, parse_message

        return _guard(metrics_from_message, parse_message(ExportMetricsServiceRequest, body))
    from cchooks.parsers.otlp_json import metrics_from_json

    return _guard(metrics_from_json, _json_parse(body))


def decode_logs(body: bytes, encoding: Encoding) -> ExportBatch:
    """Decode an ExportLogsServiceRequest body."""
    if encoding == "protobuf":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        from cchooks.parsers.otlp_protobuf import logs_from_message, parse_message

        return _guard(logs_from_message, parse_message(ExportLogsServiceRequest, body))
    from cchooks.parsers.otlp_json import logs_from_json

    return _guard(logs_from_json, _json_parse(body))


def decode_traces(body: bytes, encoding: Encoding) -> ExportBatch:
    """Validate an ExportTraceServiceRequest body; spans are accepted and ignored."""
    if encoding == "protobuf":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        from cchooks.parsers.otlp_protobuf import parse_message

        parse_message(ExportTraceServiceRequest, body)
    else:
        from cchooks.parsers.otlp_json import top_object

        top_object(_json_parse(body))
    return ExportBatch("traces")


def decode(signal: str, body: bytes, encoding: Encoding) -> ExportBatch:
    """Decode the body of one OTLP/HTTP export: signal is metrics, logs or traces."""
    if signal == "metrics":
        return decode_metrics(body, encoding)
    if signal == "logs":
        return decode_logs(body, encoding)
    if signal == "traces":
        return decode_traces(body, encoding)
    raise OTLPDecodeError(f"unknown signal {signal!r}")
