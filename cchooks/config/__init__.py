"""cchooks' configuration: one TOML file in the platformdirs config dir.

Every option has a default, so no file is needed. Two ways in:
- `load_raw()` -> plain dict via tomllib: for the hook and statusline hot paths;
- `load_config()` -> the validated pydantic `Config` (imports pydantic): everywhere else.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cchooks.config.model import Config


class ConfigError(Exception):
    """The config file exists but cannot be used; the message names the file and the problem."""


def load_raw(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    from cchooks.paths import config_file_path

    p = Path(path) if path else config_file_path()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc}") from exc
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {p} is not valid TOML: {exc}") from exc


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    from pydantic import ValidationError

    from cchooks.config.model import Config

    raw = load_raw(path)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"invalid config: {exc}") from exc


def save_config(config: Config, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the config atomically (temp file + rename) with tomli-w."""
    import tempfile

    import tomli_w

    from cchooks.paths import config_file_path

    p = Path(path) if path else config_file_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    data = tomli_w.dumps(config.model_dump(mode="json", exclude_none=True, by_alias=True))
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".config.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
