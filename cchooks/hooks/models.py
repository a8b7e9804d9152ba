"""Pydantic models of Claude Code's hook payloads (stdin) and hook outputs (stdout JSON).

Inputs
    One model per event Claude Code 2.1.330 knows (33). The 14 that occur in the real captures
    (``fixtures/hooks/``) have every field seen there: SessionStart, UserPromptSubmit, PreToolUse,
    PostToolUse, PostToolBatch, PermissionRequest, Notification, MessageDisplay, Stop, SubagentStart,
    SubagentStop, PreCompact, PostCompact, SessionEnd. The others carry the common fields and, where
    Claude Code's documentation names them, a few optional ones; everything else they send is kept as
    extra fields. Every model allows extra fields (``model_extra``, ``model_dump()``) so a new Claude Code
    field never fails validation and survives a round trip. :func:`parse_event` picks the model by
    ``hook_event_name``; an event name it does not know gives :class:`GenericHookEvent`.

Outputs
    :class:`HookOutput` and its per-event subclasses. Field names are snake_case in Python and camelCase
    (Claude Code's names) on the wire: call :meth:`HookOutput.to_json` / :meth:`HookOutput.to_dict`,
    which serialise by alias and leave out unset (None) fields.
"""

from __future__ import annotations

import json
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EVENT_MODELS",
    "KNOWN_EVENTS",
    "BackgroundTask",
    "ConfigChangeEvent",
    "CwdChangedEvent",
    "DirectoryAddedEvent",
    "Effort",
    "ElicitationEvent",
    "ElicitationResultEvent",
    "FileChangedEvent",
    "GenericHookEvent",
    "HookEvent",
    "HookEventBase",
    "HookOutput",
    "InstructionsLoadedEvent",
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
    "output_model_for",
    "parse_event",
]


class _Open(BaseModel):
    """Base of every model: unknown fields are kept, never an error.

    Fields whose wire name is camelCase (or a Python keyword, ``continue``) have a snake_case Python
    name and the wire name as validation and serialization alias: construct with the Python name, read
    either, serialise ``by_alias``.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --------------------------------------------------------------------------------------------------
# inputs


class Effort(_Open):
    """``effort`` as 2.1.330 sends it: ``{"level": "medium"}``."""

    level: str | None = None


class HookEventBase(_Open):
    """Fields every hook payload carries (``prompt_id``, ``permission_mode``, ``effort`` not always)."""

    session_id: str
    transcript_path: str
    cwd: str
    hook_event_name: str
    prompt_id: str | None = None
    permission_mode: str | None = None
    effort: Effort | str | None = None
    agent_id: str | None = None
    """Set when the event comes from inside a subagent (and on SubagentStart/Stop)."""
    agent_type: str | None = None


class GenericHookEvent(HookEventBase):
    """An event this version of cchooks does not know; all its fields are in ``model_extra``."""


class SessionStartEvent(HookEventBase):
    hook_event_name: Literal["SessionStart"] = "SessionStart"
    source: str
    """``startup``, ``resume`` (also for --continue), ``fork``, ``clear`` or ``compact``."""
    model: str | None = None
    context_tokens: int | None = None
    seconds_since_last_response: int | float | None = None
    prompt_cache_likely_expired: bool | None = None
    estimated_cache_write_usd: int | float | None = None


class UserPromptSubmitEvent(HookEventBase):
    hook_event_name: Literal["UserPromptSubmit"] = "UserPromptSubmit"
    prompt: str


class UserPromptExpansionEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["UserPromptExpansion"] = "UserPromptExpansion"
    prompt: str | None = None


class PreToolUseEvent(HookEventBase):
    hook_event_name: Literal["PreToolUse"] = "PreToolUse"
    tool_name: str
    tool_input: dict[str, Any] = Field(default_factory=dict)
    tool_use_id: str | None = None


class PostToolUseEvent(HookEventBase):
    hook_event_name: Literal["PostToolUse"] = "PostToolUse"
    tool_name: str
    tool_input: dict[str, Any] = Field(default_factory=dict)
    tool_response: Any = None
    """Tool specific: a dict for Bash/Read/Agent in 2.1.330, possibly a string or list elsewhere."""
    tool_use_id: str | None = None
    duration_ms: int | None = None


class PostToolUseFailureEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["PostToolUseFailure"] = "PostToolUseFailure"
    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    tool_use_id: str | None = None
    error: Any = None


class ToolCall(_Open):
    """One entry of PostToolBatch's ``tool_calls``; ``tool_response`` is the text/blocks the model sees."""

    tool_name: str
    tool_input: dict[str, Any] = Field(default_factory=dict)
    tool_use_id: str | None = None
    tool_response: Any = None


