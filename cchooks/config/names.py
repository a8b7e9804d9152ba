"""Names the config schema and the hot paths share (no pydantic here)."""

from __future__ import annotations

# Statusline segments, in the order `cchooks statusline --help` lists them.
SEGMENTS = (
    "model",
    "cost",
    "session_cost",
    "today_cost",
    "tokens",
    "burn",
    "five_hour",
    "seven_day",
    "context",
    "lines",
    "duration",
    "cwd",
    "team",
)
