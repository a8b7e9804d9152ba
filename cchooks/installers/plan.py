"""What to change in one Claude Code settings dict to install or uninstall cchooks (pure: dict in,
dict out; reading and writing the files is :mod:`cchooks.installers.settings`).

Which commands are cchooks' own, and how they are written, is :mod:`cchooks.installers.commands`.

What is remembered, and where
    Most of what uninstall needs is in settings.json itself. The rest goes into a small JSON state file
    next to the settings file, ``<settings dir>/.cchooks-install.json``, with one entry per settings file
    name (project and local scope share ``.claude/``)::

        {"version": 1, "files": {"settings.json": {
            "created_hooks": true,            # the "hooks" object did not exist before us
            "created_events": ["Stop", ...],  # event lists that did not exist before us
            "created_env": false,             # the "env" object did not exist before us
            "env_added": {"OTEL_...": "..."}, # env values we added (removed only while unchanged)
            "statusline_previous": {...},     # the foreign statusLine we replaced or chained, verbatim
            "original_text": "..."            # only if a rewrite could not reproduce the original bytes
        }}}

    A state file rather than the command string because a replaced statusLine has to come back with all
    its keys (``padding``, ``refreshInterval``…), and because "this list did not exist before" cannot be
    read from the settings afterwards. A chained statusLine additionally carries the old command in its
    own command string (``<cmd> statusline --chain '<old command>'``), which the statusline needs at run
    time anyway; so if the state file is lost, uninstall still restores a chained statusLine (with padding
    0), removes our hooks, and drops the event lists and ``hooks`` object that became empty by that
    removal. Only a *replaced* statusLine cannot come back without the state file (a note says so).

Reinstalling
    Computes the wanted state from the options. ``budget_guard`` and ``telemetry`` default to "keep what
    is installed" (off on a first install), so rerunning a plain ``cchooks install`` after moving the venv
    does not switch them off; ``--no-budget-guard`` / ``--no-telemetry`` remove them. ``--no-statusline``
    removes our statusLine and restores the one we had replaced or chained. Timeouts and matchers the user
    edited on our entries are kept.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cchooks.installers.commands import (
    chained_command,
    command_files,
    command_prefix,
    command_words,
    hook_command,
    hook_event_of,
    is_our_hook,
    is_our_statusline,
    statusline_command,
)
from cchooks.installers.jsonio import MalformedSettings, SettingsError, detect_style, dumps_json, key_position
from cchooks.installers.telemetry import telemetry_env

StatuslineMode = Literal["refuse", "replace", "chain"]

#: Events cchooks always hooks, in the order they are added.
HOOK_EVENTS: tuple[str, ...] = (
    "PostToolUse",
    "Stop",
    "SubagentStop",
    "SessionStart",
    "SessionEnd",
    "PreCompact",
    "UserPromptSubmit",
)
#: Events hooked only with the budget guard.
GUARD_EVENTS: tuple[str, ...] = ("PreToolUse",)
#: Events whose entries take a tool ``matcher``.
TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"})
DEFAULT_TIMEOUT = 10
STATE_VERSION = 1  # of the state entry (`_State.dump`) and of the state file holding them


class StatuslineConflict(SettingsError):
    """A statusLine that is not ours is configured and the caller did not say what to do with it."""

    def __init__(self, path: Path | str | None, existing: Any) -> None:
        self.existing = existing
        shown = existing.get("command") if isinstance(existing, dict) else existing
        where = f" in {path}" if path else ""
        super().__init__(
            f"a statusLine that is not cchooks' is already configured{where}: {json.dumps(shown)}. "
            "Nothing was changed. Rerun with --statusline-chain (cchooks shows its line, then runs yours), "
            "--statusline-replace (yours is remembered and restored by `cchooks uninstall`), "
            "or --no-statusline (install only the hooks)."
        )


# --------------------------------------------------------------------------------------------------
# what is installed


@dataclass(frozen=True)
class InstalledEntries:
    """What of cchooks is present in one settings dict (for ``cchooks status``)."""

    hooks: dict[str, list[str]] = field(default_factory=dict)
    """event -> commands of ours under it (more than one means a duplicate)."""
    statusline: str | None = None
    """our statusLine command, if ours is the statusLine."""
    chained: str | None = None
    """the foreign command our statusLine chains to."""
    telemetry_env: dict[str, str] = field(default_factory=dict)
    """telemetry variables present in ``env`` (ours or the user's)."""

    @property
    def installed(self) -> bool:
        return bool(self.hooks) or self.statusline is not None

    @property
    def budget_guard(self) -> bool:
        return any(ev in self.hooks for ev in GUARD_EVENTS)

    def problems(self) -> list[str]:
        """Things worth a warning: duplicates, missing events, commands whose program is gone."""
        found: list[str] = []
        for event, commands in self.hooks.items():
            if len(commands) > 1:
                found.append(f"{event}: cchooks hook installed {len(commands)} times")
            for command in commands:
                target = hook_event_of(command)
                if target != event:
                    found.append(f"{event}: runs `cchooks hook {target}` (wrong event)")
        if self.installed:
            missing = [ev for ev in HOOK_EVENTS if ev not in self.hooks]
            if missing:
                found.append("hooks missing for " + ", ".join(missing) + " (rerun `cchooks install`)")
        commands = [c for cs in self.hooks.values() for c in cs]
        if self.statusline:
            commands.append(self.statusline)
        for program in sorted({f for c in commands if (w := command_words(c)) for f in command_files(w)}):
            if not os.path.exists(program):
                found.append(f"{program} does not exist (venv moved?); rerun `cchooks install`")
        return found


def installed_entries(settings: Mapping[str, Any]) -> InstalledEntries:
    """Find cchooks' entries in a settings dict."""
    hooks: dict[str, list[str]] = {}
    hooks_obj = settings.get("hooks")
    if isinstance(hooks_obj, dict):
        for event, groups in hooks_obj.items():
            for group in groups if isinstance(groups, list) else ():
                handlers = group.get("hooks") if isinstance(group, dict) else None
                for handler in handlers if isinstance(handlers, list) else ():
                    if is_our_hook(handler):
                        hooks.setdefault(event, []).append(handler["command"])
    status = settings.get("statusLine")
    ours = status["command"] if is_our_statusline(status) else None
    env = settings.get("env")
    tel: dict[str, str] = {}
    if isinstance(env, dict):
        tel = {k: env[k] for k in telemetry_env() if k in env}
    return InstalledEntries(hooks, ours, chained_command(ours) if ours else None, tel)


# --------------------------------------------------------------------------------------------------
# plans (pure: dict in, dict out)


@dataclass(frozen=True)
class InstallOptions:
    """What ``plan_install`` should make true.

    ``budget_guard`` / ``telemetry``: True add, False remove, None keep what is installed.
    ``statusline_mode``: what to do with a foreign statusLine: ``"refuse"`` (raise
    :class:`StatuslineConflict`), ``"replace"`` or ``"chain"``.
    """

    command: str = field(default_factory=command_prefix)
    statusline: bool = True
    statusline_mode: StatuslineMode = "refuse"
    budget_guard: bool | None = None
    telemetry: bool | None = None
    telemetry_protocol: str = "http/protobuf"
    telemetry_endpoint: str = "http://127.0.0.1:4318"
    timeout: int = DEFAULT_TIMEOUT


@dataclass
class Plan:
    """The result of a plan: the new settings, the new state entry (None: forget it) and notes."""

    settings: dict[str, Any]
    state: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    text: str | None = None
    """The exact text to write, when the settings must come back byte for byte (else: serialise)."""

    def changes(self, before: Mapping[str, Any]) -> bool:
        return _ordered(self.settings) != _ordered(before)


def _ordered(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_MISSING: Any = object()


@dataclass
class _State:
    known: bool = False  # an entry existed (exact mode) rather than guessing
    created_hooks: bool = False
    created_events: set[str] = field(default_factory=set)
    created_env: bool = False
    env_added: dict[str, str] = field(default_factory=dict)
    statusline_previous: Any = _MISSING
    original_text: str | None = None

    @classmethod
    def load(cls, entry: Mapping[str, Any] | None) -> _State:
        if not isinstance(entry, Mapping):
            return cls()
        env_added = entry.get("env_added")
        events = entry.get("created_events")
        return cls(
            known=True,
            created_hooks=bool(entry.get("created_hooks")),
            created_events={e for e in events if isinstance(e, str)} if isinstance(events, list) else set(),
            created_env=bool(entry.get("created_env")),
            env_added=(
                {k: v for k, v in env_added.items() if isinstance(v, str)}
                if isinstance(env_added, dict)
                else {}
            ),
            statusline_previous=(
                copy.deepcopy(entry["statusline_previous"]) if "statusline_previous" in entry else _MISSING
            ),
            original_text=entry["original_text"] if isinstance(entry.get("original_text"), str) else None,
        )

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": STATE_VERSION}
        if self.created_hooks:
            out["created_hooks"] = True
        if self.created_events:
            out["created_events"] = sorted(self.created_events)
        if self.created_env:
            out["created_env"] = True
        if self.env_added:
            out["env_added"] = dict(self.env_added)
        if self.statusline_previous is not _MISSING:
            out["statusline_previous"] = self.statusline_previous
        if self.original_text is not None:
            out["original_text"] = self.original_text
        return out


def check_shape(settings: Mapping[str, Any], path: Path | str | None, text: str) -> None:
    """Refuse settings whose containers we must edit have the wrong JSON type."""
    where = path or "settings.json"
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict):
        line, col = key_position(text, "hooks")
        raise MalformedSettings(where, line, col, '"hooks" is not a JSON object')
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            line, col = key_position(text, event)
            raise MalformedSettings(where, line, col, f'"hooks.{event}" is not a JSON array')
    env = settings.get("env", {})
    if not isinstance(env, dict):
        line, col = key_position(text, "env")
        raise MalformedSettings(where, line, col, '"env" is not a JSON object')


def _our_group(event: str, command: str, timeout: int) -> dict[str, Any]:
    group: dict[str, Any] = {"matcher": "*"} if event in TOOL_EVENTS else {}
    group["hooks"] = [{"type": "command", "command": command, "timeout": timeout}]
    return group


def _remove_ours(groups: list[Any]) -> tuple[list[Any], int | None, dict[str, Any] | None]:
    """Drop our handlers from an event's groups.

    Returns the remaining groups, the index where the first of ours was (for re-insertion) and the
    first group that held only our handler (to keep the user's edits to it).
    """
    kept: list[Any] = []
    first_at: int | None = None
    first_pure: dict[str, Any] | None = None
    for group in groups:
        handlers = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(handlers, list) or not any(is_our_hook(h) for h in handlers):
            kept.append(group)
            continue
        others = [h for h in handlers if not is_our_hook(h)]
        if first_at is None:
            first_at = len(kept) + (1 if others else 0)
        if others:
            kept.append({**group, "hooks": others})
        elif first_pure is None and len(handlers) == 1:
            first_pure = group
    return kept, first_at, first_pure


def _ensure_event(hooks: dict[str, Any], event: str, opts: InstallOptions, state: _State) -> None:
    command = hook_command(opts.command, event)
    if event not in hooks:
        hooks[event] = [_our_group(event, command, opts.timeout)]
        state.created_events.add(event)
        return
    kept, at, previous = _remove_ours(hooks[event])
    if previous is not None:
        group = copy.deepcopy(previous)
        handler = group["hooks"][0]
        handler["type"] = "command"
        handler["command"] = command
        handler.setdefault("timeout", opts.timeout)
        if event in TOOL_EVENTS:
            group.setdefault("matcher", "*")
    else:
        group = _our_group(event, command, opts.timeout)
    kept.insert(len(kept) if at is None else at, group)
    hooks[event] = kept


def _drop_event(hooks: dict[str, Any], event: str, state: _State) -> None:
    groups = hooks.get(event)
    if not isinstance(groups, list):
        return
    kept, at, _ = _remove_ours(groups)
    if at is None:
        return
    if not kept and (event in state.created_events or not state.known):
        del hooks[event]
    else:
        hooks[event] = kept
    state.created_events.discard(event)


def _restore_statusline(settings: dict[str, Any], state: _State, notes: list[str]) -> None:
    current = settings.get("statusLine", _MISSING)
    if not is_our_statusline(current):
        if state.statusline_previous is not _MISSING and current is not _MISSING:
            notes.append("the statusLine was changed since install; left as it is")
        state.statusline_previous = _MISSING
        return
    previous = state.statusline_previous
    if previous is _MISSING:
        chained = chained_command(current["command"])
        if chained is not None:  # the user's other fields are still on our entry
            previous = {**copy.deepcopy(current), "command": chained}
    if previous is _MISSING:
        del settings["statusLine"]
    else:
        settings["statusLine"] = copy.deepcopy(previous)
        notes.append("restored the previous statusLine")
    state.statusline_previous = _MISSING


def _install_statusline(settings: dict[str, Any], opts: InstallOptions, state: _State, path: Any) -> None:
    current = settings.get("statusLine", _MISSING)
    if current is _MISSING or current is None:
        # an explicit null is remembered so that uninstall puts it back
        settings["statusLine"] = {
            "type": "command",
            "command": statusline_command(opts.command),
            "padding": 0,
        }
        state.statusline_previous = current
        return
    if is_our_statusline(current):
        chain = chained_command(current["command"])
        previous = state.statusline_previous
        if chain is None and opts.statusline_mode == "chain" and isinstance(previous, dict):
            prev_cmd = previous.get("command")
            chain = prev_cmd if isinstance(prev_cmd, str) else None
        elif chain is not None and opts.statusline_mode == "replace":
            if previous is _MISSING:
                state.statusline_previous = {"type": "command", "command": chain, "padding": 0}
            chain = None
        updated = copy.deepcopy(current)
        updated["type"] = "command"
        updated["command"] = statusline_command(opts.command, chain)
        updated.setdefault("padding", 0)
        settings["statusLine"] = updated
        return
    if opts.statusline_mode == "refuse":
        raise StatuslineConflict(path, current)
    if opts.statusline_mode == "chain":
        old = current.get("command") if isinstance(current, dict) else None
        if not isinstance(old, str) or not old.strip():
            raise SettingsError(
                f"the existing statusLine has no command to chain to: {json.dumps(current)}; "
                "use --statusline-replace instead"
            )
        # Every field of the user's statusLine stays (refreshInterval, padding, future ones).
        ours: dict[str, Any] = copy.deepcopy(current)
        ours["type"] = "command"
        ours["command"] = statusline_command(opts.command, old)
        ours.setdefault("padding", 0)
    else:
        ours = {"type": "command", "command": statusline_command(opts.command), "padding": 0}
    state.statusline_previous = copy.deepcopy(current)
    settings["statusLine"] = ours


def _add_env(settings: dict[str, Any], wanted: Mapping[str, str], state: _State, notes: list[str]) -> None:
    env = settings.get("env")
    if env is None:
        env = settings["env"] = {}
        state.created_env = True
    for key, value in wanted.items():
        if key in env and key not in state.env_added:
            if env[key] != value:
                notes.append(f"kept your env {key}={env[key]!r} (cchooks would set {value!r})")
            continue
        env[key] = value
        state.env_added[key] = value


def _remove_env(settings: dict[str, Any], state: _State, notes: list[str]) -> None:
    env = settings.get("env")
    if isinstance(env, dict):
        for key, value in state.env_added.items():
            if key in env:
                if env[key] == value:
                    del env[key]
                else:
                    notes.append(f"env {key} was changed since install; left as it is")
        if not env and state.created_env:
            del settings["env"]
    state.env_added = {}
    state.created_env = False


def plan_install(
    settings: Mapping[str, Any],
    options: InstallOptions | None = None,
    state: Mapping[str, Any] | None = None,
    *,
    path: Path | str | None = None,
    text: str = "",
) -> Plan:
    """The settings (and state entry) after installing cchooks with ``options``; the input is not changed.

    Raises :class:`MalformedSettings` for containers of the wrong type and :class:`StatuslineConflict`
    for a foreign statusLine with ``statusline_mode="refuse"``.
    """
    opts = options or InstallOptions()
    check_shape(settings, path, text)
    new: dict[str, Any] = copy.deepcopy(dict(settings))
    st = _State.load(state)
    before = installed_entries(new)
    if not before.installed:
        # Nothing of ours is there: an old entry is stale, except env values we added that are still set.
        env_obj = new.get("env")
        env: dict[str, Any] = env_obj if isinstance(env_obj, dict) else {}
        kept_env = {k: v for k, v in st.env_added.items() if env.get(k) == v}
        created_env = st.created_env and bool(kept_env)
        st = _State(known=True, env_added=kept_env, created_env=created_env)
    st.known = True
    notes: list[str] = []

    guard = before.budget_guard if opts.budget_guard is None else opts.budget_guard
    wanted = list(HOOK_EVENTS) + (list(GUARD_EVENTS) if guard else [])
    if "hooks" not in new:
        new["hooks"] = {}
        st.created_hooks = True
    hooks = new["hooks"]
    for event in list(hooks):
        if event not in wanted:
            _drop_event(hooks, event, st)
    for event in wanted:
        _ensure_event(hooks, event, opts, st)

    if opts.statusline:
        _install_statusline(new, opts, st, path)
    else:
        _restore_statusline(new, st, notes)

    telemetry = bool(st.env_added) if opts.telemetry is None else opts.telemetry
    if telemetry:
        _add_env(new, telemetry_env(opts.telemetry_protocol, opts.telemetry_endpoint), st, notes)
    else:
        _remove_env(new, st, notes)
    if not before.installed and text.strip():
        # Will uninstall, serialising in the style it then detects, reproduce these bytes? If not
        # (a compact one-line file, or \u escapes that only our replaced statusLine had), keep them.
        style = detect_style(text)
        after_install = dumps_json(new, style)
        if dumps_json(settings, detect_style(after_install, bom=style.bom)) != text:
            st.original_text = text
    return Plan(new, st.dump(), notes)


def plan_uninstall(
    settings: Mapping[str, Any],
    state: Mapping[str, Any] | None = None,
    *,
    path: Path | str | None = None,
    text: str = "",
) -> Plan:
    """The settings after removing exactly what install added (state entry: None, i.e. forget it).

    Without a state entry, event lists and the ``hooks`` object that become empty by removing our
    entries are removed too, and a chained statusLine is restored from its command.
    """
    check_shape(settings, path, text)
    new: dict[str, Any] = copy.deepcopy(dict(settings))
    st = _State.load(state)
    notes: list[str] = []
    hooks = new.get("hooks")
    if isinstance(hooks, dict):
        had_ours = bool(installed_entries(new).hooks)
        for event in list(hooks):
            _drop_event(hooks, event, st)
        if not hooks and (st.created_hooks or (not st.known and had_ours)):
            del new["hooks"]
    _restore_statusline(new, st, notes)
    _remove_env(new, st, notes)
    if not st.known and is_our_statusline(settings.get("statusLine")) and "statusLine" not in new:
        notes.append("no install record was found, so a statusLine replaced by cchooks could not be restored")
    exact: str | None = None
    if st.original_text is not None:
        with contextlib.suppress(ValueError):
            if _ordered(json.loads(st.original_text)) == _ordered(new):
                exact = st.original_text
    return Plan(new, None, notes, exact)