class PostToolBatchEvent(HookEventBase):
    hook_event_name: Literal["PostToolBatch"] = "PostToolBatch"
    tool_calls: list[ToolCall] = Field(default_factory=list)


class PermissionRequestEvent(HookEventBase):
    hook_event_name: Literal["PermissionRequest"] = "PermissionRequest"
    tool_name: str
    tool_input: dict[str, Any] = Field(default_factory=dict)
    permission_suggestions: list[dict[str, Any]] | None = None


class PermissionDeniedEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["PermissionDenied"] = "PermissionDenied"
    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    tool_use_id: str | None = None


class NotificationEvent(HookEventBase):
    hook_event_name: Literal["Notification"] = "Notification"
    message: str
    notification_type: str | None = None
    """``permission_prompt``, ``idle_prompt``, … in 2.1.330."""
    title: str | None = None


class MessageDisplayEvent(HookEventBase):
    """A piece of assistant text shown to the user."""

    hook_event_name: Literal["MessageDisplay"] = "MessageDisplay"
    turn_id: str | None = None
    message_id: str | None = None
    index: int | None = None
    final: bool | None = None
    delta: str | None = None


class BackgroundTask(_Open):
    id: str
    type: str | None = None
    status: str | None = None
    description: str | None = None
    agent_type: str | None = None


class StopEvent(HookEventBase):
    hook_event_name: Literal["Stop"] = "Stop"
    stop_hook_active: bool = False
    """True when Claude is already continuing because of a Stop hook: do not block again."""
    last_assistant_message: str | None = None
    background_tasks: list[BackgroundTask] | None = None
    session_crons: list[Any] | None = None


class StopFailureEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["StopFailure"] = "StopFailure"
    error: Any = None
    last_assistant_message: str | None = None


class SubagentStartEvent(HookEventBase):
    hook_event_name: Literal["SubagentStart"] = "SubagentStart"
    agent_id: str
    agent_type: str


class SubagentStopEvent(HookEventBase):
    """Also fired for the compaction agent, with ``agent_type == ""``."""

    hook_event_name: Literal["SubagentStop"] = "SubagentStop"
    agent_id: str
    agent_type: str
    stop_hook_active: bool = False
    agent_transcript_path: str | None = None
    last_assistant_message: str | None = None
    background_tasks: list[BackgroundTask] | None = None
    session_crons: list[Any] | None = None


class PreCompactEvent(HookEventBase):
    hook_event_name: Literal["PreCompact"] = "PreCompact"
    trigger: str
    """``manual`` or ``auto``."""
    custom_instructions: str | None = None


class PostCompactEvent(HookEventBase):
    hook_event_name: Literal["PostCompact"] = "PostCompact"
    trigger: str
    compact_summary: str | None = None


class SessionEndEvent(HookEventBase):
    hook_event_name: Literal["SessionEnd"] = "SessionEnd"
    reason: str
    """``prompt_input_exit``, ``clear``, ``logout``, ``other``, …"""


class PreModelSwitchEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["PreModelSwitch"] = "PreModelSwitch"


class PostModelSwitchEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["PostModelSwitch"] = "PostModelSwitch"


class SetupEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["Setup"] = "Setup"
    trigger: str | None = None


class TeammateIdleEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["TeammateIdle"] = "TeammateIdle"


class TaskCreatedEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["TaskCreated"] = "TaskCreated"


class TaskCompletedEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["TaskCompleted"] = "TaskCompleted"


class ElicitationEvent(HookEventBase):
    """*(not in the captures)* An MCP server asks the user for input."""

    hook_event_name: Literal["Elicitation"] = "Elicitation"


class ElicitationResultEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["ElicitationResult"] = "ElicitationResult"


class ConfigChangeEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["ConfigChange"] = "ConfigChange"


class InstructionsLoadedEvent(HookEventBase):
    """*(not in the captures)* A CLAUDE.md or rules file was loaded."""

    hook_event_name: Literal["InstructionsLoaded"] = "InstructionsLoaded"


class CwdChangedEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["CwdChanged"] = "CwdChanged"


class FileChangedEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["FileChanged"] = "FileChanged"


class DirectoryAddedEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["DirectoryAdded"] = "DirectoryAdded"


class WorktreeCreateEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["WorktreeCreate"] = "WorktreeCreate"


class WorktreeRemoveEvent(HookEventBase):
    """*(not in the captures)*"""

    hook_event_name: Literal["WorktreeRemove"] = "WorktreeRemove"


HookEvent = (
    SessionStartEvent
    | UserPromptSubmitEvent
    | UserPromptExpansionEvent
    | PreToolUseEvent
    | PostToolUseEvent
    | PostToolUseFailureEvent
    | PostToolBatchEvent
    | PermissionRequestEvent
    | PermissionDeniedEvent
    | NotificationEvent
    | MessageDisplayEvent
    | StopEvent
    | StopFailureEvent
    | SubagentStartEvent
    | SubagentStopEvent
    | PreCompactEvent
    | PostCompactEvent
    | SessionEndEvent
    | PreModelSwitchEvent
    | PostModelSwitchEvent
    | SetupEvent
    | TeammateIdleEvent
    | TaskCreatedEvent
    | TaskCompletedEvent
    | ElicitationEvent
    | ElicitationResultEvent
    | ConfigChangeEvent
    | InstructionsLoadedEvent
    | CwdChangedEvent
    | FileChangedEvent
    | DirectoryAddedEvent
    | WorktreeCreateEvent
    | WorktreeRemoveEvent
    | GenericHookEvent
)
"""Any parsed hook payload."""

EVENT_MODELS: dict[str, type[HookEventBase]] = {
    model.model_fields["hook_event_name"].default: model
    for model in (
        SessionStartEvent,
        UserPromptSubmitEvent,
        UserPromptExpansionEvent,
        PreToolUseEvent,
        PostToolUseEvent,
        PostToolUseFailureEvent,
        PostToolBatchEvent,
        PermissionRequestEvent,
        PermissionDeniedEvent,
        NotificationEvent,
        MessageDisplayEvent,
        StopEvent,
        StopFailureEvent,
        SubagentStartEvent,
        SubagentStopEvent,
        PreCompactEvent,
        PostCompactEvent,
        SessionEndEvent,
        PreModelSwitchEvent,
        PostModelSwitchEvent,
        SetupEvent,
        TeammateIdleEvent,
        TaskCreatedEvent,
        TaskCompletedEvent,
        ElicitationEvent,
        ElicitationResultEvent,
        ConfigChangeEvent,
        InstructionsLoadedEvent,
        CwdChangedEvent,
        FileChangedEvent,
        DirectoryAddedEvent,
        WorktreeCreateEvent,
        WorktreeRemoveEvent,
    )
}
"""hook_event_name -> model, for every event Claude Code 2.1.330 knows."""

KNOWN_EVENTS: tuple[str, ...] = tuple(EVENT_MODELS)


