"""cchooks' own hook handlers: keep the ledger current, and the opt-in budget guard.

`handle(event, payload, options)` is what `cchooks hook <Event>` runs for every event
Claude Code sends. The payload is the event JSON as a plain dict (parsed with `json`,
no pydantic: this runs after every tool call). It

1. ingests the new bytes of `transcript_path` and of that session's subagent transcripts
   (plus `agent_transcript_path` on SubagentStop) into the ledger;
2. with a `[budget]` threshold configured: on Stop and UserPromptSubmit returns a warning for
   the user when a threshold was crossed (once per crossing and session), and with
   `block = true` on PreToolUse returns a deny decision while a hard limit is exceeded.

It returns the JSON object to print on stdout, or None to print nothing. It may raise;
the command (`cchooks.commands.hook`) logs every error and still exits 0.
"""

from __future__ import annotations

import os
import time

from cchooks.ledger import seen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cchooks.hooks.budget import BudgetSettings
    from cchooks.ledger.ingest import TranscriptFile
    from cchooks.ledger.store import Ledger

WARN_EVENTS = frozenset({"Stop", "UserPromptSubmit"})
AGENT_WARN_EVENTS = frozenset({"Stop", "UserPromptSubmit", "SubagentStop"})  # per-agent budgets also here
# Events whose payload names a subagent's id and type (the type fills in responses that lack one).
AGENT_EVENTS = frozenset({"SubagentStart", "SubagentStop"})
GUARD_EVENTS = frozenset({"PreToolUse"})
# A hook waits this long for another writer (another hook, a backfill) before skipping its
# ingest; the next hook catches up. Below the hard time limit on purpose.
BUSY_MS = 2000


class HookOptions:
    __slots__ = ("ledger_path", "config_path", "stop_at")

    def __init__(
        self, ledger_path: str | None = None, config_path: str | None = None, stop_at: float | None = None
    ) -> None:
        self.ledger_path = ledger_path
        self.config_path = config_path
        # `time.monotonic()` after which ingest stops (what it parsed is committed)
        self.stop_at = stop_at


def load_raw_config(config_path: str | None) -> dict[str, Any]:
    """The validated config as a plain dict (the one loader's cached form, `load_config_hot`)."""
    from cchooks.config import load_config_hot

    return load_config_hot(config_path)


