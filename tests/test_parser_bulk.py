"""The backfill decoder (msgspec structs, `cchooks.parsers.bulk`) reads every line exactly as the
generic path does: same records, same counts, whatever odd value a field holds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchooks.parsers import bulk
from cchooks.parsers.bulk import record_from_bytes
from cchooks.parsers.transcript import UNSURE, parse_bytes
from cchooks.records import ParseStats, UsageRecord
from tests.transcript_factory import Resp, assistant_line

# Values a field might hold in a future, older or broken writer.
odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=1e6),
    st.sampled_from([3.0, 0.0, 1e3]),
    # the edges of the valid range (cchooks.records.MAX_TOKENS) and beyond int64
    st.sampled_from([10**12 - 1, 10**12, 2**62, 2**63 - 1, 2**63, 2**64, -1, float("nan")]),
    st.text(max_size=6),
    st.sampled_from(["", "<synthetic>", "assistant", "2026-11-22T11:45:01Z", "2026-11-22 11:45", "x", "end_turn"]),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens",
                                     "web_search_requests", "x"]), st.integers(-2, 50), max_size=3),
)  # fmt: skip

# Where a value can be swapped: (path inside the line object, field name).
FIELDS = [
    ((), "type"), ((), "requestId"), ((), "sessionId"), ((), "requestSessionId"), ((), "timestamp"),
    ((), "agentId"), ((), "attributionAgent"), ((), "cwd"), ((), "uuid"), ((), "isApiErrorMessage"),
    ((), "message"),
    (("message",), "id"), (("message",), "model"), (("message",), "usage"), (("message",), "content"),
    (("message",), "stop_reason"),
    (("message", "usage"), "input_tokens"), (("message", "usage"), "output_tokens"),
    (("message", "usage"), "cache_creation_input_tokens"), (("message", "usage"), "cache_read_input_tokens"),
    (("message", "usage"), "cache_creation"), (("message", "usage"), "server_tool_use"),
    (("message", "usage"), "service_tier"), (("message", "usage"), "speed"),
    (("message", "usage", "cache_creation"), "ephemeral_5m_input_tokens"),
    (("message", "usage", "cache_creation"), "ephemeral_1h_input_tokens"),
    (("message", "usage", "server_tool_use"), "web_search_requests"),
]  # fmt: skip


def _mutate(obj: dict[str, Any], path: tuple[str, ...], field: str, value: object, delete: bool) -> None:
    target: Any = obj
    for step in path:
        target = target.get(step) if isinstance(target, dict) else None
    if not isinstance(target, dict):
        return
    if delete:
        target.pop(field, None)
    else:
        target[field] = value


@st.composite
def odd_lines(draw: st.DrawFn) -> list[bytes]:
    """A few lines of up to three responses, each with some fields replaced or removed."""
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        n = draw(st.integers(0, 2))
        r = Resp(n, draw(st.sampled_from(["s1", "s2"])), draw(st.integers(0, 9)), draw(st.integers(0, 9)),
                 draw(st.integers(0, 9)), draw(st.integers(0, 9)), draw(st.integers(0, 9)),
                 agent=draw(st.sampled_from([None, "a1"])))  # fmt: skip
        obj = json.loads(assistant_line(r, block=draw(st.integers(0, 2))))
        for _ in range(draw(st.integers(0, 3))):
            path, field = draw(st.sampled_from(FIELDS))
            _mutate(obj, path, field, draw(odd), draw(st.booleans()))
        line = json.dumps(obj, separators=(",", ":")).encode()
        # Broken bytes inside the content (cut away by the generic path) or in another field.
        where = draw(st.sampled_from([None, b"in text", b"2.1.330"]))
        if where is not None:
            line = line.replace(where, where + draw(st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc3"])))
        lines.append(line)
    return lines


def _by_key(records: list[UsageRecord]) -> dict[str, UsageRecord]:
    return {r.key: r for r in records}


def _counts(stats: ParseStats) -> tuple[int, ...]:
    return (stats.records, stats.not_responses, stats.malformed, stats.non_utf8, stats.not_billed,
            stats.invalid_tokens, stats.too_long)  # fmt: skip


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(odd_lines(), st.sampled_from([None, "proj"]), st.sampled_from([None, "", "dflt"]),
       st.sampled_from([None, "", "Explore"]))  # fmt: skip
def test_fast_path_reads_odd_lines_like_the_generic_path(
    lines: list[bytes], project_dir: str | None, session: str | None, agent_type: str | None
) -> None:
    data = b"\n".join(lines) + b"\n"
    kw: dict[str, Any] = {
        "project_dir": project_dir,
        "default_session_id": session,
        "default_agent_type": agent_type,
    }
    generic, g_stats = parse_bytes(data, **kw)
    fast, f_stats = parse_bytes(data, fast=bulk, **kw)
    assert _by_key(fast) == _by_key(generic)
    assert _counts(f_stats) == _counts(g_stats)


def test_ordinary_lines_take_the_fast_path_and_odd_ones_do_not() -> None:
    r = Resp(1, "s", 10, 20, 30, 40, 50)
    acc: dict[str, UsageRecord] = {}
    rec = record_from_bytes(assistant_line(r).encode(), acc, None, None, None)
    assert isinstance(rec, UsageRecord) and rec.output_tokens == 20 and rec.cache_creation_1h_tokens == 40
    for odd_line in (
        assistant_line(r).replace('"output_tokens":20', '"output_tokens":20.0'),
        assistant_line(r).replace('"output_tokens":20', '"output_tokens":-20'),
        assistant_line(r).replace('"output_tokens":20', '"output_tokens":null'),
        assistant_line(r).replace('"requestId":"req_1"', '"requestId":7'),
        assistant_line(r)[:-3],
    ):
        assert record_from_bytes(odd_line.encode(), acc, None, None, None) is UNSURE
    assert record_from_bytes(b'{"type":"assistant","usage":"\xff"}', acc, None, None, None) is UNSURE


def test_known_copies_are_not_rebuilt() -> None:
    r = Resp(1, "s", 10, 20, 30, 40, 50)
    records, stats = parse_bytes(
        b"\n".join(assistant_line(r, block=b).encode() for b in range(3)) + b"\n",
        fast=bulk,
    )
    assert len(records) == 1 and stats.records == 3


@settings(max_examples=500)
@given(
    st.lists(st.sampled_from([b'"usage"', b"\n", b"x", b'"usa', b'ge"', b'{"a":1}', b"\xff"]), max_size=40),
    st.binary(max_size=30),
)
def test_simd_line_finder_finds_what_bytes_find_finds(parts: list[bytes], tail: bytes) -> None:
    from cchooks.parsers.transcript import usage_lines

    data = b"".join(parts)
    end = data.rfind(b"\n") + 1
    assert list(bulk.usage_lines(data, end, tail)) == list(usage_lines(data, end, tail))


def test_backfill_falls_back_to_the_generic_path_without_its_libraries(monkeypatch: Any) -> None:
    import sys

    import cchooks.parsers
    from cchooks.ledger import ingest

    assert ingest.bulk_decoder() is bulk
    # as if msgspec or stringzilla were missing: importing the module raises ImportError
    monkeypatch.setitem(sys.modules, "cchooks.parsers.bulk", None)
    monkeypatch.delattr(cchooks.parsers, "bulk")
    assert ingest.bulk_decoder() is None