def parse_event(data: dict[str, Any] | bytes | str) -> HookEvent:
    """Validate a hook payload (a dict, or its JSON text/bytes) into the model of its event.

    An unknown ``hook_event_name`` gives :class:`GenericHookEvent`. Raises ``ValueError`` for text that
    is not a JSON object and ``pydantic.ValidationError`` when a known event lacks a required field.
    """
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ValueError(f"hook payload is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"hook payload is a JSON {type(data).__name__}, not an object")
    model = EVENT_MODELS.get(str(data.get("hook_event_name")), GenericHookEvent)
    return cast(HookEvent, model.model_validate(data))


class StatusLineInput(_Open):
    """What the statusLine command gets on stdin (see ``fixtures/hooks/statusline/``); nested objects
    are kept as dicts (``model``, ``workspace``, ``cost``, ``context_window``, ``rate_limits``…)."""

    session_id: str | None = None
    transcript_path: str | None = None
    cwd: str | None = None
    prompt_id: str | None = None
    version: str | None = None
    model: dict[str, Any] | None = None
    workspace: dict[str, Any] | None = None
    output_style: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    context_window: dict[str, Any] | None = None
    exceeds_200k_tokens: bool | None = None
    fast_mode: bool | None = None
    thinking: dict[str, Any] | None = None
    effort: Effort | str | None = None
    prompt_cache: dict[str, Any] | None = None
    rate_limits: dict[str, Any] | None = None


# --------------------------------------------------------------------------------------------------
# outputs


class HookOutput(_Open):
    """The JSON a hook may print on stdout (exit 0). Common to every event."""

    continue_: bool | None = Field(default=None, validation_alias="continue", serialization_alias="continue")
    """False stops Claude entirely (``stopReason`` is shown to the user)."""
    stop_reason: str | None = Field(
        default=None, validation_alias="stopReason", serialization_alias="stopReason"
    )
    suppress_output: bool | None = Field(
        default=None, validation_alias="suppressOutput", serialization_alias="suppressOutput"
    )
    """Hide the hook's stdout from the transcript view."""
    system_message: str | None = Field(
        default=None, validation_alias="systemMessage", serialization_alias="systemMessage"
    )
    """A warning shown to the user."""

    def to_dict(self) -> dict[str, Any]:
        """Claude Code's JSON shape: camelCase names, unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


class PreToolUseSpecificOutput(_Open):
    hook_event_name: Literal["PreToolUse"] = Field(
        default="PreToolUse", validation_alias="hookEventName", serialization_alias="hookEventName"
    )
    additional_context: str | None = Field(
        default=None, validation_alias="additionalContext", serialization_alias="additionalContext"
    )
    """Text added to Claude's context."""
    permission_decision: Literal["allow", "deny", "ask"] | None = Field(
        default=None, validation_alias="permissionDecision", serialization_alias="permissionDecision"
    )
    permission_decision_reason: str | None = Field(
        default=None,
        validation_alias="permissionDecisionReason",
        serialization_alias="permissionDecisionReason",
    )
    """Shown to the user for allow/ask, to Claude for deny."""
    updated_input: dict[str, Any] | None = Field(
        default=None, validation_alias="updatedInput", serialization_alias="updatedInput"
    )
    """Replaces the tool's input before it runs."""


class PreToolUseOutput(HookOutput):
    hook_specific_output: PreToolUseSpecificOutput | None = Field(
        default=None, validation_alias="hookSpecificOutput", serialization_alias="hookSpecificOutput"
    )

    @classmethod
    def decide(
        cls,
        decision: Literal["allow", "deny", "ask"],
        reason: str | None = None,
        *,
        updated_input: dict[str, Any] | None = None,
    ) -> PreToolUseOutput:
        return cls(
            hook_specific_output=PreToolUseSpecificOutput(
                permission_decision=decision, permission_decision_reason=reason, updated_input=updated_input
            )
        )

    @classmethod
    def allow(
        cls, reason: str | None = None, *, updated_input: dict[str, Any] | None = None
    ) -> PreToolUseOutput:
        return cls.decide("allow", reason, updated_input=updated_input)

    @classmethod
    def deny(cls, reason: str) -> PreToolUseOutput:
        return cls.decide("deny", reason)

    @classmethod
    def ask(cls, reason: str | None = None) -> PreToolUseOutput:
        return cls.decide("ask", reason)


class UserPromptSubmitSpecificOutput(_Open):
    hook_event_name: Literal["UserPromptSubmit"] = Field(
        default="UserPromptSubmit", validation_alias="hookEventName", serialization_alias="hookEventName"
    )
    additional_context: str | None = Field(
        default=None, validation_alias="additionalContext", serialization_alias="additionalContext"
    )
    """Text added to Claude's context."""


class UserPromptSubmitOutput(HookOutput):
    decision: Literal["block"] | None = None
    """``"block"`` rejects the prompt (``reason`` is shown to the user)."""
    reason: str | None = None
    hook_specific_output: UserPromptSubmitSpecificOutput | None = Field(
        default=None, validation_alias="hookSpecificOutput", serialization_alias="hookSpecificOutput"
    )

    @classmethod
    def context(cls, text: str) -> UserPromptSubmitOutput:
        return cls(hook_specific_output=UserPromptSubmitSpecificOutput(additional_context=text))


class SessionStartSpecificOutput(_Open):
    hook_event_name: Literal["SessionStart"] = Field(
        default="SessionStart", validation_alias="hookEventName", serialization_alias="hookEventName"
    )
    additional_context: str | None = Field(
        default=None, validation_alias="additionalContext", serialization_alias="additionalContext"
    )
    """Text added to Claude's context."""


class SessionStartOutput(HookOutput):
    hook_specific_output: SessionStartSpecificOutput | None = Field(
        default=None, validation_alias="hookSpecificOutput", serialization_alias="hookSpecificOutput"
    )

    @classmethod
    def context(cls, text: str) -> SessionStartOutput:
        return cls(hook_specific_output=SessionStartSpecificOutput(additional_context=text))


class PostToolUseSpecificOutput(_Open):
    hook_event_name: Literal["PostToolUse"] = Field(
        default="PostToolUse", validation_alias="hookEventName", serialization_alias="hookEventName"
    )
    additional_context: str | None = Field(
        default=None, validation_alias="additionalContext", serialization_alias="additionalContext"
    )
    """Text added to Claude's context."""


class PostToolUseOutput(HookOutput):
    decision: Literal["block"] | None = None
    """``"block"`` tells Claude ``reason`` (the tool has already run)."""
    reason: str | None = None
    hook_specific_output: PostToolUseSpecificOutput | None = Field(
        default=None, validation_alias="hookSpecificOutput", serialization_alias="hookSpecificOutput"
    )

    @classmethod
    def context(cls, text: str) -> PostToolUseOutput:
        return cls(hook_specific_output=PostToolUseSpecificOutput(additional_context=text))

    @classmethod
    def block(cls, reason: str) -> PostToolUseOutput:
        return cls(decision="block", reason=reason)


class StopOutput(HookOutput):
    decision: Literal["block"] | None = None
    """``"block"`` keeps Claude going; ``reason`` tells it why (required then)."""
    reason: str | None = None

    @classmethod
    def block(cls, reason: str) -> StopOutput:
        return cls(decision="block", reason=reason)


class SubagentStopOutput(StopOutput):
    pass


_OUTPUT_MODELS: dict[str, type[HookOutput]] = {
    "PreToolUse": PreToolUseOutput,
    "UserPromptSubmit": UserPromptSubmitOutput,
    "SessionStart": SessionStartOutput,
    "PostToolUse": PostToolUseOutput,
    "Stop": StopOutput,
    "SubagentStop": SubagentStopOutput,
}


def output_model_for(event_name: str) -> type[HookOutput]:
    """The output model of an event (:class:`HookOutput` for events without specific fields)."""
    return _OUTPUT_MODELS.get(event_name, HookOutput)
