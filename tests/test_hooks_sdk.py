"""The typed hooks SDK: payload models against the real 2.1.330 payloads, output JSON, handler runs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from cchooks.hooks import (
    EVENT_MODELS,
    KNOWN_EVENTS,
    Block,
    GenericHookEvent,
    HookEventBase,
    HookOutput,
    NotificationEvent,
    PostToolBatchEvent,
    PostToolUseEvent,
    PostToolUseOutput,
    PreToolUseEvent,
    PreToolUseOutput,
    SessionStartEvent,
    SessionStartOutput,
    StatusLineInput,
    StopEvent,
    StopOutput,
    SubagentStopEvent,
    SubagentStopOutput,
    UserPromptSubmitOutput,
    handle,
    hook,
    output_model_for,
    parse_event,
    run,
)

ROOT = Path(__file__).resolve().parent.parent
HOOK_FIXTURES = ROOT / "fixtures" / "hooks"
PAYLOADS = sorted(
    p for p in HOOK_FIXTURES.glob("*/*.json") if p.parent.name not in ("statusline", "settings")
)
STATUSLINES = sorted((HOOK_FIXTURES / "statusline").glob("*.json"))
SEEN_EVENTS = {
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolBatch",
    "PermissionRequest",
    "Notification",
    "MessageDisplay",
    "Stop",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "SessionEnd",
}
HARNESS_EVENTS = list(
    json.loads((HOOK_FIXTURES / "settings" / "settings.json.as-written-by-harness").read_text())["hooks"]
)


def test_fixtures_are_there() -> None:
    assert len(PAYLOADS) == 106
    assert {json.loads(p.read_bytes())["hook_event_name"] for p in PAYLOADS} == SEEN_EVENTS


def test_every_known_event_has_a_model() -> None:
    assert len(KNOWN_EVENTS) == 33
    assert set(HARNESS_EVENTS) | {"WorktreeCreate", "WorktreeRemove"} == set(KNOWN_EVENTS)
    for name, model in EVENT_MODELS.items():
        assert model.model_fields["hook_event_name"].default == name


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_parses_into_its_model_with_all_fields(path: Path) -> None:
    raw = path.read_bytes()
    data = json.loads(raw)
    event = parse_event(raw)
    assert type(event) is EVENT_MODELS[data["hook_event_name"]]
    assert not event.model_extra, f"undeclared fields: {sorted(event.model_extra or {})}"
    assert event.model_dump(mode="json", exclude_unset=True) == data
    assert json.loads(event.model_dump_json(exclude_unset=True)) == data
    assert parse_event(data) == parse_event(raw.decode())


def test_typed_access_on_real_payloads() -> None:
    interactive = HOOK_FIXTURES / "interactive"
    pre = parse_event((interactive / "0014-PreToolUse.json").read_bytes())
    assert isinstance(pre, PreToolUseEvent)
    assert pre.tool_name == "Read" and pre.agent_type == "general-purpose"
    assert pre.effort is not None and not isinstance(pre.effort, str) and pre.effort.level == "medium"
    batch = parse_event((interactive / "0008-PostToolBatch.json").read_bytes())
    assert isinstance(batch, PostToolBatchEvent)
    assert batch.tool_calls[0].tool_name == "Bash"
    stop = parse_event((interactive / "0015-Stop.json").read_bytes())
    assert isinstance(stop, StopEvent)
    assert stop.background_tasks and stop.background_tasks[0].status == "running"
    sub = parse_event((interactive / "0024-SubagentStop.json").read_bytes())
    assert isinstance(sub, SubagentStopEvent) and sub.agent_type == ""
    start = parse_event((HOOK_FIXTURES / "p-resume" / "0001-SessionStart.json").read_bytes())
    assert isinstance(start, SessionStartEvent)
    assert start.source == "resume" and isinstance(start.context_tokens, int)
    assert isinstance(start.estimated_cache_write_usd, float)


def test_unknown_fields_are_kept_through_a_round_trip() -> None:
    data = json.loads((HOOK_FIXTURES / "interactive" / "0007-PostToolUse.json").read_bytes())
    data["brand_new_field"] = {"nested": [1, 2]}
    data["tool_input"]["extra"] = True
    data["effort"]["budget"] = 3
    event = parse_event(data)
    assert isinstance(event, PostToolUseEvent)
    assert event.model_extra == {"brand_new_field": {"nested": [1, 2]}}
    assert json.loads(event.model_dump_json(exclude_unset=True)) == data
    again = parse_event(event.model_dump_json(exclude_unset=True))
    assert again == event


def test_unknown_event_is_generic() -> None:
    data = {
        "session_id": "s",
        "transcript_path": "/t.jsonl",
        "cwd": "/",
        "hook_event_name": "SomethingNew",
        "payload": [1],
    }
    event = parse_event(json.dumps(data).encode())
    assert type(event) is GenericHookEvent
    assert event.hook_event_name == "SomethingNew" and event.model_extra == {"payload": [1]}
    assert event.model_dump(exclude_unset=True) == data


@pytest.mark.parametrize("name", sorted(set(KNOWN_EVENTS) - SEEN_EVENTS))
def test_events_not_in_the_captures_parse_with_extras(name: str) -> None:
    data = {
        "session_id": "s",
        "transcript_path": "/t.jsonl",
        "cwd": "/",
        "hook_event_name": name,
        "permission_mode": "default",
        "something": {"a": 1},
    }
    event = parse_event(data)
    assert type(event) is EVENT_MODELS[name]
    assert event.model_dump(exclude_unset=True) == data


def test_bad_payloads() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_event(b"{nope")
    with pytest.raises(ValueError, match="not an object"):
        parse_event("[1]")
    with pytest.raises(ValidationError):
        parse_event({"hook_event_name": "PreToolUse", "session_id": "s", "transcript_path": "t", "cwd": "/"})


@pytest.mark.parametrize("path", STATUSLINES, ids=lambda p: p.name)
def test_statusline_payloads(path: Path) -> None:
    data = json.loads(path.read_bytes())
    model = StatusLineInput.model_validate(data)
    assert model.model_dump(mode="json", exclude_unset=True) == data
    assert model.model and model.model["id"] == "claude-opus-5-5"


# --------------------------------------------------------------------------------------------------
# outputs


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (HookOutput(), {}),
        (
            HookOutput(continue_=False, stop_reason="budget", suppress_output=True, system_message="hi"),
            {"continue": False, "stopReason": "budget", "suppressOutput": True, "systemMessage": "hi"},
        ),
        (
            PreToolUseOutput.deny("no"),
            {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": "no",
                }
            },
        ),
        (
            PreToolUseOutput.allow(updated_input={"command": "ls"}),
            {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "allow",
                    "updatedInput": {"command": "ls"},
                }
            },
        ),
        (
            PreToolUseOutput.ask("sure?"),
            {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "ask",
                    "permissionDecisionReason": "sure?",
                }
            },
        ),
        (
            UserPromptSubmitOutput.context("ctx"),
            {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "ctx"}},
        ),
        (
            UserPromptSubmitOutput(decision="block", reason="no"),
            {"decision": "block", "reason": "no"},
        ),
        (
            SessionStartOutput.context("ctx"),
            {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "ctx"}},
        ),
        (
            PostToolUseOutput.context("ctx"),
            {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "ctx"}},
        ),
        (PostToolUseOutput.block("fix it"), {"decision": "block", "reason": "fix it"}),
        (StopOutput.block("go on"), {"decision": "block", "reason": "go on"}),
        (SubagentStopOutput.block("go on"), {"decision": "block", "reason": "go on"}),
        (HookOutput(system_message="x", customThing=1), {"systemMessage": "x", "customThing": 1}),  # type: ignore[call-arg]
    ],
)
def test_output_serialisation(output: HookOutput, expected: dict[str, Any]) -> None:
    assert output.to_dict() == expected
    assert json.loads(output.to_json()) == expected
    assert list(json.loads(output.to_json())) == list(expected)
    # and Claude Code's JSON reads back into the same model
    assert type(output).model_validate(expected).to_dict() == expected


def test_output_model_for() -> None:
    assert output_model_for("PreToolUse") is PreToolUseOutput
    assert output_model_for("Stop") is StopOutput
    assert output_model_for("Notification") is HookOutput


# --------------------------------------------------------------------------------------------------
# handle / run / hook

PRE = (HOOK_FIXTURES / "interactive" / "0003-PreToolUse.json").read_bytes()
NOTE = (HOOK_FIXTURES / "interactive" / "0006-Notification.json").read_bytes()


def test_handle_return_values() -> None:
    assert handle(lambda e: None, PRE).exit_code == 0
    r = handle(lambda e: PreToolUseOutput.deny("x"), PRE)
    assert r.exit_code == 0 and json.loads(r.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    r = handle(lambda e: {"continue": True, "n": None}, PRE)
    assert r == type(r)(0, '{"continue": true, "n": null}\n', "")
    r = handle(lambda e: 42, PRE)  # type: ignore[arg-type,return-value]
    assert r.exit_code == 1 and "must return" in r.stderr


def test_handle_block_and_errors() -> None:
    def blocker(event: HookEventBase) -> None:
        raise Block("not today")

    assert handle(blocker, PRE) == type(handle(blocker, PRE))(2, "", "not today\n")

    def broken(event: HookEventBase) -> None:
        raise RuntimeError("boom")

    r = handle(broken, PRE)
    assert r.exit_code == 1 and r.stdout == ""
    assert "RuntimeError: boom" in r.stderr and "non-blocking" in r.stderr
    r = handle(lambda e: None, b"not json")
    assert r.exit_code == 1 and "cannot parse" in r.stderr


def test_handler_annotation_filters_events() -> None:
    seen: list[str] = []

    def only_pre(event: PreToolUseEvent) -> None:
        seen.append(event.tool_name)

    def pre_or_note(event: PreToolUseEvent | NotificationEvent) -> None:
        seen.append(event.hook_event_name)

    def anything(event: HookEventBase) -> None:
        seen.append("any")

    def untyped(event):  # type: ignore[no-untyped-def]
        seen.append("untyped")

    for handler in (only_pre, pre_or_note, anything, untyped):
        assert handle(handler, PRE).exit_code == 0
        assert handle(handler, NOTE).exit_code == 0
    assert seen == ["Bash", "PreToolUse", "Notification", "any", "any", "untyped", "untyped"]


def test_run_with_streams() -> None:
    @hook
    def guard(event: PreToolUseEvent) -> PreToolUseOutput:
        return PreToolUseOutput.ask(event.tool_name)

    out, err = io.StringIO(), io.StringIO()
    code = guard.run(stdin=io.BytesIO(PRE), stdout=out, stderr=err, exit=False)
    assert code == 0 and err.getvalue() == ""
    assert json.loads(out.getvalue())["hookSpecificOutput"]["permissionDecisionReason"] == "Bash"
    assert guard.__name__ == "guard"
    event = parse_event(PRE)
    assert isinstance(event, PreToolUseEvent)
    assert isinstance(guard(event), PreToolUseOutput)
    with pytest.raises(SystemExit) as info:
        run(lambda e: None, stdin=io.BytesIO(b"{}"), stdout=io.StringIO(), stderr=io.StringIO())
    assert info.value.code == 1  # {} has no hook_event_name/session_id: not a hook payload


def test_importing_the_package_does_not_import_pydantic() -> None:
    code = (
        "import sys, cchooks.hooks; assert 'pydantic' not in sys.modules; print(len(cchooks.hooks.__all__))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, timeout=60
    )
    assert int(out.stdout) > 50
