"""OTLP protobuf messages (decoded by `opentelemetry-proto`) -> the records of `cchooks.parsers.otlp`."""

from __future__ import annotations

import base64
import math
from typing import Any

from cchooks.parsers.otlp import (
    KIND_GAUGE,
    KIND_HISTOGRAM,
    KIND_SUM,
    KIND_SUMMARY,
    MAX_DEPTH,
    ExportBatch,
    OTLPDecodeError,
    Rejected,
    add_event,
    canonical_json,
    check_point,
    checked_ns,
    finite_float,
    make_event,
    make_point,
)

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
    if depth >= MAX_DEPTH:
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
                        start = checked_ns(dp.start_time_unix_nano, "startTimeUnixNano")
                        time = checked_ns(dp.time_unix_nano, "timeUnixNano")
                        value, extra = _pb_value(kind, dp)
                        check_point(m.name, value)
                    except Rejected as exc:
                        batch.reject(f"{m.name}: {exc}")
                        continue
                    batch.points.append(
                        make_point(m.name, kind, temporality, monotonic, m.unit, start, time, value, attrs, resource,
                               resource_json, scope, extra)
                    )  # fmt: skip
    return batch


def _pb_value(kind: str, dp: Any) -> tuple[float, dict[str, Any] | None]:
    if kind in (KIND_SUM, KIND_GAUGE):
        which = dp.WhichOneof("value")
        if which == "as_int":
            return float(dp.as_int), None
        if which == "as_double":
            return finite_float(dp.as_double, "value"), None
        raise Rejected("data point without a value")
    extra: dict[str, Any] = {"count": int(dp.count)}
    if kind == KIND_HISTOGRAM:
        extra["bucket_counts"] = list(dp.bucket_counts)
        extra["explicit_bounds"] = [b for b in dp.explicit_bounds if math.isfinite(b)]
    elif kind == KIND_SUMMARY:
        extra["quantiles"] = [[q.quantile, q.value] for q in dp.quantile_values if math.isfinite(q.value)]
    total = float(dp.sum) if kind == KIND_SUMMARY or dp.HasField("sum") else 0.0
    return finite_float(total, "sum"), extra


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
                    ev = make_event(
                        resource, scope, attrs, lr.time_unix_nano, lr.observed_time_unix_nano, body,
                        lr.event_name,
                    )  # fmt: skip
                except Rejected as exc:
                    batch.reject(f"log record: {exc}")
                    continue
                add_event(batch, ev)
    return batch


def parse_message(cls: Any, body: bytes) -> Any:
    try:
        return cls.FromString(body)
    except Exception as exc:  # DecodeError, and whatever upb raises on hostile input
        raise OTLPDecodeError(f"invalid protobuf body: {exc}") from None
