"""OTLP/JSON bodies -> the records of `cchooks.parsers.otlp`.

OTLP/JSON is not plain proto3 JSON: trace ids are hex, integers may come as strings or
numbers, and field names may be camelCase or snake_case; everything is walked defensively.
"""

from __future__ import annotations

import math
from typing import Any

from cchooks.parsers.otlp import (
    KIND_EXP_HISTOGRAM,
    KIND_GAUGE,
    KIND_HISTOGRAM,
    KIND_SUM,
    KIND_SUMMARY,
    MAX_DEPTH,
    TEMPORALITY_NAMES,
    ExportBatch,
    OTLPDecodeError,
    Rejected,
    add_event,
    canonical_json,
    check_point,
    checked_ns,
    clean_text,
    finite_float,
    make_event,
    make_point,
)

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


def top_object(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise OTLPDecodeError("the request must be a JSON object")
    return v


def _j_str(v: Any) -> str:
    return clean_text(v) if isinstance(v, str) else ""


def _j_int(v: Any, what: str) -> int:
    """A JSON int64/uint64 (number or decimal string); absent = 0."""
    if v is None:
        return 0
    if isinstance(v, bool):
        raise Rejected(f"{what} is not an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and len(v) < 40:
        try:
            return int(v)
        except ValueError:
            pass
    raise Rejected(f"{what} is not an integer")


def _j_float(v: Any, what: str) -> float:
    if isinstance(v, bool):
        raise Rejected(f"{what} is not a number")
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str) and len(v) < 40:
        try:
            return float(v)  # proto3 JSON also allows "NaN", "Infinity"
        except ValueError:
            pass
    raise Rejected(f"{what} is not a number")


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
        except Rejected:
            return clean_text(str(x))[:200]
        if depth >= MAX_DEPTH or not isinstance(x, dict):
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
        if v in TEMPORALITY_NAMES:
            return TEMPORALITY_NAMES[v]
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
            return finite_float(_j_float(x, "asDouble"), "value"), None
        raise Rejected("data point without a value")
    extra: dict[str, Any] = {"count": _j_int(dp.get("count"), "count")}
    total = dp.get("sum")
    value = 0.0 if total is None else finite_float(_j_float(total, "sum"), "sum")
    if kind == KIND_HISTOGRAM:
        counts = _j_get(dp, "bucketCounts", "bucket_counts")
        if isinstance(counts, list):
            extra["bucket_counts"] = [_j_int(c, "bucketCounts") for c in counts]
    return value, extra


def metrics_from_json(obj: Any) -> ExportBatch:
    """Points of an OTLP/JSON `ExportMetricsServiceRequest` already parsed by `json`."""
    top = top_object(obj)
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
                            raise Rejected("data point is not an object")
                        attrs = _j_attrs(dp)
                        start = checked_ns(
                            _j_int(_j_get(dp, "startTimeUnixNano", "start_time_unix_nano"), "start"), "start"
                        )
                        time = checked_ns(
                            _j_int(_j_get(dp, "timeUnixNano", "time_unix_nano"), "time"), "time"
                        )
                        value, extra = _json_value(kind, dp)
                        check_point(name, value)
                    except Rejected as exc:
                        batch.reject(f"{name}: {exc}")
                        continue
                    batch.points.append(
                        make_point(name, kind, temporality, monotonic, unit, start, time, value, attrs, resource,
                               resource_json, scope, extra)
                    )  # fmt: skip
    return batch


def logs_from_json(obj: Any) -> ExportBatch:
    """Events of an OTLP/JSON `ExportLogsServiceRequest` already parsed by `json`."""
    top = top_object(obj)
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
                        raise Rejected("log record is not an object")
                    attrs = _j_attrs(lr)
                    time_ns = _j_int(_j_get(lr, "timeUnixNano", "time_unix_nano"), "timeUnixNano")
                    observed = _j_int(
                        _j_get(lr, "observedTimeUnixNano", "observed_time_unix_nano"), "observed"
                    )
                    body = _j_any(lr.get("body"))
                    ev = make_event(
                        resource, scope, attrs, time_ns, observed, body,
                        _j_str(_j_get(lr, "eventName", "event_name")),
                    )  # fmt: skip
                except Rejected as exc:
                    batch.reject(f"log record: {exc}")
                    continue
                add_event(batch, ev)
    return batch
