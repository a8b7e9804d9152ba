"""Transcript JSONL bytes -> UsageRecords.

Pure: no files, no storage, no clocks. The caller hands in bytes and gets back the
records of every *complete* line plus how many bytes those lines used, so a line
that is still being written is left for the next read.

Facts this relies on (see shared/docs/formats.md):
- only `assistant` lines carry a billed `message.usage`;
- one response is written as one line per content block, all with the same
  `message.id` (its identity) and usually `requestId`; copies (fork, partial streaming)
  are merged by message id, keeping the most complete usage (largest output);
- a line written before the message ended has `stop_reason` null and may carry the
  preliminary output count of `message_start`: the record is `partial` unless another
  copy ends the doubt (a stop_reason, or a different output: only message_delta changes it);
- `--fork-session` copies carry `requestSessionId` naming the session that made them;
  2.0.x copies carry neither that nor `requestId`, so they never take the credit from
  the original lines (see `CREDIT_*` in cchooks.records);
- `cost-state` lines, `toolUseResult` summaries, `<synthetic>` and API-error lines are
  never billed responses.
"""

from __future__ import annotations

from cchooks.fastjson import loads as json_loads
from cchooks.records import (
    CREDIT_GUESS,
    CREDIT_NAMED,
    CREDIT_REQUEST_ID,
    INVALID_TOKENS,
    ParseStats,
    UsageRecord,
    token_count,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, Protocol

    class FastPath(Protocol):
        """Faster equivalents for large reads (the `cchooks.parsers.bulk` module is one)."""

        def usage_lines(self, data: bytes, end: int, tail: bytes) -> Iterator[bytes]: ...

        def record_from_bytes(
            self,
            line: bytes,
            acc: dict[str, UsageRecord],
            project_dir: str | None,
            default_session_id: str | None,
            default_agent_type: str | None,
        ) -> UsageRecord | Verdict | str | None: ...

_USAGE = b'"usage"'
_ASSISTANT = b'"assistant"'
NOT_BILLED_MODELS = frozenset({"<synthetic>"})


class _Invalid(Exception):
    """A token count outside [0, MAX_TOKENS) or not an int: the whole line is rejected."""


def _int(value: object) -> int:
    # A missing count is 0; a present one must be valid (bool, float, str, null, negative and
    # huge numbers are not), else the line is rejected rather than stored as 0 or overflowing.
    if value is _MISSING:
        return 0
    n = token_count(value)
    if n is None:
        raise _Invalid(repr(value)[:40])
    return n


_MISSING = object()


_ISO: Any = None  # (datetime.fromisoformat, UTC, the epoch, one millisecond), on first use


_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_FAST_LEFT = 16  # stamps read by `_canonical_iso_ms` before `datetime` is loaded


def _canonical_iso_ms(t: str) -> int | None:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ` (JavaScript's `toISOString`, every timestamp Claude Code writes)
    to epoch milliseconds by arithmetic, or None for anything else, left to `datetime`: that
    keeps the `_datetime` extension (~0.3 ms to load) off a hook that reads one new response.
    Property-tested to agree with `datetime.fromisoformat` wherever it answers."""
    if len(t) != 24 or t[4] != "-" or t[7] != "-" or t[10] != "T" or t[13] != ":" or t[16] != ":":
        return None
    if t[19] != "." or t[23] != "Z" or not t.isascii():
        return None
    digits = t[:4] + t[5:7] + t[8:10] + t[11:13] + t[14:16] + t[17:19] + t[20:23]
    if not digits.isdigit():
        return None
    y, mo, d = int(t[:4]), int(t[5:7]), int(t[8:10])
    h, mi, sec, ms = int(t[11:13]), int(t[14:16]), int(t[17:19]), int(t[20:23])
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    if not (y and 1 <= mo <= 12 and 1 <= d <= _DAYS_IN_MONTH[mo] + (mo == 2 and leap)):
        return None
    if h > 23 or mi > 59 or sec > 59:
        return None
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    y -= mo <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (mo - 3 if mo > 2 else mo + 9) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return ((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms


def parse_timestamp_ms(text: object) -> int | None:
    """ISO-8601 (as Claude Code writes it, `...Z`) to UTC epoch milliseconds (exact, floored)."""
    global _ISO, _FAST_LEFT
    if not isinstance(text, str) or not text:
        return None
    if _ISO is None and _FAST_LEFT > 0:
        # Arithmetic costs ~8 us a stamp against datetime's ~1.3 us: worth it for the few stamps
        # of a hot path's read, not for a backlog or a backfill, which load datetime after these.
        _FAST_LEFT -= 1
        fast = _canonical_iso_ms(text)
        if fast is not None:
            return fast
    if _ISO is None:
        # Imported here: the hot paths' usual run (nothing new to read) parses no timestamp.
        # The C module itself where there is one: `datetime` first builds its pure-Python
        # fallback and imports `math` and `operator` (~3 ms of a statusline that reads a line).
        try:
            from _datetime import UTC, datetime, timedelta
        except ImportError:  # an interpreter without the C module
            from datetime import UTC, datetime, timedelta

        _ISO = (datetime.fromisoformat, UTC, datetime(1970, 1, 1, tzinfo=UTC), timedelta(milliseconds=1))
    fromisoformat, utc, epoch, one_ms = _ISO
    try:
        dt = fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        # Claude Code always writes UTC; a naive stamp is taken as UTC too.
        dt = dt.replace(tzinfo=utc)
    return int((dt - epoch) // one_ms)


def record_from_line(
    obj: object,
    *,
    project_dir: str | None = None,
    default_session_id: str | None = None,
    default_agent_type: str | None = None,
) -> UsageRecord | None | str:
    """Build a record from one decoded line.

    Returns the record, None when the line is not a response (ignored quietly), or a
    short reason string when it looked like a response but is not billable.
    """
    if not isinstance(obj, dict) or obj.get("type") != "assistant":
        return None
    message = obj.get("message")
    if not isinstance(message, dict):
        return None
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    model = message.get("model")
    if not isinstance(model, str) or not model:
        model = "unknown"
    if model in NOT_BILLED_MODELS:
        return "synthetic"
    if obj.get("isApiErrorMessage"):
        return "api-error"
    message_id = message.get("id")
    request_id = obj.get("requestId")
    message_id = message_id if isinstance(message_id, str) else ""
    request_id = request_id if isinstance(request_id, str) else ""
    if not message_id and not request_id:
        uuid = obj.get("uuid")
        if not isinstance(uuid, str) or not uuid:
            return "no-id"
        message_id = "uuid:" + uuid
    ts = parse_timestamp_ms(obj.get("timestamp"))
    if ts is None:
        return "no-timestamp"
    named = obj.get("requestSessionId")
    session = named or obj.get("sessionId") or default_session_id or ""
    if not isinstance(session, str):
        session = str(session)
    credit = CREDIT_NAMED if named else CREDIT_REQUEST_ID if request_id else CREDIT_GUESS
    stop = message.get("stop_reason")

    try:
        c5, c1 = _cache_split(usage)
        server = usage.get("server_tool_use")
        web = _int(server.get("web_search_requests", _MISSING)) if isinstance(server, dict) else 0
        inp = _int(usage.get("input_tokens", _MISSING))
        out = _int(usage.get("output_tokens", _MISSING))
        read = _int(usage.get("cache_read_input_tokens", _MISSING))
    except _Invalid:
        return INVALID_TOKENS
    tier = usage.get("service_tier")
    speed = usage.get("speed")
    agent_id = obj.get("agentId")
    agent_type = obj.get("attributionAgent") or default_agent_type
    cwd = obj.get("cwd")
    return UsageRecord(
        message_id=message_id,
        request_id=request_id,
        session_id=session,
        timestamp_ms=ts,
        model=model,
        input_tokens=inp,
        output_tokens=out,
        cache_creation_5m_tokens=c5,
        cache_creation_1h_tokens=c1,
        cache_read_tokens=read,
        web_search_requests=web,
        service_tier=tier if isinstance(tier, str) else None,
        speed=speed if isinstance(speed, str) else None,
        agent_id=agent_id if isinstance(agent_id, str) and agent_id else None,
        agent_type=agent_type if isinstance(agent_type, str) and agent_type else None,
        project=cwd if isinstance(cwd, str) and cwd else None,
        project_dir=project_dir,
        partial=not (isinstance(stop, str) and stop),
        credit=credit,
    )


def _cache_split(usage: dict[str, Any]) -> tuple[int, int]:
    """Cache-creation tokens written at the 5-minute and the 1-hour rate."""
    cache_total = _int(usage.get("cache_creation_input_tokens", _MISSING))
    split = usage.get("cache_creation")
    if isinstance(split, dict):
        c5 = _int(split.get("ephemeral_5m_input_tokens", _MISSING))
        c1 = _int(split.get("ephemeral_1h_input_tokens", _MISSING))
        if c5 + c1 < cache_total:
            # Older/partial splits: whatever is unassigned was written at the 5m default.
            c5 = cache_total - c1
        return c5, c1
    return cache_total, 0


def more_complete(new: UsageRecord, old: UsageRecord) -> bool:
    """True when `new` carries more of the response than `old` (later streaming state)."""
    if new.output_tokens != old.output_tokens:
        return new.output_tokens > old.output_tokens
    return new.total_tokens > old.total_tokens


def merge_into(acc: dict[str, UsageRecord], rec: UsageRecord) -> None:
    """Keep one record per key: the most complete usage, credited like `merged`."""
    key = rec.key
    old = acc.get(key)
    acc[key] = rec if old is None else merged(old, rec)


def merged(old: UsageRecord, new: UsageRecord) -> UsageRecord:
    """Two copies of one response as one (the ledger's upsert does the same in SQL).

    Usage from the more complete copy; session and timestamp from the copy with the
    higher credit (the earlier one on a tie); ids and flags combined.
    """
    keep, other = (new, old) if more_complete(new, old) else (old, new)
    # Only message_delta changes output_tokens: copies that disagree prove the larger final.
    partial = keep.partial and other.partial and keep.output_tokens == other.output_tokens
    src = new if new.credit > old.credit else old
    keep.session_id, keep.timestamp_ms, keep.credit = src.session_id, src.timestamp_ms, src.credit
    keep.partial = partial
    keep.request_id = keep.request_id or other.request_id
    return keep


class Verdict:
    """A `fast` decoder's answer that is not a record (see UNSURE and KNOWN_COPY)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# A line a `fast` decoder leaves to the generic path, and another line of a response
# already in the accumulator that carries nothing more.
UNSURE = Verdict("UNSURE")
KNOWN_COPY = Verdict("KNOWN_COPY")

_CONTENT = b'"content":['
_AFTER_CONTENT = b'],"stop_reason":'


def _loads_without_content(line: bytes, loads: Callable[[bytes], Any]) -> Any:
    """Decode an assistant line without its `message.content` (most of its bytes).

    Claude Code writes `"content":[...]` before `"stop_reason"` in every assistant
    message, and quotes inside strings are escaped, so the first `"content":[` and the
    last `],"stop_reason":` bound it. Billing needs none of it. When the cut does not
    give exactly that (another writer, a future layout), the whole line is decoded.
    """
    start = line.find(_CONTENT)
    end = line.rfind(_AFTER_CONTENT)
    if 0 < start < end:
        try:
            obj = loads(line[: start + len(_CONTENT)] + line[end:])
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            message = obj.get("message")
            if isinstance(message, dict) and message.get("content") == [] and "usage" in message:
                return obj
    return loads(line)


def _is_known_copy(obj: object, acc: dict[str, UsageRecord]) -> bool:
    """True for another line of a response already in `acc` that carries nothing more.

    Claude Code writes one line per content block with the same usage; skipping the
    copies early saves building a record for each. Anything unusual goes the slow way.
    """
    try:
        message = obj["message"]  # type: ignore[index]
        usage = message["usage"]
        if obj["type"] != "assistant" or obj.get("isApiErrorMessage"):  # type: ignore[index,attr-defined]
            return False
        if message.get("model") in NOT_BILLED_MODELS:
            return False
        # the key exactly as record_from_line derives it
        rid, mid, uuid = obj.get("requestId"), message.get("id"), obj.get("uuid")  # type: ignore[attr-defined]
        rid = rid if isinstance(rid, str) else ""
        if isinstance(mid, str) and mid:
            key = "m:" + mid
        elif rid:
            key = rid
        elif isinstance(uuid, str) and uuid:
            key = "m:uuid:" + uuid
        else:
            return False
        old = acc.get(key)
        if old is None:
            return False
        out = _int(usage.get("output_tokens", _MISSING))
        stop = message.get("stop_reason")
        named = obj.get("requestSessionId")  # type: ignore[attr-defined]
        if not copy_adds_nothing(old, out, bool(isinstance(stop, str) and stop), bool(named), rid):
            return False
        c5, c1 = _cache_split(usage)
        inside = _int(usage.get("input_tokens", _MISSING)) + c5 + c1 + _int(usage.get("cache_read_input_tokens", _MISSING))
        old_inside = old.input_tokens + old.cache_creation_tokens + old.cache_read_tokens
        return bool(out < old.output_tokens or (out == old.output_tokens and inside <= old_inside))
    except (KeyError, TypeError, AttributeError, _Invalid):
        return False  # an invalid count is rejected by record_from_line


def copy_adds_nothing(old: UsageRecord, out: int, stopped: bool, named: bool, rid: str) -> bool:
    """False when a further line of `old`'s response could change what `merged` keeps
    besides usage: a stronger session credit, a request id alias, or an end to a partial."""
    credit = CREDIT_NAMED if named else CREDIT_REQUEST_ID if rid else CREDIT_GUESS
    if credit > old.credit or (rid and not old.request_id):
        return False
    return not old.partial or (not stopped and out == old.output_tokens)


def parse_chunk(
    data: bytes,
    acc: dict[str, UsageRecord],
    stats: ParseStats,
    *,
    final: bool = False,
    project_dir: str | None = None,
    default_session_id: str | None = None,
    default_agent_type: str | None = None,
    fast: FastPath | None = None,
) -> int:
    """Parse the complete lines of `data` into `acc`; return the bytes consumed.

    A trailing piece without a newline is not consumed (it may still be written)
    unless `final` is set, in which case it is parsed if it is valid JSON. `fast` (see
    `cchooks.parsers.bulk`) finds the lines and decodes those it is sure of; the rest go
    the generic way.
    """
    end = data.rfind(b"\n") + 1
    tail = data[end:] if final and end < len(data) else b""
    for line in usage_lines(data, end, tail) if fast is None else fast.usage_lines(data, end, tail):
        # Only assistant lines with a usage object are decoded; the rest never leave C.
        if _ASSISTANT not in line:
            continue
        rec: UsageRecord | Verdict | str | None = UNSURE
        if fast is not None:
            rec = fast.record_from_bytes(line, acc, project_dir, default_session_id, default_agent_type)
        if rec is UNSURE:
            try:
                obj = _loads_without_content(line, json_loads)
            except ValueError as exc:  # UnicodeDecodeError is a ValueError too
                if isinstance(exc, UnicodeDecodeError) or "UTF-8" in str(exc):
                    stats.non_utf8 += 1
                    stats.note("non-utf8", repr(line[:60]))
                else:
                    stats.malformed += 1
                    stats.note("malformed", repr(line[:60]))
                continue
            rec = KNOWN_COPY if _is_known_copy(obj, acc) else record_from_line(
                obj,
                project_dir=project_dir,
                default_session_id=default_session_id,
                default_agent_type=default_agent_type,
            )  # fmt: skip
        if isinstance(rec, UsageRecord):
            stats.records += 1
            merge_into(acc, rec)
        elif rec is KNOWN_COPY:
            stats.records += 1
        elif rec is None:
            stats.not_responses += 1
        elif rec == INVALID_TOKENS:
            stats.invalid_tokens += 1
            stats.note(INVALID_TOKENS, repr(line[:60]))
        else:
            stats.not_billed += 1
    return len(data) if final else end


def usage_lines(
    data: bytes,
    end: int,
    tail: bytes,
    find: Callable[[bytes, bytes, int, int], int] = bytes.find,
    rfind: Callable[[bytes, bytes, int, int], int] = bytes.rfind,
) -> Iterator[bytes]:
    """The lines of data[:end] (and `tail`) that contain `"usage"`, found without splitting.

    `find`/`rfind` take (haystack, needle, start, end) like the unbound `bytes` methods;
    backfills pass SIMD equivalents.
    """
    pos = 0
    while True:
        i = find(data, _USAGE, pos, end)
        if i < 0:
            break
        start = rfind(data, b"\n", 0, i) + 1
        stop = find(data, b"\n", i, end)
        yield data[start:stop]
        pos = stop + 1
    if tail.strip() and _USAGE in tail:
        yield tail


def parse_bytes(
    data: bytes,
    *,
    project_dir: str | None = None,
    default_session_id: str | None = None,
    default_agent_type: str | None = None,
    fast: FastPath | None = None,
) -> tuple[list[UsageRecord], ParseStats]:
    """Convenience: all records of a complete byte string (used by tests and tools)."""
    acc: dict[str, UsageRecord] = {}
    stats = ParseStats()
    parse_chunk(
        data, acc, stats, final=True, project_dir=project_dir, default_session_id=default_session_id,
        default_agent_type=default_agent_type, fast=fast,
    )  # fmt: skip
    return list(acc.values()), stats
