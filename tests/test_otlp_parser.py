"""OTLP decoding: the real Claude Code 2.1.330 bodies, edge cases, and fuzzing."""

from __future__ import annotations

import contextlib
import json
import math
from collections import Counter

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from cchooks.parsers.otlp import (
    COST_USAGE,
    TOKEN_USAGE,
    OTLPDecodeError,
    decode,
    decode_logs,
    decode_metrics,
)
from cchooks.parsers.otlp_json import logs_from_json, metrics_from_json
from tests.test_otlp_common import (
    COMPACT_REQUEST_ID,
    OTLP_FIXTURES,
    SCENARIO_API_REQUESTS,
    SCENARIO_COST,
    SCENARIO_TOKENS,
    SCENARIOS,
    bodies,
)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_fixture_token_sums_match_summary(scenario: str) -> None:
    tokens: Counter[str] = Counter()
    cost = 0.0
    api = []
    rejected = 0
    for signal, encoding, raw in bodies(scenario):
        batch = decode(signal, raw, encoding)  # type: ignore[arg-type]
        rejected += batch.rejected
        for p in batch.points:
            if p.metric == TOKEN_USAGE:
                tokens[p.type or ""] += int(p.value)
            elif p.metric == COST_USAGE:
                cost += p.value
        api.extend(batch.api_requests)
    assert rejected == 0
    assert dict(tokens) == SCENARIO_TOKENS[scenario]
    assert math.isclose(cost, SCENARIO_COST[scenario], rel_tol=1e-9)
    assert len(api) == SCENARIO_API_REQUESTS[scenario] == len({a.key for a in api})
    # The api_request events carry the same tokens as the metrics.
    assert sum(a.input_tokens for a in api) == SCENARIO_TOKENS[scenario]["input"]
    assert sum(a.output_tokens for a in api) == SCENARIO_TOKENS[scenario]["output"]
    assert sum(a.cache_read_tokens for a in api) == SCENARIO_TOKENS[scenario]["cacheRead"]
    assert sum(a.cache_creation_tokens for a in api) == SCENARIO_TOKENS[scenario]["cacheCreation"]
    assert (
        sum(a.cache_5m_tokens + a.cache_1h_tokens for a in api) == SCENARIO_TOKENS[scenario]["cacheCreation"]
    )
    assert all(a.request_id and a.request_id.startswith(f"req_mock_{scenario}_") for a in api)


def test_interactive_api_requests_include_the_compact_call() -> None:
    api = [a for sig, enc, raw in bodies("interactive") for a in decode(sig, raw, enc).api_requests]  # type: ignore[arg-type]
    assert len(api) == 7
    compact = [a for a in api if a.query_source == "compact"]
    assert len(compact) == 1
    c = compact[0]
    assert (c.input_tokens, c.cache_read_tokens, c.output_tokens, c.cache_creation_tokens) == (
        7895,
        40005,
        455,
        0,
    )
    assert c.request_id == COMPACT_REQUEST_ID
    assert c.session_id == "bbe7d8d4-7b54-40f3-a9b2-45f3ad620b22"
    assert c.model == "claude-opus-5-5"
    assert c.prompt_id and c.sequence == 91
    assert math.isclose(c.cost_usd or 0, 0.048681, rel_tol=1e-9)
    assert c.duration_ms == 88 and c.ttft_ms == 6
    assert c.ts_ms == 1795347957092
    assert c.service_version == "2.1.330"
    subagent = [a for a in api if a.agent_type]
    assert {a.agent_type for a in subagent} == {"general-purpose"} and len(subagent) == 2
    assert all(a.agent_id == "aaf20e45118a737b2" for a in subagent)


@pytest.mark.parametrize("scenario", ["p-protobuf", "p-slow", "p-continue"])
def test_protobuf_and_its_json_rendering_decode_the_same(scenario: str) -> None:
    folder = OTLP_FIXTURES / scenario
    for pb in sorted(folder.glob("*.pb")):
        signal = "metrics" if "metrics" in pb.name else "logs"
        a = decode(signal, pb.read_bytes(), "protobuf")
        b = decode(signal, pb.with_name(pb.name + ".decoded.json").read_bytes(), "json")
        assert [(p.series, p.start_ns, p.time_ns, p.value) for p in a.points] == [
            (p.series, p.start_ns, p.time_ns, p.value) for p in b.points
        ]
        assert [(e.key, e.name) for e in a.events] == [(e.key, e.name) for e in b.events]
        assert [x.key for x in a.api_requests] == [x.key for x in b.api_requests]


