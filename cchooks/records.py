"""Typed records that flow from parsers into the ledger and out to views.

Plain `__slots__` classes rather than dataclasses: these sit on the hook and statusline
hot paths, and `import dataclasses` pulls in `inspect` (about 6 ms per process).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Where a response's numbers were seen.
SOURCE_TRANSCRIPT = "transcript"
SOURCE_OTLP = "otlp"
SOURCE_BOTH = "both"

# The valid range of one token count (input, output, each cache field, web searches): an
# integer in [0, MAX_TOKENS). Real responses are below 10^7; anything at or above 10^12 is
# corrupt or hostile, and rejecting it keeps every SQL sum of millions of rows inside int64.
MAX_TOKENS = 10**12

# Named reason under which a line or point with a count outside that range is rejected.
INVALID_TOKENS = "invalid-tokens"


def token_count(value: object) -> int | None:
    """`value` when it is a valid token count (an int, not a bool, in [0, MAX_TOKENS)), else None."""
    if type(value) is int and 0 <= value < MAX_TOKENS:
        return value
    return None


class SlotRecord:
    """Value semantics (repr, ==) from `__slots__`, as a dataclass would give."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


# How sure a copy is of the session that made the response (`UsageRecord.credit`): a copy
# with a higher rank decides the session and timestamp. `requestSessionId` and OTLP name
# the session outright; Claude Code 2.0.x fork copies drop `requestId`, so a line that has
# one is the original rather than a copy.
CREDIT_NAMED = 3
CREDIT_REQUEST_ID = 2
CREDIT_GUESS = 1
# A line older than the first line of its file was copied there (a fork or resume copy).
CREDIT_COPY = 0


class UsageRecord(SlotRecord):
    """One billed API response, identified by its message id (a request id is an alias); see `key`."""

    __slots__ = (
        "message_id", "request_id", "session_id", "timestamp_ms", "model", "input_tokens",
        "output_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens", "cache_read_tokens",
        "web_search_requests", "service_tier", "speed", "agent_id", "agent_type", "project",
        "project_dir", "source", "otlp_cost_usd", "host", "partial", "credit",
    )  # fmt: skip

    def __init__(
        self,
        message_id: str,
        request_id: str,
        session_id: str,
        timestamp_ms: int,  # UTC, milliseconds since the epoch
        model: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_creation_5m_tokens: int = 0,
        cache_creation_1h_tokens: int = 0,
        cache_read_tokens: int = 0,
        web_search_requests: int = 0,
        service_tier: str | None = None,
        speed: str | None = None,
        agent_id: str | None = None,
        agent_type: str | None = None,
        project: str | None = None,  # the real cwd when known
        project_dir: str | None = None,  # the encoded folder name under projects/
        source: str = SOURCE_TRANSCRIPT,
        otlp_cost_usd: float | None = None,
        host: str | None = None,
        partial: bool = False,  # output seen only on streaming lines written before the message ended
        credit: int = CREDIT_REQUEST_ID,  # see CREDIT_NAMED; OTLP events name their own session
    ) -> None:
        self.message_id = message_id
        self.request_id = request_id
        self.session_id = session_id
        self.timestamp_ms = timestamp_ms
        self.model = model
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_creation_5m_tokens = cache_creation_5m_tokens
        self.cache_creation_1h_tokens = cache_creation_1h_tokens
        self.cache_read_tokens = cache_read_tokens
        self.web_search_requests = web_search_requests
        self.service_tier = service_tier
        self.speed = speed
        self.agent_id = agent_id
        self.agent_type = agent_type
        self.project = project
        self.project_dir = project_dir
        self.source = source
        self.otlp_cost_usd = otlp_cost_usd
        self.host = host
        self.partial = partial
        self.credit = credit

    @property
    def cache_creation_tokens(self) -> int:
        return self.cache_creation_5m_tokens + self.cache_creation_1h_tokens

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_5m_tokens
            + self.cache_creation_1h_tokens
            + self.cache_read_tokens
        )

    @property
    def key(self) -> str:
        """The ledger key: the message id; the request id (OTLP's join key) only when no message id is known.

        Copies of one response do not all carry both ids (2.0.x fork copies lack `requestId`,
        OTLP lacks the message id), so the ledger also merges rows that share a request id.
        """
        return "m:" + self.message_id if self.message_id else self.request_id


class ParseStats(SlotRecord):
    """Counted outcomes of reading transcript bytes; nothing bad is ever silent."""

    # Only lines that mention "usage" and "assistant" are decoded; the rest are not counted.
    __slots__ = (
        "records", "not_responses", "malformed", "non_utf8", "not_billed", "invalid_tokens",
        "too_long", "examples",
    )  # fmt: skip

    def __init__(self) -> None:
        self.records = 0  # response lines (several per response)
        self.not_responses = 0  # decoded, but not an assistant message with usage
        self.malformed = 0
        self.non_utf8 = 0
        self.not_billed = 0  # <synthetic>, API errors, lines without ids
        self.invalid_tokens = 0  # a token count that is not an int in [0, MAX_TOKENS): line rejected
        self.too_long = 0  # a line longer than the reader's limit: skipped
        self.examples: list[str] = []

    def note(self, kind: str, detail: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(f"{kind}: {detail}")

    def merge(self, other: ParseStats) -> None:
        self.records += other.records
        self.not_responses += other.not_responses
        self.malformed += other.malformed
        self.non_utf8 += other.non_utf8
        self.not_billed += other.not_billed
        self.invalid_tokens += other.invalid_tokens
        self.too_long += other.too_long
        for e in other.examples:
            if len(self.examples) < 20:
                self.examples.append(e)


class RateLimitSnapshot(SlotRecord):
    """Claude Code's official rate-limit figures, as the statusline payload carried them."""

    __slots__ = ("observed_ms", "window", "used_percentage", "resets_at_ms", "session_id")

    def __init__(
        self,
        observed_ms: int,
        window: str,  # five_hour | seven_day | seven_day_opus | seven_day_sonnet
        used_percentage: float,
        resets_at_ms: int | None,
        session_id: str | None = None,
    ) -> None:
        self.observed_ms = observed_ms
        self.window = window
        self.used_percentage = used_percentage
        self.resets_at_ms = resets_at_ms
        self.session_id = session_id
