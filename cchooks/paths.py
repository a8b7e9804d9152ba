"""Where things live: Claude config dirs and cchooks' own files."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "cchooks"


def _expand(entry: str) -> Path:
    p = Path(entry.strip()).expanduser()
    # An entry may name the config dir or its projects/ folder.
    return p.parent if p.name == "projects" else p


def claude_config_dirs(override: str | os.PathLike[str] | None = None) -> list[Path]:
    """Every Claude config dir to read, in order, without duplicates.

    `override` (``--claude-dir``) wins; then ``CLAUDE_CONFIG_DIR`` (one path or a
    comma-separated list); else both ``$XDG_CONFIG_HOME/claude`` and ``~/.claude``.
    Directories that do not exist are kept: callers decide whether that matters.
    """
    if override:
        raw = [str(override)] if isinstance(override, os.PathLike) else str(override).split(",")
    elif os.environ.get("CLAUDE_CONFIG_DIR"):
        raw = os.environ["CLAUDE_CONFIG_DIR"].split(",")
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        raw = [str(Path(xdg) / "claude"), str(Path.home() / ".claude")]
    out: list[Path] = []
    seen: set[str] = set()
    for entry in raw:
        if not entry.strip():
            continue
        p = _expand(entry)
        key = str(p.resolve()) if p.exists() else str(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def projects_dirs(override: str | os.PathLike[str] | None = None) -> list[Path]:
    return [d / "projects" for d in claude_config_dirs(override)]


def default_ledger_path() -> Path:
    env = os.environ.get("CCHOOKS_LEDGER")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "ledger.sqlite3"


def config_file_path() -> Path:
    env = os.environ.get("CCHOOKS_CONFIG")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def log_dir() -> Path:
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