def test_resumed_processes_reuse_sequences_but_keys_differ() -> None:
    # p-resume and p-continue are two processes of one session; both number their api_request 40.
    a = [x for sig, enc, raw in bodies("p-resume") for x in decode(sig, raw, enc).api_requests]  # type: ignore[arg-type]
    b = [x for sig, enc, raw in bodies("p-continue") for x in decode(sig, raw, enc).api_requests]  # type: ignore[arg-type]
    assert a[0].session_id == b[0].session_id and a[0].sequence == b[0].sequence == 40
    assert a[0].key != b[0].key


def _metric_json(points: list[object], *, temporality: object = 1, kind: str = "sum") -> bytes:
    data: dict[str, object] = {"dataPoints": points}
    if kind == "sum":
        data.update(aggregationTemporality=temporality, isMonotonic=True)
    body = {"resourceMetrics": [{"resource": {"attributes": []}, "scopeMetrics": [
        {"scope": {"name": "s"}, "metrics": [{"name": TOKEN_USAGE, "unit": "tokens", kind: data}]}]}]}  # fmt: skip
    return json.dumps(body).encode()


def test_json_numbers_as_strings_or_numbers_and_enum_names() -> None:
    body = _metric_json(
        [
            {
                "attributes": [{"key": "type", "value": {"stringValue": "input"}}],
                "startTimeUnixNano": "1",
                "timeUnixNano": 2,
                "asInt": "7",
            },
            {
                "attributes": [{"key": "type", "value": {"stringValue": "output"}}],
                "startTimeUnixNano": 1,
                "timeUnixNano": "2",
                "asDouble": "3.5",
            },
        ],  # fmt: skip
        temporality="AGGREGATION_TEMPORALITY_CUMULATIVE",
    )
    batch = decode_metrics(body, "json")
    assert [(p.type, p.value, p.start_ns, p.time_ns, p.temporality) for p in batch.points] == [
        ("input", 7.0, 1, 2, 2),
        ("output", 3.5, 1, 2, 2),
    ]


def test_unusable_points_are_rejected_not_fatal() -> None:
    body = _metric_json(
        [
            {"timeUnixNano": "1"},  # no value
            {"timeUnixNano": "1", "asDouble": "NaN"},
            {"timeUnixNano": "-5", "asInt": 1},
            {"timeUnixNano": str(1 << 70), "asInt": 1},
            "not an object",
            {"timeUnixNano": "3", "asInt": 4},
        ]
    )
    batch = decode_metrics(body, "json")
    assert batch.rejected == 5
    assert [p.value for p in batch.points] == [4.0]
    assert "without a value" in batch.error_message


def test_series_ignores_attribute_order() -> None:
    a = [{"key": "x", "value": {"stringValue": "1"}}, {"key": "y", "value": {"intValue": 2}}]
    b1 = decode_metrics(_metric_json([{"attributes": a, "timeUnixNano": "1", "asInt": 1}]), "json")
    b2 = decode_metrics(_metric_json([{"attributes": a[::-1], "timeUnixNano": "1", "asInt": 1}]), "json")
    assert b1.points[0].series == b2.points[0].series


def test_histogram_and_gauge_points() -> None:
    hist = _metric_json(
        [{"timeUnixNano": "5", "count": "3", "sum": 12.5, "bucketCounts": ["1", "2"]}], kind="histogram"
    )
    (p,) = decode_metrics(hist, "json").points
    assert p.kind == "histogram" and p.value == 12.5 and p.extra == {"count": 3, "bucket_counts": [1, 2]}
    gauge = _metric_json([{"timeUnixNano": "5", "asDouble": 1.5}], kind="gauge")
    (g,) = decode_metrics(gauge, "json").points
    assert g.kind == "gauge" and g.temporality == 0


def test_event_name_from_body_or_event_name_field() -> None:
    rec = {"timeUnixNano": "1", "body": {"stringValue": "claude_code.user_prompt"}, "attributes": []}
    rec2 = {"timeUnixNano": "2", "eventName": "claude_code.tool_result", "attributes": []}
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [rec, rec2]}]}]}
    batch = logs_from_json(body)
    assert [e.name for e in batch.events] == ["user_prompt", "tool_result"]


def test_api_request_without_split_or_request_id() -> None:
    attrs = {"event.name": "api_request", "session.id": "s1", "model": "m", "input_tokens": "10",
             "cache_creation_tokens": 30, "cost_usd_micros": 1500, "event.sequence": 4}  # fmt: skip
    rec = {"timeUnixNano": "1000000000", "attributes": [
        {"key": k, "value": {"stringValue": v} if isinstance(v, str) else {"intValue": v}} for k, v in attrs.items()
    ]}  # fmt: skip
    (a,) = logs_from_json({"resourceLogs": [{"scopeLogs": [{"logRecords": [rec]}]}]}).api_requests
    assert a.input_tokens == 10 and a.cache_5m_tokens == 30 and a.cache_1h_tokens == 0
    assert a.cost_usd == 0.0015 and a.request_id is None
    assert a.synthetic_key == "otlp:s1:1000:4"
    r = a.to_record()
    assert r.key == "otlp:s1:1000:4" and r.message_id == "" and r.source == "otlp"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b"42",
        b'"x"',
        b'{"resourceMetrics": 5}',
        b'{"resourceMetrics": [1]}',
        b"\xff\xfe",
        b"[" * 100000,
        b'{"resourceMetrics": [{"scopeMetrics": {}}]}',
    ],  # fmt: skip
)
def test_malformed_json_raises_decode_error(body: bytes) -> None:
    with pytest.raises(OTLPDecodeError):
        decode_metrics(body, "json")


