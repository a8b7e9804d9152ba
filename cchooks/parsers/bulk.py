"""Backfill-speed reading of transcripts: stringzilla finds the lines, msgspec decodes them.

A backfill scans hundreds of megabytes for `"usage"`; stringzilla's SIMD search does
that several times faster than `bytes.find`, with the same results. It then decodes
tens of thousands of assistant lines; `msgspec` decodes each one straight into the few typed fields billing needs (skipping `message.content` and every
other field in C, without building dicts), which is several times cheaper than a
generic decode followed by `record_from_line`.

The types here are strict on purpose: a token count must be a JSON
integer in [0, MAX_TOKENS), an id a string, and so on. Anything else (a float, a null, a negative count, a
surprising shape, invalid UTF-8, malformed JSON) makes `record_from_bytes` answer
UNSURE, and the caller takes the generic path, which defines the semantics. So this module only ever speeds up lines the
generic path would read the same way; `tests/test_parser_bulk.py` checks that they agree.

msgspec costs ~20 ms to import (it pulls in `typing`), so the hook and statusline paths
never import this module; only large reads do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
from stringzilla import find, rfind

from cchooks.parsers import transcript
from cchooks.parsers.transcript import (
    KNOWN_COPY,
    NOT_BILLED_MODELS,
    UNSURE,
    Verdict,
    copy_adds_nothing,
    parse_timestamp_ms,
)
from cchooks.records import CREDIT_GUESS, CREDIT_NAMED, CREDIT_REQUEST_ID, MAX_TOKENS, UsageRecord

# Out-of-range counts fail validation, so the generic path rejects (and counts) the line.
Count = Annotated[int, msgspec.Meta(ge=0, lt=MAX_TOKENS)]


class _CacheCreation(msgspec.Struct, gc=False):
    ephemeral_5m_input_tokens: Count = 0
    ephemeral_1h_input_tokens: Count = 0


class _ServerToolUse(msgspec.Struct, gc=False):
    web_search_requests: Count = 0


class _Usage(msgspec.Struct, gc=False):
    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_creation_input_tokens: Count = 0
    cache_read_input_tokens: Count = 0
    cache_creation: _CacheCreation | None = None
    server_tool_use: _ServerToolUse | None = None
    service_tier: str | None = None
    speed: str | None = None


class _Message(msgspec.Struct, gc=False):
    id: str = ""
    model: str | None = None
    usage: _Usage | None = None
    stop_reason: str | None = None


class _Line(msgspec.Struct, gc=False):
    type: str | None = None
    message: _Message | None = None
    requestId: str = ""  # noqa: N815 - JSON field names
    sessionId: str | None = None  # noqa: N815
    requestSessionId: str | None = None  # noqa: N815
    timestamp: str | None = None
    agentId: str | None = None  # noqa: N815
    attributionAgent: str | None = None  # noqa: N815
    cwd: str | None = None
    uuid: str | None = None
    isApiErrorMessage: Any = None  # noqa: N815 - only its truthiness matters, as on the generic path


_decode = msgspec.json.Decoder(_Line).decode


def usage_lines(data: bytes, end: int, tail: bytes) -> Iterator[bytes]:
    """`cchooks.parsers.transcript.usage_lines` with SIMD search (same results, property-tested)."""
    return transcript.usage_lines(data, end, tail, find, rfind)


def record_from_bytes(
    line: bytes,
    acc: dict[str, UsageRecord],
    project_dir: str | None,
    default_session_id: str | None,
    default_agent_type: str | None,
) -> UsageRecord | Verdict | str | None:
    """`record_from_line(json.loads(line))` for well-typed lines, else UNSURE.

    KNOWN_COPY means `acc` already holds this response with at least as much usage
    (another content-block line of it), so no record is built. UNSURE leaves the line
    to the generic path.
    """
    if not line.isascii():
        # msgspec does not check the UTF-8 of the fields it skips; json.loads does.
        try:
            line.decode()
        except UnicodeDecodeError:
            return UNSURE
    try:
        obj = _decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return UNSURE
    message = obj.message
    if obj.type != "assistant" or message is None:
        return None
    usage = message.usage
    if usage is None:
        return None
    model = message.model or "unknown"
    if model in NOT_BILLED_MODELS:
        return "synthetic"
    if obj.isApiErrorMessage:
        return "api-error"
    message_id = message.id
    request_id = obj.requestId
    if message_id:
        key = "m:" + message_id
    elif request_id:
        key = request_id
    elif obj.uuid:
        message_id = "uuid:" + obj.uuid
        key = "m:" + message_id
    else:
        return "no-id"

    cache_total = usage.cache_creation_input_tokens
    split = usage.cache_creation
    if split is not None:
        c5 = split.ephemeral_5m_input_tokens
        c1 = split.ephemeral_1h_input_tokens
        if c5 + c1 < cache_total:
            # Older/partial splits: whatever is unassigned was written at the 5m default.
            c5 = cache_total - c1
    else:
        c5, c1 = cache_total, 0
    inp = usage.input_tokens
    out = usage.output_tokens
    read = usage.cache_read_input_tokens
    old = acc.get(key)
    stopped = bool(message.stop_reason)
    if old is not None and copy_adds_nothing(old, out, stopped, bool(obj.requestSessionId), request_id) and (
        out < old.output_tokens
        or (
            out == old.output_tokens
            and inp + c5 + c1 + read <= old.input_tokens + old.cache_creation_tokens + old.cache_read_tokens
        )
    ):
        return KNOWN_COPY
    ts = parse_timestamp_ms(obj.timestamp)
    if ts is None:
        return "no-timestamp"
    server = usage.server_tool_use
    return UsageRecord(
        message_id,
        request_id,
        obj.requestSessionId or obj.sessionId or default_session_id or "",
        ts,
        model,
        inp,
        out,
        c5,
        c1,
        read,
        0 if server is None else server.web_search_requests,
        usage.service_tier,
        usage.speed,
        obj.agentId or None,
        obj.attributionAgent or default_agent_type or None,
        obj.cwd or None,
        project_dir,
        partial=not stopped,
        credit=CREDIT_NAMED if obj.requestSessionId else CREDIT_REQUEST_ID if request_id else CREDIT_GUESS,
    )
