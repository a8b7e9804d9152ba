#!/usr/bin/env python3
"""A PostToolUse logger written with the cchooks hooks SDK.

Appends one JSON line per finished tool call (time, session, subagent, tool, duration) to
``$TOOL_LOG`` (default ``~/.claude/tool-calls.jsonl``) and prints nothing, so Claude Code carries on
unchanged. If the log cannot be written, the error goes to stderr with exit 1: a non-blocking error that
Claude Code only shows in verbose mode.

Register it in settings.json::

    "PostToolUse": [{"matcher": "*",
                     "hooks": [{"type": "command",
                                "command": "/path/to/venv/bin/python /path/to/posttooluse_logger.py"}]}]
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from cchooks.hooks import PostToolUseEvent, hook


def log_path() -> Path:
    return Path(os.environ.get("TOOL_LOG") or Path.home() / ".claude" / "tool-calls.jsonl")


@hook
def log_tool_call(event: PostToolUseEvent) -> None:
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "session_id": event.session_id,
        "agent_id": event.agent_id,
        "agent_type": event.agent_type,
        "tool": event.tool_name,
        "tool_use_id": event.tool_use_id,
        "duration_ms": event.duration_ms,
        "cwd": event.cwd,
    }
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:  # one short append per call: safe with parallel hooks
        handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    log_tool_call.run()