def test_malformed_protobuf_raises_decode_error() -> None:
    with pytest.raises(OTLPDecodeError):
        decode_logs(b"\x0a\xff\xff\xff\xff\x0f", "protobuf")
    with pytest.raises(OTLPDecodeError):
        decode("spans", b"", "json")


# -- fuzzing ---------------------------------------------------------------------------

_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(
    st.binary(max_size=2000),
    st.sampled_from(["metrics", "logs", "traces"]),
    st.sampled_from(["json", "protobuf"]),
)
def test_fuzz_random_bytes_never_crash(body: bytes, signal: str, encoding: str) -> None:
    with contextlib.suppress(OTLPDecodeError):
        decode(signal, body, encoding)  # type: ignore[arg-type]


_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.floats(allow_nan=True),
    st.text(max_size=20), st.sampled_from(["NaN", "Infinity", "12", "-1", "AGGREGATION_TEMPORALITY_DELTA"]),
)  # fmt: skip
_json_keys = st.sampled_from(
    ["resourceMetrics", "resourceLogs", "scopeMetrics", "scopeLogs", "metrics", "logRecords", "dataPoints",
     "attributes", "key", "value", "stringValue", "intValue", "doubleValue", "boolValue", "arrayValue",
     "kvlistValue", "values", "sum", "gauge", "histogram", "summary", "exponentialHistogram", "asInt", "asDouble",
     "timeUnixNano", "startTimeUnixNano", "observedTimeUnixNano", "aggregationTemporality", "isMonotonic", "name",
     "body", "resource", "scope", "count", "bucketCounts", "eventName", "\ud800"]
)  # fmt: skip
_json_values = st.recursive(
    _json_leaf,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_json_keys, children, max_size=6),
    max_leaves=40,
)


@_FUZZ
@given(_json_values, st.sampled_from(["metrics", "logs"]))
def test_fuzz_structured_json_never_crashes(value: object, signal: str) -> None:
    try:
        body = json.dumps(value).encode("utf-8", "surrogatepass")
    except (ValueError, UnicodeEncodeError):
        return
    try:
        batch = decode(signal, body, "json")
    except OTLPDecodeError:
        return
    for p in batch.points:
        assert math.isfinite(p.value) and 0 <= p.time_ns < 2**63
        p.attributes_json.encode("utf-8")


@_FUZZ
@given(_json_values)
def test_fuzz_wrapped_in_a_valid_envelope(value: object) -> None:
    # Garbage inside an otherwise well-formed request: never an exception other than OTLPDecodeError.
    doc = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "sum": {"dataPoints": [value]}}]}]}],
           "resourceLogs": [{"scopeLogs": [{"logRecords": [value, {"attributes": [{"key": "k", "value": value}]}]}]}]}  # fmt: skip
    for fn in (metrics_from_json, logs_from_json):
        with contextlib.suppress(OTLPDecodeError):
            fn(doc)


def _fixture_messages() -> list[tuple[str, bytes]]:
    out = []
    for scenario in SCENARIOS:
        for signal, encoding, raw in bodies(scenario):
            if encoding == "json":
                cls = ExportMetricsServiceRequest if signal == "metrics" else ExportLogsServiceRequest
                msg = json_format.Parse(raw, cls(), ignore_unknown_fields=True)
                out.append((signal, msg.SerializeToString()))
            else:
                out.append((signal, raw))
    return out


_MESSAGES = _fixture_messages()


@_FUZZ
@given(st.sampled_from(range(len(_MESSAGES))), st.data())
def test_fuzz_mutated_real_protobuf_never_crashes(index: int, data: st.DataObject) -> None:
    signal, raw = _MESSAGES[index]
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "dup"]))
        if op == "flip":
            buf[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del buf[pos : pos + data.draw(st.integers(1, 64))]
        else:
            buf[pos:pos] = buf[pos : pos + data.draw(st.integers(1, 64))]
        if not buf:
            break
    try:
        batch = decode(signal, bytes(buf), "protobuf")
    except OTLPDecodeError:
        return
    for p in batch.points:
        assert math.isfinite(p.value)
