#!/usr/bin/env python3
"""A PreToolUse guard written with the cchooks hooks SDK.

* a Bash command that deletes recursively (``rm -rf …``) is denied: Claude is told why and the command
  does not run (JSON output, exit 0);
* reading or editing a ``.env`` file is blocked by raising ``Block`` (exit 2, the reason on stderr);
* everything else passes (no output, exit 0) and goes through Claude Code's normal permission flow.

Register it in settings.json (absolute paths; the interpreter must have cchooks installed)::

    "PreToolUse": [{"matcher": "Bash|Read|Edit|Write",
                    "hooks": [{"type": "command",
                               "command": "/path/to/venv/bin/python /path/to/pretooluse_guard.py"}]}]
"""

from __future__ import annotations

import os
import re

from cchooks.hooks import Block, PreToolUseEvent, PreToolUseOutput, hook

RECURSIVE_DELETE = re.compile(r"\brm\s+(-\w*r\w*f\w*|-\w*f\w*r\w*|-r\s+-f|-f\s+-r|--recursive)")
SECRET_FILES = {".env", ".env.local", ".env.production"}


@hook
def guard(event: PreToolUseEvent) -> PreToolUseOutput | None:
    if event.tool_name == "Bash":
        command = str(event.tool_input.get("command", ""))
        if RECURSIVE_DELETE.search(command):
            return PreToolUseOutput.deny(f"recursive deletes are not allowed here: {command!r}")
    if event.tool_name in {"Read", "Edit", "Write"}:
        path = str(event.tool_input.get("file_path", ""))
        if os.path.basename(path) in SECRET_FILES:
            raise Block(f"{path} holds secrets; ask the user to share what you need from it")
    return None


if __name__ == "__main__":
    guard.run()
