"""Property tests: duplicates, copies, partials, truncation and garbage never change the totals."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchooks.parsers import bulk
from cchooks.parsers.transcript import parse_bytes, parse_chunk
from cchooks.records import ParseStats, UsageRecord
from tests.transcript_factory import Resp, assistant_line, noise_lines, record_totals, totals

tokens = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def responses(draw: st.DrawFn) -> list[Resp]:
    n = draw(st.integers(min_value=1, max_value=12))
    return [
        Resp(i, draw(st.sampled_from(["s1", "s2", "s3"])), draw(tokens), draw(st.integers(1, 100_000)),
             draw(tokens), draw(tokens), draw(tokens), agent=draw(st.sampled_from([None, "a1"])))
        for i in range(n)
    ]  # fmt: skip


@st.composite
def messy_stream(draw: st.DrawFn) -> tuple[list[Resp], list[bytes]]:
    resps = draw(responses())
    lines: list[bytes] = []
    for r in resps:
        blocks = draw(st.integers(1, 3))
        for b in range(blocks):
            lines.append(assistant_line(r, block=b).encode())
        if draw(st.booleans()):  # an older streaming partial with a smaller output
            lines.append(assistant_line(r, out=draw(st.integers(0, r.out - 1)) if r.out else 0).encode())
        if draw(st.booleans()):  # a --fork-session copy in another session
            lines.append(assistant_line(r, session="fork", request_session=r.session).encode())
        if draw(st.booleans()):  # a line cut off mid-way (a crash) followed by a newline
            full = assistant_line(r).encode()
            lines.append(full[: draw(st.integers(1, len(full) - 1))])
        if draw(st.booleans()):
            lines.extend(x.encode() for x in noise_lines(r))
        if draw(st.booleans()):
            lines.append(draw(st.binary(max_size=80)).replace(b"\n", b" ") + b' "usage" \xff\xfe')
    order = draw(st.permutations(range(len(lines))))
    return resps, [lines[i] for i in order]


def _session_of(records: list[UsageRecord]) -> dict[str, str]:
    return {r.request_id: r.session_id for r in records}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(messy_stream())
def test_messy_stream_totals_equal_clean_stream(case: tuple[list[Resp], list[bytes]]) -> None:
    resps, lines = case
    data = b"\n".join(lines) + b"\n"
    records, stats = parse_bytes(data)
    assert record_totals(records) == totals(resps)
    # Forks are credited to the session that made the call.
    assert _session_of(records) == {r.rid: r.session for r in resps}
    # The backfill decoder (msgspec) reads the same stream the same way.
    fast_records, fast_stats = parse_bytes(data, fast=bulk)
    assert _by_key(fast_records) == _by_key(records)
    assert (fast_stats.malformed, fast_stats.non_utf8) == (stats.malformed, stats.non_utf8)


def _by_key(records: list[UsageRecord]) -> dict[str, UsageRecord]:
    return {r.key: r for r in records}


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(messy_stream(), st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=30))
def test_any_chunking_equals_reading_at_once(case: tuple[list[Resp], list[bytes]], sizes: list[int]) -> None:
    resps, lines = case
    data = b"\n".join(lines) + b"\n"
    acc: dict[str, UsageRecord] = {}
    stats = ParseStats()
    pending = b""
    pos = 0
    i = 0
    while pos < len(data):
        step = sizes[i % len(sizes)]
        i += 1
        chunk = pending + data[pos : pos + step]
        pos += step
        used = parse_chunk(chunk, acc, stats)
        pending = chunk[used:]
    assert pending == b""
    assert record_totals(acc.values()) == totals(resps)


def test_incomplete_last_line_is_not_consumed() -> None:
    r = Resp(1, "s", 10, 20, 30, 40, 50)
    line = assistant_line(r).encode()
    acc: dict[str, UsageRecord] = {}
    used = parse_chunk(line[:-5], acc, ParseStats())
    assert used == 0 and not acc
    used = parse_chunk(line + b"\n", acc, ParseStats())
    assert used == len(line) + 1 and len(acc) == 1


def test_malformed_and_non_utf8_lines_are_counted() -> None:
    data = b'{"type":"assistant","usage": \n' + b'{"type":"assistant","usage": "\xff"}\n' + b"not json at all\n"
    records, stats = parse_bytes(data)
    assert records == []
    assert stats.malformed == 1
    assert stats.non_utf8 == 1
    assert stats.examples


def test_old_format_without_cache_split_counts_as_5m() -> None:
    line = (
        b'{"type":"assistant","requestId":"r","timestamp":"2025-01-01T00:00:00Z","sessionId":"s",'
        b'"message":{"id":"m","model":"claude-3-5-sonnet-20241022","usage":{"input_tokens":1,'
        b'"cache_creation_input_tokens":100,"cache_read_input_tokens":5,"output_tokens":2}}}\n'
    )
    [rec], _ = parse_bytes(line)
    assert (rec.cache_creation_5m_tokens, rec.cache_creation_1h_tokens) == (100, 0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["content", "stop_reason", "usage", "output_tokens", "x"]), children,
                      max_size=3),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300)
@given(tool_input=json_values, text=st.text(max_size=40))
def test_decoding_without_content_gives_the_same_numbers(tool_input: object, text: str) -> None:
    """Tool inputs and texts that mimic the markers around `content` never change what is billed."""
    import json

    from cchooks.parsers.transcript import _loads_without_content

    r = Resp(1, "s", 11, 22, 33, 44, 55)
    obj = json.loads(assistant_line(r))
    obj["message"]["content"] = [
        {"type": "text", "text": text + '],"stop_reason":"x","usage":{"output_tokens":999}'},
        {"type": "tool_use", "id": "t", "name": "n", "input": {"a": tool_input, "stop_reason": [1]}},
    ]
    line = json.dumps(obj, separators=(",", ":")).encode()
    cut = _loads_without_content(line, json.loads)
    assert cut["message"]["usage"] == obj["message"]["usage"]
    assert cut["requestId"] == obj["requestId"] and cut["sessionId"] == obj["sessionId"]
