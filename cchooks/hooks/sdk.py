"""Write your own Claude Code hook in a few typed lines.

.. code-block:: python

    from cchooks.hooks import Block, PreToolUseEvent, PreToolUseOutput, hook

    @hook
    def guard(event: PreToolUseEvent) -> PreToolUseOutput | None:
        if "rm -rf" in event.tool_input.get("command", ""):
            return PreToolUseOutput.deny("no rm -rf here")
        return None

    if __name__ == "__main__":
        guard.run()

What :func:`run` does with a handler, and the exit codes Claude Code sees:

* reads the whole of stdin, parses it with :func:`~cchooks.hooks.models.parse_event`;
* if the handler's first parameter is annotated with event model(s) and the event is not one of them, the
  handler is not called (exit 0, no output): one script can be registered for several events;
* the handler returns an output model (serialised by alias, unset fields left out), a dict (written as
  JSON as it is) or None (nothing written) → **exit 0**, the JSON on stdout;
* the handler raises :class:`Block` ``("reason")`` → **exit 2**, the reason on stderr: a blocking error.
  Claude Code then stops the tool call (PreToolUse), rejects the prompt (UserPromptSubmit), keeps Claude
  going (Stop/SubagentStop) or shows the reason to Claude (PostToolUse: the tool has already run);
* anything else the handler raises, an unparsable payload, or a return value that is not JSON → the
  traceback/message on stderr and **exit 1**: a *non-blocking* error. Claude Code carries on and shows
  the message only in verbose mode (ctrl-o), so a bug in a hook never blocks work.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
import traceback
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Generic, TypeVar

from pydantic import ValidationError

from cchooks.hooks.models import HookEventBase, HookOutput, parse_event

__all__ = ["Block", "Hook", "HookResult", "handle", "hook", "run"]

HandlerResult = HookOutput | Mapping[str, Any] | None
E = TypeVar("E", bound=HookEventBase)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BLOCK = 2


class Block(Exception):
    """Raise in a handler to make a blocking error: exit code 2 with ``reason`` on stderr."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class HookResult:
    """What a hook process should print and exit with."""

    exit_code: int
    stdout: str = ""
    stderr: str = ""


def _event_types(handler: Callable[..., Any]) -> tuple[type[HookEventBase], ...] | None:
    """The event models the handler's first parameter is annotated with (None: accept any event)."""
    try:
        params = list(inspect.signature(handler).parameters.values())
        hints = typing.get_type_hints(handler)
    except (TypeError, ValueError, NameError):
        return None
    if not params or params[0].name not in hints:
        return None
    hint = hints[params[0].name]
    members = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    found = tuple(m for m in members if isinstance(m, type) and issubclass(m, HookEventBase))
    if not found or len(found) != len([m for m in members if m is not type(None)]):
        return None
    return found


def _render(result: Any) -> str:
    if result is None:
        return ""
    if isinstance(result, HookOutput):
        return result.to_json() + "\n"
    if isinstance(result, Mapping):
        return json.dumps(dict(result), ensure_ascii=False) + "\n"
    raise TypeError(
        f"a hook handler must return an output model, a dict or None, not {type(result).__name__}"
    )


def handle(handler: Callable[[Any], HandlerResult], payload: bytes | str | Mapping[str, Any]) -> HookResult:
    """Run ``handler`` on one payload and say what to print and exit with (no I/O; for tests too)."""
    name = getattr(handler, "__name__", "hook")
    try:
        event = parse_event(dict(payload) if isinstance(payload, Mapping) else payload)
    except (ValueError, ValidationError) as exc:
        return HookResult(EXIT_ERROR, "", f"{name}: cannot parse the hook payload: {exc}\n")
    wanted = _event_types(handler)
    if wanted is not None and not isinstance(event, wanted):
        return HookResult(EXIT_OK)
    try:
        return HookResult(EXIT_OK, _render(handler(event)))
    except Block as block:
        return HookResult(EXIT_BLOCK, "", block.reason.rstrip("\n") + "\n")
    except Exception:
        return HookResult(EXIT_ERROR, "", f"{name} failed (non-blocking):\n{traceback.format_exc()}")


def run(
    handler: Callable[[Any], HandlerResult],
    *,
    stdin: IO[bytes] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    exit: bool = True,
) -> int:
    """Read the payload from stdin, call ``handler``, write its output and exit with the right code.

    With ``exit=False`` the code is returned instead of calling ``sys.exit``.
    """
    source = stdin if stdin is not None else sys.stdin.buffer
    result = handle(handler, source.read())
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        if result.stdout:
            out.write(result.stdout)
            out.flush()
        if result.stderr:
            err.write(result.stderr)
            err.flush()
    except BrokenPipeError:
        pass
    if exit:
        sys.exit(result.exit_code)
    return result.exit_code


class Hook(Generic[E]):
    """A handler made runnable as a hook command by :func:`hook`; calling it calls the handler."""

    __name__: str
    __wrapped__: Callable[[E], HandlerResult]

    def __init__(self, func: Callable[[E], HandlerResult]) -> None:
        self.func = func
        functools.update_wrapper(self, func)

    def __call__(self, event: E) -> HandlerResult:
        return self.func(event)

    def handle(self, payload: bytes | str | Mapping[str, Any]) -> HookResult:
        return handle(self.func, payload)

    def run(
        self,
        *,
        stdin: IO[bytes] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        exit: bool = True,
    ) -> int:
        return run(self.func, stdin=stdin, stdout=stdout, stderr=stderr, exit=exit)


def hook(func: Callable[[E], HandlerResult]) -> Hook[E]:
    """Decorate a handler; call ``.run()`` on the result under ``if __name__ == "__main__":``."""
    return Hook(func)
