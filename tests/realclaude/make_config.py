#!/usr/bin/env python3
"""Write the temporary Claude Code config: <config>/settings.json and <config>/.claude.json.

Adapted from shared/realclaude/make_config.py: importable (write_config), the
interpreter of the capture commands is configurable (default: this one, by
absolute path, so it does not depend on PATH/pyenv shims inside the run), and
the capture hooks/statusLine can be left out.

usage: make_config.py --config-dir DIR --bin-dir DIR --project-dir DIR --api-key KEY --template FILE
                      [--python EXE] [--events A,B] [--no-capture-hooks] [--no-capture-statusline]
settings.json = settings.template.json with a capture hook for every hook event
this Claude Code version knows (WorktreeCreate/WorktreeRemove left out: a hook
there replaces git's own worktree handling). .claude.json marks onboarding done,
the API key approved, the project folder trusted and the "make auto mode your
default?" notice seen, so no dialog blocks a run.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

EVENTS = [
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification",
    "UserPromptSubmit", "UserPromptExpansion", "SessionStart", "SessionEnd", "Stop", "StopFailure",
    "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "PreModelSwitch", "PostModelSwitch",
    "PermissionRequest", "PermissionDenied", "Setup", "TeammateIdle", "TaskCreated", "TaskCompleted",
    "Elicitation", "ElicitationResult", "ConfigChange", "InstructionsLoaded", "CwdChanged",
    "FileChanged", "DirectoryAdded", "MessageDisplay",
]

HERE = os.path.dirname(os.path.abspath(__file__))


def capture_command(python: str, bin_dir: str, *args: str) -> str:
    return " ".join(shlex.quote(x) for x in (python, os.path.join(bin_dir, "capture_hook.py"), *args))


def write_config(config_dir: str, bin_dir: str, project_dir: str, api_key: str = "dummy",
                 template: str | None = None, python: str | None = None,
                 events: list[str] | None = None, capture_hooks: bool = True,
                 capture_statusline: bool = True) -> None:
    python = python or sys.executable
    template = template or os.path.join(HERE, "settings.template.json")
    os.makedirs(config_dir, exist_ok=True)
    with open(template) as f:
        tpl = json.load(f)
    tpl.pop("$comment", None)
    if capture_hooks:
        tpl["hooks"] = {ev: [{"hooks": [{"type": "command",
                                         "command": capture_command(python, bin_dir, "hook", ev)}]}]
                        for ev in (EVENTS if events is None else events)}
    else:
        tpl.pop("hooks", None)
    if capture_statusline:
        tpl["statusLine"]["command"] = capture_command(python, bin_dir, "statusline")
    else:
        tpl.pop("statusLine", None)
    with open(os.path.join(config_dir, "settings.json"), "w") as f:
        json.dump(tpl, f, indent=2)
        f.write("\n")
    state = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "numStartups": 1,
        "autoUpdates": False,
        "hasSeenAutoDefaultNotice": True,
        "customApiKeyResponses": {"approved": [api_key[-20:]], "rejected": []},
        "projects": {
            project_dir: {
                "allowedTools": [],
                "hasTrustDialogAccepted": True,
                "hasCompletedProjectOnboarding": True,
                "projectOnboardingSeenCount": 1,
            }
        },
    }
    with open(os.path.join(config_dir, ".claude.json"), "w") as f:
        json.dump(state, f, indent=2)
        f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config-dir", required=True)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--project-dir", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--template")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--events", default=",".join(EVENTS))
    ap.add_argument("--no-capture-hooks", action="store_true")
    ap.add_argument("--no-capture-statusline", action="store_true")
    a = ap.parse_args()
    write_config(a.config_dir, a.bin_dir, a.project_dir, a.api_key, a.template, a.python,
                 [e for e in a.events.split(",") if e], not a.no_capture_hooks, not a.no_capture_statusline)


if __name__ == "__main__":
    main()
