"""The typed hooks SDK: models of Claude Code's hook payloads and outputs, and a way to run a handler.

See ``docs/hooks-sdk.md``. Names are imported lazily, so importing a submodule of ``cchooks.hooks`` (the
hot path of cchooks' own hook handlers) does not import pydantic.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cchooks.hooks.models import (
        EVENT_MODELS,
        KNOWN_EVENTS,
        BackgroundTask,
        ConfigChangeEvent,
        CwdChangedEvent,
        DirectoryAddedEvent,
        Effort,
        ElicitationEvent,
        ElicitationResultEvent,
        FileChangedEvent,
        GenericHookEvent,
        HookEvent,
        HookEventBase,
        HookOutput,
        InstructionsLoadedEvent,
        MessageDisplayEvent,
        NotificationEvent,
        PermissionDeniedEvent,
        PermissionRequestEvent,
        PostCompactEvent,
        PostModelSwitchEvent,
        PostToolBatchEvent,
        PostToolUseEvent,
        PostToolUseFailureEvent,
        PostToolUseOutput,
        PostToolUseSpecificOutput,
        PreCompactEvent,
        PreModelSwitchEvent,
        PreToolUseEvent,
        PreToolUseOutput,
        PreToolUseSpecificOutput,
        SessionEndEvent,
        SessionStartEvent,
        SessionStartOutput,
        SessionStartSpecificOutput,
        SetupEvent,
        StatusLineInput,
        StopEvent,
        StopFailureEvent,
        StopOutput,
        SubagentStartEvent,
        SubagentStopEvent,
        SubagentStopOutput,
        TaskCompletedEvent,
        TaskCreatedEvent,
        TeammateIdleEvent,
        ToolCall,
        UserPromptExpansionEvent,
        UserPromptSubmitEvent,
        UserPromptSubmitOutput,
        UserPromptSubmitSpecificOutput,
        WorktreeCreateEvent,
        WorktreeRemoveEvent,
        output_model_for,
        parse_event,
    )
    from cchooks.hooks.sdk import (
        Block,
        Hook,
        HookResult,
        handle,
        hook,
        run,
    )

__all__ = [
    "BackgroundTask",
    "Block",
    "ConfigChangeEvent",
    "CwdChangedEvent",
    "DirectoryAddedEvent",
    "EVENT_MODELS",
    "Effort",
    "ElicitationEvent",
    "ElicitationResultEvent",
    "FileChangedEvent",
    "GenericHookEvent",
    "Hook",
    "HookEvent",
    "HookEventBase",
    "HookOutput",
    "HookResult",
    "InstructionsLoadedEvent",
    "KNOWN_EVENTS",
    "MessageDisplayEvent",
    "NotificationEvent",
    "PermissionDeniedEvent",
    "PermissionRequestEvent",
    "PostCompactEvent",
    "PostModelSwitchEvent",
    "PostToolBatchEvent",
    "PostToolUseEvent",
    "PostToolUseFailureEvent",
    "PostToolUseOutput",
    "PostToolUseSpecificOutput",
    "PreCompactEvent",
    "PreModelSwitchEvent",
    "PreToolUseEvent",
    "PreToolUseOutput",
    "PreToolUseSpecificOutput",
    "SessionEndEvent",
    "SessionStartEvent",
    "SessionStartOutput",
    "SessionStartSpecificOutput",
    "SetupEvent",
    "StatusLineInput",
    "StopEvent",
    "StopFailureEvent",
    "StopOutput",
    "SubagentStartEvent",
    "SubagentStopEvent",
    "SubagentStopOutput",
    "TaskCompletedEvent",
    "TaskCreatedEvent",
    "TeammateIdleEvent",
    "ToolCall",
    "UserPromptExpansionEvent",
    "UserPromptSubmitEvent",
    "UserPromptSubmitOutput",
    "UserPromptSubmitSpecificOutput",
    "WorktreeCreateEvent",
    "WorktreeRemoveEvent",
    "handle",
    "hook",
    "output_model_for",
    "parse_event",
    "run",
]

_SDK = frozenset({"Block", "Hook", "HookResult", "handle", "hook", "run"})
_MODELS = frozenset(__all__) - _SDK


def __getattr__(name: str) -> Any:
    import importlib

    if name in _MODELS:
        module = importlib.import_module("cchooks.hooks.models")
    elif name in _SDK:
        module = importlib.import_module("cchooks.hooks.sdk")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _MODELS | _SDK)
