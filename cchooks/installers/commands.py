"""cchooks' own hook and statusLine commands: how they are written and how they are recognised.

The command
    ``<python> -S <…>/cchooks/hot.py [--sys-path <dir>] hook <Event>`` (and ``… statusline``) when that
    works with this interpreter (:func:`command_prefix` runs ``hot.py --check`` once to find out): the
    interpreter starts without ``site``, which saves the 30-40 ms that .pth files in site-packages can
    cost every hook and statusline run (see :mod:`cchooks.launch_hot`). ``--sys-path`` names the
    directory cchooks' dependencies are installed in, when it is not the one holding cchooks (an
    editable install). Otherwise the ``cchooks`` console script next to the interpreter, else
    ``<python> -m cchooks``. All paths are absolute and shell-quoted.

What is ours
    A hook or statusLine whose command runs cchooks: its program is a ``cchooks`` console script (any
    directory), or its words contain ``-m cchooks``, or its first word after the program and its options
    is a ``…/cchooks/hot.py`` script (``--sys-path DIR`` pairs after it are skipped), followed by ``hook
    <Event>`` or ``statusline`` (leading ``NAME=value`` words are skipped; see :func:`command_kind`).
    Matching is on the shell words,
    so a changed or quoted interpreter path (a moved venv, a path with spaces) is still recognised and a
    reinstall replaces rather than duplicates. A command that merely *wraps* cchooks (``sh -c '…cchooks
    hook Stop'``) is the user's and is left alone.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any, Literal, TypeGuard

from cchooks.installers.jsonio import SettingsError

HOT_SCRIPT = "hot.py"
_HOT_CHECKED: dict[tuple[str, ...], bool] = {}


def hot_script() -> str:
    """The `-S` launcher of the cchooks package running now (``<package dir>/hot.py``)."""
    import cchooks

    return os.path.join(os.path.dirname(os.path.abspath(cchooks.__file__)), HOT_SCRIPT)


def hot_sys_path() -> list[str]:
    """The ``--sys-path`` directories the `-S` launcher needs: where cchooks' dependencies are installed
    (platformdirs' directory, i.e. the site-packages of this interpreter), unless that is the directory
    holding cchooks, which the launcher always adds."""
    import platformdirs

    package_parent = os.path.dirname(os.path.dirname(hot_script()))
    deps = os.path.dirname(os.path.dirname(os.path.abspath(platformdirs.__file__)))
    return [] if os.path.normcase(deps) == os.path.normcase(package_parent) else [deps]


def hot_command_prefix(executable: str | None = None, *, verify: bool = True) -> str | None:
    """``<python> -S <…>/cchooks/hot.py [--sys-path DIR]``, shell-quoted, or None when it does not work.

    With ``verify`` (the default) the launcher is run once with ``--check`` (it imports the hook and
    statusline modules and answers with cchooks' version); any other outcome means None.
    """
    exe = os.path.abspath(executable if executable is not None else sys.executable)
    script = hot_script()
    words = [exe, "-S", script]
    for d in hot_sys_path():
        words += ["--sys-path", d]
    if verify and not _hot_works(tuple(words)):
        return None
    return " ".join(shlex.quote(w) for w in words)


def _hot_works(words: tuple[str, ...]) -> bool:
    if words not in _HOT_CHECKED:
        import subprocess

        from cchooks import __version__
        from cchooks.launch_hot import CHECK_OK

        try:
            out = subprocess.run(
                [*words, "--check"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
            )
            ok = out.returncode == 0 and out.stdout.strip() == f"{CHECK_OK} {__version__}"
        except (OSError, subprocess.SubprocessError, ValueError):
            ok = False
        _HOT_CHECKED[words] = ok
    return _HOT_CHECKED[words]


def command_prefix(executable: str | None = None, *, hot: bool = True) -> str:
    """Shell words that run cchooks with this interpreter, e.g. ``'/venv/bin/python' -m cchooks``.

    Preferred: the `-S` launcher (:func:`hot_command_prefix`) when ``hot`` and it works with this
    interpreter; then the ``cchooks`` console script next to the interpreter when it exists; else
    ``-m cchooks``. Always absolute paths, shell-quoted, never npx/uvx.
    """
    exe = executable if executable is not None else sys.executable
    if not exe:
        raise SettingsError("cannot tell which Python runs cchooks (sys.executable is empty)")
    exe = os.path.abspath(exe)
    if hot:
        prefix = hot_command_prefix(exe)
        if prefix is not None:
            return prefix
    script = Path(exe).parent / ("cchooks.exe" if os.name == "nt" else "cchooks")
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script))
    return f"{shlex.quote(exe)} -m cchooks"


def hook_command(prefix: str, event: str) -> str:
    return f"{prefix} hook {event}"


def statusline_command(prefix: str, chain: str | None = None) -> str:
    base = f"{prefix} statusline"
    return f"{base} --chain {shlex.quote(chain)}" if chain is not None else base


def command_words(command: str) -> list[str] | None:
    try:
        return shlex.split(command)
    except ValueError:
        return None


def _is_assignment(word: str) -> bool:
    name, eq, _ = word.partition("=")
    return bool(eq) and name.isidentifier()


def _is_hot_script(word: str) -> bool:
    path = word.replace("\\", "/")
    return path == f"cchooks/{HOT_SCRIPT}" or path.endswith(f"/cchooks/{HOT_SCRIPT}")


def _hot_subcommand_index(words: list[str], start: int) -> int | None:
    """The subcommand's index in ``<python> [opts] <…>/cchooks/hot.py [--sys-path DIR]... <subcommand>``."""
    i = start + 1
    while i < len(words) and words[i].startswith("-") and words[i] not in ("-m", "-c", "-"):
        i += 2 if words[i] in ("-X", "-W") else 1
    if i >= len(words) or not _is_hot_script(words[i]):
        return None
    i += 1
    while i < len(words):
        if words[i] == "--sys-path" and i + 1 < len(words):
            i += 2
        elif words[i].startswith("--sys-path="):
            i += 1
        else:
            break
    return i


def _cchooks_subcommand_index(words: list[str]) -> int | None:
    """Index of the word after the one that invokes cchooks, if the command invokes cchooks."""
    start = 0
    while start < len(words) and _is_assignment(words[start]):
        start += 1
    if start >= len(words):
        return None
    prog = os.path.basename(words[start].replace("\\", "/"))
    if prog in ("cchooks", "cchooks.exe"):
        return start + 1
    hot = _hot_subcommand_index(words, start)
    if hot is not None:
        return hot
    for i in range(start + 1, len(words) - 1):
        if words[i] == "-m" and words[i + 1] == "cchooks":
            return i + 2
    return None


def command_files(words: list[str]) -> list[str]:
    """The absolute files a command of ours needs: its program, and the `-S` launcher if it uses one."""
    files = [words[0]] if os.path.isabs(words[0]) else []
    start = 0
    while start < len(words) and _is_assignment(words[start]):
        start += 1
    if start < len(words) and _hot_subcommand_index(words, start) is not None:
        if start and os.path.isabs(words[start]):
            files.append(words[start])
        files += [w for w in words[start + 1 :] if _is_hot_script(w) and os.path.isabs(w)][:1]
    return files


def command_kind(command: Any) -> Literal["hook", "statusline"] | None:
    """``"hook"`` or ``"statusline"`` when ``command`` is one of cchooks' own commands, else None."""
    if not isinstance(command, str):
        return None
    words = command_words(command)
    if words is None:
        return None
    idx = _cchooks_subcommand_index(words)
    if idx is None or idx >= len(words):
        return None
    sub = words[idx]
    if sub == "hook":
        return "hook"
    if sub == "statusline":
        return "statusline"
    return None


def is_our_command(command: Any) -> bool:
    return command_kind(command) is not None


def chained_command(command: Any) -> str | None:
    """The foreign command our statusline chains to (``… statusline --chain '<cmd>'``), if any."""
    if command_kind(command) != "statusline":
        return None
    words = command_words(command) or []
    for i, word in enumerate(words):
        if word == "--chain" and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("--chain="):
            return word[len("--chain=") :]
    return None


def is_our_hook(handler: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(handler, dict) and command_kind(handler.get("command")) == "hook"


def is_our_statusline(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and command_kind(value.get("command")) == "statusline"


def hook_event_of(command: str) -> str | None:
    words = command_words(command) or []
    idx = _cchooks_subcommand_index(words)
    if idx is not None and idx + 1 < len(words):
        return words[idx + 1]
    return None