def _str(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


def event_files(payload: dict[str, Any]) -> list[TranscriptFile]:
    """The transcripts an event points at: the session's own, every subagent transcript next to
    it, and `agent_transcript_path` (SubagentStop) when it lies elsewhere or was not there yet."""
    from cchooks.ledger.ingest import describe, session_files

    files: list[TranscriptFile] = []
    transcript = _str(payload.get("transcript_path"))
    if transcript:
        files.extend(session_files(transcript))
    agent_path = _str(payload.get("agent_transcript_path"))
    if agent_path and all(tf.path != agent_path for tf in files):
        files.append(describe(agent_path))
    return files


def ingest_for_event(
    ledger: Ledger, payload: dict[str, Any], stop_at: float | None = None, files: list[TranscriptFile] | None = None
) -> int:
    """Ingest what this event's payload points at (`event_files`); returns how many responses were written."""
    from cchooks.ledger.ingest import ingest_file

    written = 0
    for tf in event_files(payload) if files is None else files:
        if stop_at is not None and time.monotonic() >= stop_at:
            _note_error("time budget used up; the next hook reads the rest")
            break
        result = ingest_file(ledger, tf, stop_at=stop_at)
        written += result.records
        for err in result.errors:
            _note_error(err)
    return written


def _note_error(message: str) -> None:
    from cchooks.hooks.log import log_warning

    log_warning("hook ingest", message)


def handle(event: str, payload: dict[str, Any], options: HookOptions | None = None) -> dict[str, Any] | None:
    options = options or HookOptions()
    try:
        raw = load_raw_config(options.config_path)
    except Exception as exc:  # a broken config file must not stop the ledger from being kept
        from cchooks.hooks.log import log_error

        log_error("config", exc, "using defaults (budget guard off)")
        raw = {}
    budget: BudgetSettings | None = None
    section = raw.get("budget") or {}
    if section.get("agents") or any(
        section.get(f"{k}_usd") is not None for k in ("session", "daily", "five_hour", "weekly")
    ):
        from cchooks.hooks.budget import budget_from_raw

        budget = budget_from_raw(raw)
        if budget.problems:
            from cchooks.hooks.log import log_warning

            log_warning("config", "; ".join(budget.problems))
    files = event_files(payload)
    paths = [tf.path for tf in files]
    writes_only_usage = (budget is None or not budget.enabled) and event not in AGENT_EVENTS
    if writes_only_usage and paths and seen.all_read(_ledger_file(options.ledger_path), paths):
        return None  # nothing new since the last read (usually the statusline's): no SQLite at all
    from cchooks.ledger.live import is_locked_error, open_hot

    ledger = open_hot(options.ledger_path, BUSY_MS, lazy_triggers=True)
    try:
        try:
            ingest_for_event(ledger, payload, options.stop_at, files)
            seen.record(ledger, paths)
        except Exception as exc:
            if not is_locked_error(exc):
                raise
            from cchooks.hooks.log import log_warning

            log_warning(f"hook {event}", "ledger busy; ingest skipped (the next hook catches up)")
        if event in AGENT_EVENTS:
            _note_agent_type(ledger, payload)
        if budget is None or not budget.enabled:
            return None
        guard = event in GUARD_EVENTS and budget.block
        warn = event in WARN_EVENTS or (event in AGENT_WARN_EVENTS and bool(budget.agents))
        if not warn and not guard:
            return None
        return _budget_output(ledger, event, payload, budget, guard)
    finally:
        ledger.close()


def _ledger_file(path: str | None) -> str:
    from cchooks.paths import clean_path, default_ledger_file

    return clean_path(os.path.expanduser(path)) if path else default_ledger_file()


def _note_agent_type(ledger: Ledger, payload: dict[str, Any]) -> None:
    """A SubagentStart/Stop payload names the agent's type: give it to its responses lacking one."""
    from cchooks.ledger.live import is_locked_error, set_agent_type

    session_id, agent_id = _str(payload.get("session_id")), _str(payload.get("agent_id"))
    agent_type = _str(payload.get("agent_type"))
    if session_id and agent_id and agent_type:
        try:
            set_agent_type(ledger, session_id, agent_id, agent_type)
        except Exception as exc:
            if not is_locked_error(exc):
                raise


def _budget_output(
    ledger: Ledger, event: str, payload: dict[str, Any], budget: BudgetSettings, guard: bool
) -> dict[str, Any] | None:
    from cchooks.hooks.budget import deny_reason, measure, new_warnings
    from cchooks.ledger.live import now_ms
    from cchooks.pricing import load_price_table

    prices = load_price_table(budget.price_overrides)
    session_id = _str(payload.get("session_id"))
    # A tool call is charged to its own agent type (no agent_type: the main thread).
    agent_types = [_str(payload.get("agent_type")) or "main"] if guard else None
    measured = measure(ledger, prices, budget, session_id, now_ms(), agent_types)
    if event not in WARN_EVENTS and not guard:
        measured = [m for m in measured if m.kind == "agent"]  # SubagentStop: per-agent budgets only
    if guard:
        reason = deny_reason(measured, budget)
        if reason is None:
            return None
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }
    warnings = new_warnings(ledger, measured, session_id)
    if not warnings:
        return None
    message = "\n".join(warnings)
    out: dict[str, Any] = {"systemMessage": message}
    if event == "UserPromptSubmit" and budget.inform_model:
        out["hookSpecificOutput"] = {"hookEventName": "UserPromptSubmit", "additionalContext": message}
    return out
