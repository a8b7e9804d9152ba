"""Typed records that flow from parsers into the ledger and out to views.

Plain dataclasses (no pydantic) because these sit on the hook and statusline hot paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Where a response's numbers were seen.
SOURCE_TRANSCRIPT = "transcript"
SOURCE_OTLP = "otlp"
SOURCE_BOTH = "both"


@dataclass(slots=True)
class UsageRecord:
    """One billed API response, identified by (message_id, request_id); see `key`."""

    message_id: str
    request_id: str
    session_id: str
    timestamp_ms: int  # UTC, milliseconds since the epoch
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_5m_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    cache_read_tokens: int = 0
    web_search_requests: int = 0
    service_tier: str | None = None
    speed: str | None = None
    agent_id: str | None = None
    agent_type: str | None = None
    project: str | None = None  # the real cwd when known
    project_dir: str | None = None  # the encoded folder name under projects/
    source: str = SOURCE_TRANSCRIPT
    otlp_cost_usd: float | None = None
    host: str | None = None

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
        """The ledger key: the request id (shared with OTLP), else the message id."""
        return self.request_id if self.request_id else "m:" + self.message_id


@dataclass(slots=True)
class ParseStats:
    """Counted outcomes of reading transcript bytes; nothing bad is ever silent."""

    lines: int = 0
    records: int = 0
    skipped_no_usage: int = 0
    malformed: int = 0
    non_utf8: int = 0
    not_billed: int = 0  # <synthetic>, API errors, lines without ids
    examples: list[str] = field(default_factory=list)

    def note(self, kind: str, detail: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(f"{kind}: {detail}")

    def merge(self, other: ParseStats) -> None:
        self.lines += other.lines
        self.records += other.records
        self.skipped_no_usage += other.skipped_no_usage
        self.malformed += other.malformed
        self.non_utf8 += other.non_utf8
        self.not_billed += other.not_billed
        for e in other.examples:
            if len(self.examples) < 20:
                self.examples.append(e)


@dataclass(slots=True)
class RateLimitSnapshot:
    """Claude Code's official rate-limit figures, as the statusline payload carried them."""

    observed_ms: int
    window: str  # five_hour | seven_day | seven_day_opus | seven_day_sonnet
    used_percentage: float
    resets_at_ms: int | None
    session_id: str | None = None
