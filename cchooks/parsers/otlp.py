"""OTLP export bodies (metrics and logs; JSON or protobuf) -> typed records.

Pure: no sockets, no storage, no clocks. The protobuf wire format is decoded by the
generated classes of `opentelemetry-proto`; OTLP/JSON is read with `json` and walked
defensively (OTLP/JSON is not plain proto3 JSON: trace ids are hex, and integers
may come as strings or numbers).

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

import base64
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from cchooks.parsers.transcript import parse_timestamp_ms
from cchooks.records import SOURCE_OTLP, UsageRecord

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
_MAX_COUNT = 1 << 53
_MAX_DEPTH = 32
_TEMPORALITY_NAMES = {
    "AGGREGATION_TEMPORALITY_UNSPECIFIED": 0,
    "AGGREGATION_TEMPORALITY_DELTA": 1,
    "AGGREGATION_TEMPORALITY_CUMULATIVE": 2,
}


class OTLPDecodeError(ValueError):
    """The body is not a decodable OTLP export request."""


class _Reject(Exception):
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


def _count(v: object) -> int:
    """A token count: a non-negative integer below 2**53, else 0."""
    n = _opt_int(v)
    return n if n is not None and 0 <= n < _MAX_COUNT else 0


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


def _clean(s: str) -> str:
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


def _ns(v: int, what: str) -> int:
    if not 0 <= v <= _MAX_NS:
        raise _Reject(f"{what} out of range")
    return v


def series_id(metric: str, resource: dict[str, Any], scope: str, attributes: dict[str, Any]) -> str:
    """Stable id of a metric series: the same metric, resource, scope and attributes."""
    return _series(metric, canonical_json(resource), scope, canonical_json(attributes))


def _point(
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


def _make_event(
    resource: dict[str, Any],
    scope: str,
    attributes: dict[str, Any],
    time_ns: int,
    observed_ns: int,
    body: Any,
    event_name_field: str,
) -> LogEvent:
    time_ns = _ns(time_ns, "timeUnixNano")
    observed_ns = _ns(observed_ns, "observedTimeUnixNano")
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
    total_cc = _count(a.get("cache_creation_tokens"))
    c5 = _count(a.get("cache_creation_5m_tokens"))
    c1 = _count(a.get("cache_creation_1h_tokens"))
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
        input_tokens=_count(a.get("input_tokens")),
        output_tokens=_count(a.get("output_tokens")),
        cache_read_tokens=_count(a.get("cache_read_tokens")),
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


def _add_event(batch: ExportBatch, ev: LogEvent) -> None:
    if ev.name == API_REQUEST:
        batch.api_requests.append(api_request_from_event(ev))
    else:
        batch.events.append(ev)


def _finite(v: float, what: str) -> float:
    if not math.isfinite(v):
        raise _Reject(f"non-finite {what}")
    return v


# -- protobuf -----------------------------------------------------------------------


def _pb_any(v: Any, depth: int = 0) -> Any:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        d = v.double_value
        return d if math.isfinite(d) else str(d)
    if kind == "bool_value":
        return v.bool_value
    if depth >= _MAX_DEPTH:
        return None
    if kind == "array_value":
        return [_pb_any(x, depth + 1) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_any(kv.value, depth + 1) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")
    return None


def _pb_attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _pb_any(kv.value) for kv in kvs}


def metrics_from_message(msg: Any) -> ExportBatch:
    """Points of a decoded `ExportMetricsServiceRequest` (protobuf message, e.g. from gRPC)."""
    batch = ExportBatch("metrics")
    for rm in msg.resource_metrics:
        resource = _pb_attrs(rm.resource.attributes)
        resource_json = canonical_json(resource)
        for sm in rm.scope_metrics:
            scope = sm.scope.name
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                if kind is None:
                    batch.reject(f"metric {m.name!r} has no data")
                    continue
                data = getattr(m, kind)
                temporality = int(getattr(data, "aggregation_temporality", 0))
                monotonic = bool(data.is_monotonic) if kind == KIND_SUM else None
                for dp in data.data_points:
                    try:
                        attrs = _pb_attrs(dp.attributes)
                        start = _ns(dp.start_time_unix_nano, "startTimeUnixNano")
                        time = _ns(dp.time_unix_nano, "timeUnixNano")
                        value, extra = _pb_value(kind, dp)
                    except _Reject as exc:
                        batch.reject(f"{m.name}: {exc}")
                        continue
                    batch.points.append(
                        _point(m.name, kind, temporality, monotonic, m.unit, start, time, value, attrs, resource,
                               resource_json, scope, extra)
                    )  # fmt: skip
    return batch


def _pb_value(kind: str, dp: Any) -> tuple[float, dict[str, Any] | None]:
    if kind in (KIND_SUM, KIND_GAUGE):
        which = dp.WhichOneof("value")
        if which == "as_int":
            return float(dp.as_int), None
        if which == "as_double":
            return _finite(dp.as_double, "value"), None
        raise _Reject("data point without a value")
    extra: dict[str, Any] = {"count": int(dp.count)}
    if kind == KIND_HISTOGRAM:
        extra["bucket_counts"] = list(dp.bucket_counts)
        extra["explicit_bounds"] = [b for b in dp.explicit_bounds if math.isfinite(b)]
    elif kind == KIND_SUMMARY:
        extra["quantiles"] = [[q.quantile, q.value] for q in dp.quantile_values if math.isfinite(q.value)]
    total = float(dp.sum) if kind == KIND_SUMMARY or dp.HasField("sum") else 0.0
    return _finite(total, "sum"), extra


def logs_from_message(msg: Any) -> ExportBatch:
    """Events of a decoded `ExportLogsServiceRequest` (protobuf message, e.g. from gRPC)."""
    batch = ExportBatch("logs")
    for rl in msg.resource_logs:
        resource = _pb_attrs(rl.resource.attributes)
        for sl in rl.scope_logs:
            scope = sl.scope.name
            for lr in sl.log_records:
                try:
                    attrs = _pb_attrs(lr.attributes)
                    body = _pb_any(lr.body) if lr.HasField("body") else None
                    ev = _make_event(
                        resource, scope, attrs, lr.time_unix_nano, lr.observed_time_unix_nano, body,
                        lr.event_name,
                    )  # fmt: skip
                except _Reject as exc:
                    batch.reject(f"log record: {exc}")
                    continue
                _add_event(batch, ev)
    return batch


def _pb_parse(cls: Any, body: bytes) -> Any:
    try:
        return cls.FromString(body)
    except Exception as exc:  # DecodeError, and whatever upb raises on hostile input
        raise OTLPDecodeError(f"invalid protobuf body: {exc}") from None


# -- JSON ---------------------------------------------------------------------------


def _j_get(d: dict[str, Any], camel: str, snake: str | None = None) -> Any:
    v = d.get(camel)
    if v is None and snake is not None:
        v = d.get(snake)
    return v


def _j_list(d: dict[str, Any], camel: str, snake: str | None = None) -> list[Any]:
    v = _j_get(d, camel, snake)
    if v is None:
        return []
    if not isinstance(v, list):
        raise OTLPDecodeError(f"{camel} must be an array")
    return v


def _j_obj(v: Any, what: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise OTLPDecodeError(f"{what} must be an object")
    return v


def _j_top(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise OTLPDecodeError("the request must be a JSON object")
    return v


def _j_str(v: Any) -> str:
    return _clean(v) if isinstance(v, str) else ""


def _j_int(v: Any, what: str) -> int:
    """A JSON int64/uint64 (number or decimal string); absent = 0."""
    if v is None:
        return 0
    if isinstance(v, bool):
        raise _Reject(f"{what} is not an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and len(v) < 40:
        try:
            return int(v)
        except ValueError:
            pass
    raise _Reject(f"{what} is not an integer")


def _j_float(v: Any, what: str) -> float:
    if isinstance(v, bool):
        raise _Reject(f"{what} is not a number")
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str) and len(v) < 40:
        try:
            return float(v)  # proto3 JSON also allows "NaN", "Infinity"
        except ValueError:
            pass
    raise _Reject(f"{what} is not a number")


def _j_any(v: Any, depth: int = 0) -> Any:
    if not isinstance(v, dict):
        return None
    for key, conv in (("stringValue", "s"), ("string_value", "s"), ("intValue", "i"), ("int_value", "i"),
                      ("doubleValue", "d"), ("double_value", "d"), ("boolValue", "b"), ("bool_value", "b"),
                      ("arrayValue", "a"), ("array_value", "a"), ("kvlistValue", "k"),
                      ("kvlist_value", "k"), ("bytesValue", "y"), ("bytes_value", "y")):  # fmt: skip
        if key not in v:
            continue
        x = v[key]
        try:
            if conv == "s":
                return _j_str(x)
            if conv == "i":
                return _j_int(x, "intValue")
            if conv == "d":
                d = _j_float(x, "doubleValue")
                return d if math.isfinite(d) else str(d)
            if conv == "b":
                return x if isinstance(x, bool) else None
            if conv == "y":
                return _j_str(x)
        except _Reject:
            return _clean(str(x))[:200]
        if depth >= _MAX_DEPTH or not isinstance(x, dict):
            return None
        values = x.get("values")
        if not isinstance(values, list):
            return [] if conv == "a" else {}
        if conv == "a":
            return [_j_any(e, depth + 1) for e in values]
        return {
            _j_str(kv.get("key")): _j_any(kv.get("value"), depth + 1) for kv in values if isinstance(kv, dict)
        }
    return None


def _j_attrs(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in _j_list(d, "attributes"):
        if isinstance(kv, dict):
            out[_j_str(kv.get("key"))] = _j_any(kv.get("value"))
    return out


def _j_temporality(v: Any) -> int:
    if isinstance(v, str):
        if v in _TEMPORALITY_NAMES:
            return _TEMPORALITY_NAMES[v]
        try:
            return int(v)
        except ValueError:
            return 0
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _json_value(kind: str, dp: dict[str, Any]) -> tuple[float, dict[str, Any] | None]:
    if kind in (KIND_SUM, KIND_GAUGE):
        if (x := _j_get(dp, "asInt", "as_int")) is not None:
            return float(_j_int(x, "asInt")), None
        if (x := _j_get(dp, "asDouble", "as_double")) is not None:
            return _finite(_j_float(x, "asDouble"), "value"), None
        raise _Reject("data point without a value")
    extra: dict[str, Any] = {"count": _j_int(dp.get("count"), "count")}
    total = dp.get("sum")
    value = 0.0 if total is None else _finite(_j_float(total, "sum"), "sum")
    if kind == KIND_HISTOGRAM:
        counts = _j_get(dp, "bucketCounts", "bucket_counts")
        if isinstance(counts, list):
            extra["bucket_counts"] = [_j_int(c, "bucketCounts") for c in counts]
    return value, extra


def metrics_from_json(obj: Any) -> ExportBatch:
    """Points of an OTLP/JSON `ExportMetricsServiceRequest` already parsed by `json`."""
    top = _j_top(obj)
    batch = ExportBatch("metrics")
    for rm in _j_list(top, "resourceMetrics", "resource_metrics"):
        rm = _j_obj(rm, "resourceMetrics[]")
        resource = _j_attrs(_j_obj(rm.get("resource"), "resource"))
        resource_json = canonical_json(resource)
        for sm in _j_list(rm, "scopeMetrics", "scope_metrics"):
            sm = _j_obj(sm, "scopeMetrics[]")
            scope = _j_str(_j_obj(sm.get("scope"), "scope").get("name"))
            for m in _j_list(sm, "metrics"):
                m = _j_obj(m, "metrics[]")
                name = _j_str(m.get("name"))
                unit = _j_str(m.get("unit"))
                kind = next(
                    (
                        k
                        for k in (KIND_SUM, KIND_GAUGE, KIND_HISTOGRAM, KIND_SUMMARY)
                        if isinstance(m.get(k), dict)
                    ),
                    None,
                )
                if kind is None:
                    if isinstance(_j_get(m, "exponentialHistogram", KIND_EXP_HISTOGRAM), dict):
                        kind = KIND_EXP_HISTOGRAM
                        data = _j_obj(_j_get(m, "exponentialHistogram", KIND_EXP_HISTOGRAM), "metric data")
                    else:
                        batch.reject(f"metric {name!r} has no data")
                        continue
                else:
                    data = m[kind]
                temporality = _j_temporality(
                    _j_get(data, "aggregationTemporality", "aggregation_temporality")
                )
                monotonic = bool(_j_get(data, "isMonotonic", "is_monotonic")) if kind == KIND_SUM else None
                for dp in _j_list(data, "dataPoints", "data_points"):
                    try:
                        if not isinstance(dp, dict):
                            raise _Reject("data point is not an object")
                        attrs = _j_attrs(dp)
                        start = _ns(
                            _j_int(_j_get(dp, "startTimeUnixNano", "start_time_unix_nano"), "start"), "start"
                        )
                        time = _ns(_j_int(_j_get(dp, "timeUnixNano", "time_unix_nano"), "time"), "time")
                        value, extra = _json_value(kind, dp)
                    except _Reject as exc:
                        batch.reject(f"{name}: {exc}")
                        continue
                    batch.points.append(
                        _point(name, kind, temporality, monotonic, unit, start, time, value, attrs, resource,
                               resource_json, scope, extra)
                    )  # fmt: skip
    return batch


def logs_from_json(obj: Any) -> ExportBatch:
    """Events of an OTLP/JSON `ExportLogsServiceRequest` already parsed by `json`."""
    top = _j_top(obj)
    batch = ExportBatch("logs")
    for rl in _j_list(top, "resourceLogs", "resource_logs"):
        rl = _j_obj(rl, "resourceLogs[]")
        resource = _j_attrs(_j_obj(rl.get("resource"), "resource"))
        for sl in _j_list(rl, "scopeLogs", "scope_logs"):
            sl = _j_obj(sl, "scopeLogs[]")
            scope = _j_str(_j_obj(sl.get("scope"), "scope").get("name"))
            for lr in _j_list(sl, "logRecords", "log_records"):
                try:
                    if not isinstance(lr, dict):
                        raise _Reject("log record is not an object")
                    attrs = _j_attrs(lr)
                    time_ns = _j_int(_j_get(lr, "timeUnixNano", "time_unix_nano"), "timeUnixNano")
                    observed = _j_int(
                        _j_get(lr, "observedTimeUnixNano", "observed_time_unix_nano"), "observed"
                    )
                    body = _j_any(lr.get("body"))
                    ev = _make_event(
                        resource, scope, attrs, time_ns, observed, body,
                        _j_str(_j_get(lr, "eventName", "event_name")),
                    )  # fmt: skip
                except _Reject as exc:
                    batch.reject(f"log record: {exc}")
                    continue
                _add_event(batch, ev)
    return batch


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

        return _guard(metrics_from_message, _pb_parse(ExportMetricsServiceRequest, body))
    return _guard(metrics_from_json, _json_parse(body))


def decode_logs(body: bytes, encoding: Encoding) -> ExportBatch:
    """Decode an ExportLogsServiceRequest body."""
    if encoding == "protobuf":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        return _guard(logs_from_message, _pb_parse(ExportLogsServiceRequest, body))
    return _guard(logs_from_json, _json_parse(body))


def decode_traces(body: bytes, encoding: Encoding) -> ExportBatch:
    """Validate an ExportTraceServiceRequest body; spans are accepted and ignored."""
    if encoding == "protobuf":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        _pb_parse(ExportTraceServiceRequest, body)
    else:
        _j_top(_json_parse(body))
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
