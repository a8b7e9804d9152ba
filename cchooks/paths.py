"""Where things live: Claude config dirs and cchooks' own files.

The hot paths (hook, statusline) use the `*_file` / `*_str` functions, which return plain
strings and import neither pathlib nor platformdirs in the common case:

platformdirs is the source of truth for cchooks' default directories, but importing it costs
~4 ms per process (it pulls in pathlib, tempfile, random, copy...), a tenth of the statusline's
whole budget. So on Linux, when the inputs are plain (``$HOME`` an absolute clean path, each
``$XDG_*_HOME`` unset, empty or an absolute clean path; not Android), the user data and config
data, config and cache dirs are computed here by the XDG rule every platformdirs 4.x applies to
exactly those inputs (``$XDG_DATA_HOME`` or ``~/.local/share``, ``$XDG_CONFIG_HOME`` or
``~/.config``, ``$XDG_CACHE_HOME`` or ``~/.cache``, plus ``/cchooks``). Anything else (macOS, Windows, a relative XDG value, an unusual HOME) asks
platformdirs. tests/test_hot_path.py checks both give the same answer over a matrix of
environments. The log dir (only needed when something goes wrong) always asks platformdirs.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

APP_NAME = "cchooks"


def clean_path(p: str) -> str:
    """``str(Path(p))`` (pathlib's normal form) without importing pathlib for an already clean path."""
    if (
        p
        and os.name != "nt"
        and "//" not in p
        and "/./" not in p
        and not p.endswith(("/", "/."))
        and not p.startswith("./")
        and p != "."
    ):
        return p
    from pathlib import Path

    return str(Path(p))


def _plain_abs(p: str) -> bool:
    return p.startswith("/") and "//" not in p and "/./" not in p and p[-2:] != "/."


def _xdg_user_dir(var: str, default: str) -> str | None:
    """platformdirs' user dir under ``$var`` (else ``~/default``) for plain inputs on Linux, else None."""
    if sys.platform != "linux" or hasattr(sys, "getandroidapilevel") or "ANDROID_DATA" in os.environ:
        return None
    value = os.environ.get(var, "")
    if value.strip():
        # platformdirs 4.x ignores a relative value (newer) or uses it as given (older): ask it.
        return os.path.join(value, APP_NAME) if _plain_abs(value) else None
    home = os.environ.get("HOME", "")
    if not _plain_abs(home):
        return None
    # os.path.expanduser("~/" + default), as platformdirs calls it
    return os.path.join(home.rstrip("/") + "/" + default, APP_NAME)


def user_data_dir() -> str:
    """platformdirs' ``user_data_dir("cchooks")``, as ``str(user_data_path(...))``."""
    fast = _xdg_user_dir("XDG_DATA_HOME", ".local/share")
    if fast is not None:
        return clean_path(fast)
    from platformdirs import user_data_path

    return str(user_data_path(APP_NAME))


def user_config_dir() -> str:
    """platformdirs' ``user_config_dir("cchooks")``, as ``str(user_config_path(...))``."""
    fast = _xdg_user_dir("XDG_CONFIG_HOME", ".config")
    if fast is not None:
        return clean_path(fast)
    from platformdirs import user_config_path

    return str(user_config_path(APP_NAME))


def user_cache_dir() -> str:
    """platformdirs' ``user_cache_dir("cchooks")``, as ``str(user_cache_path(...))``."""
    fast = _xdg_user_dir("XDG_CACHE_HOME", ".cache")
    if fast is not None:
        return clean_path(fast)
    from platformdirs import user_cache_path

    return str(user_cache_path(APP_NAME))


def _expand(entry: str) -> str:
    p = clean_path(os.path.expanduser(entry.strip()))
    # An entry may name the config dir or its projects/ folder.
    return (os.path.dirname(p) or ".") if os.path.basename(p) == "projects" else p


def claude_config_dir_strs(override: str | os.PathLike[str] | None = None) -> list[str]:
    """Every Claude config dir to read, in order, without duplicates, as strings in pathlib's normal form.

    `override` (``--claude-dir``) wins; then ``CLAUDE_CONFIG_DIR`` (one path or a
    comma-separated list); else both ``$XDG_CONFIG_HOME/claude`` and ``~/.claude``.
    Directories that do not exist are kept: callers decide whether that matters. Plain strings:
    every view calls this, and importing pathlib costs a few milliseconds.
    """
    if override:
        raw = [os.fspath(override)] if isinstance(override, os.PathLike) else str(override).split(",")
    elif os.environ.get("CLAUDE_CONFIG_DIR"):
        raw = os.environ["CLAUDE_CONFIG_DIR"].split(",")
    else:
        home = os.path.expanduser("~")
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        raw = [os.path.join(xdg, "claude"), os.path.join(home, ".claude")]
    out: list[str] = []
    seen: set[str] = set()
    for entry in raw:
        if not entry.strip():
            continue
        p = _expand(entry)
        key = os.path.realpath(p) if os.path.exists(p) else p
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def claude_config_dirs(override: str | os.PathLike[str] | None = None) -> list[Path]:
    """`claude_config_dir_strs` as Paths."""
    from pathlib import Path

    return [Path(p) for p in claude_config_dir_strs(override)]


def projects_dir_strs(override: str | os.PathLike[str] | None = None) -> list[str]:
    return [os.path.join(d, "projects") for d in claude_config_dir_strs(override)]


def projects_dirs(override: str | os.PathLike[str] | None = None) -> list[Path]:
    from pathlib import Path

    return [Path(p) for p in projects_dir_strs(override)]


def default_ledger_file() -> str:
    """The ledger file: ``$CCHOOKS_LEDGER``, else ``ledger.sqlite3`` in the user data dir."""
    env = os.environ.get("CCHOOKS_LEDGER")
    if env:
        return clean_path(os.path.expanduser(env))
    return os.path.join(user_data_dir(), "ledger.sqlite3")


def ledger_file(arg: str | None) -> str:
    """The ledger file a command uses: its `--ledger` value (with `~` expanded), else the default."""
    return clean_path(os.path.expanduser(arg)) if arg else default_ledger_file()


def default_ledger_path() -> Path:
    from pathlib import Path

    return Path(default_ledger_file())


def config_file_str() -> str:
    """The config file: ``$CCHOOKS_CONFIG``, else ``config.toml`` in the user config dir."""
    env = os.environ.get("CCHOOKS_CONFIG")
    if env:
        return clean_path(os.path.expanduser(env))
    return os.path.join(user_config_dir(), "config.toml")


def config_file_path() -> Path:
    from pathlib import Path

    return Path(config_file_str())


def log_dir() -> Path:
    from pathlib import Path

    env = os.environ.get("CCHOOKS_LOG_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_log_path

    return user_log_path(APP_NAME)


def encode_project_dir(cwd: str) -> str:
    """Claude Code's folder name for a cwd (lossy: prefer the lines' own `cwd`)."""
    import re

    encoded = re.sub(r"[^a-zA-Z0-9]", "-", cwd)
    if len(encoded) > 200:
        # 2.1.330 cuts long names and adds a base-36 hash; we never need to reproduce
        # the hash because we only ever read names Claude Code wrote.
        encoded = encoded[:200]
    return encoded
