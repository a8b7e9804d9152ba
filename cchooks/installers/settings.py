"""Find, read and change Claude Code's settings.json files: install and uninstall cchooks' hooks,
statusLine and telemetry env (what to change is planned by :mod:`cchooks.installers.plan`).

Which file
    ``user``: ``<config dir>/settings.json``, the config dir being ``--claude-dir``, else the first entry of
    ``CLAUDE_CONFIG_DIR`` (a comma-separated list is allowed; an entry ending in ``/projects`` means its
    parent), else ``~/.claude``. ``project``: ``<project dir>/.claude/settings.json``. ``local``:
    ``<project dir>/.claude/settings.local.json``.

Which commands are cchooks' own, and how they are written, is :mod:`cchooks.installers.commands`.

The state file
    Beside the settings file, ``<settings dir>/.cchooks-install.json`` remembers what uninstall cannot
    read from the settings (see :mod:`cchooks.installers.plan`); it is written here, before the settings.

Writing
    The file's JSON style is kept (see :mod:`cchooks.installers.jsonio`); a plan that changes nothing
    writes nothing, so reinstalling is byte-identical. Uninstalling after installing gives back the
    original bytes: directly when the original was in a style we reproduce (Claude Code's own
    ``JSON.stringify(…, null, 2)`` is), and otherwise because the original text is then also kept in the
    state entry (``"original_text"``) and written back when the uninstalled settings equal it, key order
    included. Every read-modify-write
    runs under an ``fcntl`` lock on ``<settings dir>/.cchooks-install.lock``; writes are atomic and keep
    ``<settings>.cchooks-bak``.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cchooks.installers.commands import (
    chained_command,
    command_kind,
    command_prefix,
    hook_command,
    is_our_command,
    statusline_command,
)
from cchooks.installers.jsonio import (
    BACKUP_SUFFIX,
    JsonStyle,
    MalformedSettings,
    SettingsError,
    SettingsFile,
    dumps_json,
    encode_text,
    file_lock,
    read_settings_file,
    write_bytes_atomic,
)
from cchooks.installers.plan import (
    DEFAULT_TIMEOUT,
    GUARD_EVENTS,
    HOOK_EVENTS,
    STATE_VERSION,
    TOOL_EVENTS,
    InstalledEntries,
    InstallOptions,
    Plan,
    StatuslineConflict,
    StatuslineMode,
    check_shape,
    installed_entries,
    plan_install,
    plan_uninstall,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "GUARD_EVENTS",
    "HOOK_EVENTS",
    "STATE_FILE_NAME",
    "TOOL_EVENTS",
    "ChangeResult",
    "InstallOptions",
    "InstalledEntries",
    "MalformedSettings",
    "Plan",
    "SCOPES",
    "Scope",
    "SettingsError",
    "StatuslineConflict",
    "StatuslineMode",
    "chained_command",
    "command_kind",
    "command_prefix",
    "find_installations",
    "hook_command",
    "install",
    "installed_entries",
    "is_our_command",
    "load_settings",
    "plan_install",
    "plan_uninstall",
    "scope_paths",
    "settings_path",
    "statusline_command",
    "uninstall",
    "user_config_dir",
    "write_settings_atomic",
]

Scope = Literal["user", "project", "local"]
SCOPES: tuple[Scope, ...] = ("user", "project", "local")
STATE_FILE_NAME = ".cchooks-install.json"
LOCK_FILE_NAME = ".cchooks-install.lock"


# --------------------------------------------------------------------------------------------------
# locations


def user_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The config dir user-scope settings live in: first ``CLAUDE_CONFIG_DIR`` entry, else ``~/.claude``."""
    env = os.environ if env is None else env
    for entry in env.get("CLAUDE_CONFIG_DIR", "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        path = Path(os.path.expanduser(entry))
        if path.name == "projects":
            path = path.parent
        return path
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".claude"


def settings_path(
    scope: Scope = "user",
    *,
    project_dir: Path | str | None = None,
    claude_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """The settings file of ``scope``; relative directories are made absolute."""
    if scope == "user":
        base = Path(os.path.expanduser(claude_dir)) if claude_dir else user_config_dir(env)
        return Path(os.path.abspath(base / "settings.json"))
    if scope not in ("project", "local"):
        raise ValueError(f"unknown scope {scope!r}")
    proj = Path(os.path.abspath(os.path.expanduser(project_dir) if project_dir else os.getcwd()))
    return proj / ".claude" / ("settings.json" if scope == "project" else "settings.local.json")


def scope_paths(
    *,
    project_dir: Path | str | None = None,
    claude_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[Scope, Path]:
    """The three settings files cchooks may be installed in."""
    return {s: settings_path(s, project_dir=project_dir, claude_dir=claude_dir, env=env) for s in SCOPES}


# --------------------------------------------------------------------------------------------------
# files


def load_settings(path: Path | str) -> dict[str, Any]:
    """The settings dict of ``path`` (``{}`` if missing); raises :class:`MalformedSettings`."""
    sf = read_settings_file(path)
    check_shape(sf.data, path, sf.text)
    return sf.data


def write_settings_atomic(
    path: Path | str, data: Mapping[str, Any], *, style: JsonStyle | None = None, backup: bool = True
) -> str:
    """Write ``data`` atomically in ``style`` (default: the existing file's style); returns the text."""
    if style is None:
        try:
            style = read_settings_file(path).style
        except SettingsError:
            style = JsonStyle()
    text = dumps_json(data, style)
    write_bytes_atomic(path, encode_text(text, style), backup=backup)
    return text


def _state_path(settings_file: Path) -> Path:
    return settings_file.parent / STATE_FILE_NAME


def _read_state_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {"version": STATE_VERSION, "files": {}}
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return {"version": STATE_VERSION, "files": {}}
    return data


@dataclass
class ChangeResult:
    """What :func:`install` / :func:`uninstall` did (or, with ``dry_run``, would do)."""

    path: Path
    changed: bool
    diff: str
    notes: list[str]
    entries: InstalledEntries
    dry_run: bool = False


@contextlib.contextmanager
def _maybe_locked(directory: Path, *, dry_run: bool = False, drop_if_unused: bool = False) -> Iterator[None]:
    if dry_run or not directory.is_dir():  # --dry-run writes nothing, not even a lock file
        yield
        return
    lock = directory / LOCK_FILE_NAME
    with file_lock(lock):
        yield
        if drop_if_unused and not (directory / STATE_FILE_NAME).exists():
            # uninstall leaves nothing of ours behind; removed while held (see file_lock)
            with contextlib.suppress(OSError):
                lock.unlink()


def writable_by_us(path: Path) -> bool:
    """Whether the permission bits let this user write `path` (an existing file).

    From the bits and the owner, not `os.access`: root may write anything, but a settings file
    made read-only (0444) was made so on purpose and must not be replaced behind its back.
    """
    import stat

    st = path.stat()
    uid = os.geteuid()
    if uid in (st.st_uid, 0):  # root: the owner's bits say what the owner meant
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid == os.getegid() or st.st_gid in os.getgroups():
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


class ReadOnlySettings(SettingsError):
    """The settings file's permissions say it is not to be written."""


def _check_folders(settings_file: Path) -> None:
    """A settings file's folders that exist must be folders: a file in their place (say a
    --settings-dir that names settings.json itself) would only give a bare [Errno 17] or [Errno 20]."""
    for folder in settings_file.parents:
        if folder.exists():
            if not folder.is_dir():
                raise SettingsError(f"{folder} is a file, not a directory; settings go in {settings_file}")
            return


def _apply(
    path: Path | str,
    planner: Callable[[SettingsFile, dict[str, Any] | None], Plan],
    *,
    dry_run: bool,
    create: bool,
) -> ChangeResult:
    path = Path(path)
    real = Path(os.path.realpath(path))
    _check_folders(real)
    if not dry_run and create:
        real.parent.mkdir(parents=True, exist_ok=True)
    with _maybe_locked(real.parent, dry_run=dry_run, drop_if_unused=not create):
        sf = read_settings_file(path)
        state_file = _state_path(real)
        state_all = _read_state_file(state_file)
        entry = state_all["files"].get(real.name)
        plan = planner(sf, entry if isinstance(entry, dict) else None)
        changed = plan.changes(sf.data) or (not sf.exists and create)
        new_text = sf.text
        if changed:
            new_text = plan.text if plan.text is not None else dumps_json(plan.settings, sf.style)
        label = str(path)
        diff = "".join(
            difflib.unified_diff(
                sf.text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=label if sf.exists else "/dev/null",
                tofile=label,
            )
        )
        result = ChangeResult(path, changed, diff, plan.notes, installed_entries(plan.settings), dry_run)
        if changed and sf.exists and hasattr(os, "geteuid") and not writable_by_us(real):
            bits = real.stat().st_mode & 0o777
            raise ReadOnlySettings(
                f"{path} is read-only (mode {bits:04o}); not replacing it. Make it writable"
                f" (chmod u+w) to let cchooks change it"
            )
        if dry_run:
            return result
        # The record first, so a crash between the two writes leaves a record of something not
        # (yet) done, which is harmless, never the reverse; if the settings write fails, the
        # record goes back to what it was, so it never describes an install that did not happen.
        try:
            state_before: bytes | None = state_file.read_bytes()
        except FileNotFoundError:
            state_before = None
        files = state_all["files"]
        if plan.state is None:
            files.pop(real.name, None)
        else:
            files[real.name] = plan.state
        if files != _read_state_file(state_file)["files"]:
            if files:
                payload = json.dumps({"version": STATE_VERSION, "files": files}, indent=2) + "\n"
                try:  # the record may hold a copy of the settings text: same permissions
                    mode: int | None = real.stat().st_mode & 0o777
                except FileNotFoundError:
                    mode = None
                write_bytes_atomic(state_file, payload.encode("utf-8"), backup=False, mode=mode)
            else:
                with contextlib.suppress(FileNotFoundError):
                    state_file.unlink()
        if changed:
            # uninstall leaves nothing of ours behind: no backup of a file it restores
            removing = plan.state is None and not create
            try:
                write_bytes_atomic(path, encode_text(new_text, sf.style), backup=not removing)
            except BaseException:
                _restore_file(state_file, state_before)
                raise
            if removing:
                with contextlib.suppress(OSError):
                    real.with_name(real.name + BACKUP_SUFFIX).unlink()
        return result


def _restore_file(path: Path, content: bytes | None) -> None:
    with contextlib.suppress(OSError):
        if content is None:
            path.unlink()
        else:
            write_bytes_atomic(path, content, backup=False)


def install(
    path: Path | str, options: InstallOptions | None = None, *, dry_run: bool = False
) -> ChangeResult:
    """Install cchooks into the settings file ``path`` (locked, atomic, idempotent)."""

    def planner(sf: SettingsFile, entry: dict[str, Any] | None) -> Plan:
        return plan_install(sf.data, options, entry, path=sf.path, text=sf.text)

    return _apply(path, planner, dry_run=dry_run, create=True)


def uninstall(path: Path | str, *, dry_run: bool = False) -> ChangeResult:
    """Remove what :func:`install` added to ``path``."""

    def planner(sf: SettingsFile, entry: dict[str, Any] | None) -> Plan:
        return plan_uninstall(sf.data, entry, path=sf.path, text=sf.text)

    return _apply(path, planner, dry_run=dry_run, create=False)


def find_installations(
    *,
    project_dir: Path | str | None = None,
    claude_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[tuple[Scope, Path, InstalledEntries | SettingsError]]:
    """cchooks' entries in each scope's settings file that exists (an unreadable file gives its error)."""
    found: list[tuple[Scope, Path, InstalledEntries | SettingsError]] = []
    for scope, path in scope_paths(project_dir=project_dir, claude_dir=claude_dir, env=env).items():
        if not path.exists():
            continue
        try:
            found.append((scope, path, installed_entries(load_settings(path))))
        except SettingsError as exc:
            found.append((scope, path, exc))
    return found
