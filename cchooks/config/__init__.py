"""cchooks' configuration: one TOML file in the platformdirs config dir.

Every option has a default, so no file is needed. Three ways in:
- `load_raw_hot()` -> plain dict, for the hook and statusline hot paths (see below);
- `load_raw()` -> plain dict via tomllib;
- `load_config()` -> the validated pydantic `Config` (imports pydantic): everywhere else.

`import tomllib` costs ~11 ms per process (it imports `typing`, `re`, `string`...), more than
everything else the statusline imports. So the hot paths keep the parsed file in
`<user cache dir>/config-cache.json`, tagged with the file's path and stat (device, inode,
size, mtime and ctime in ns), and parse the TOML again only when the file changed (or the
cache is unreadable, or the parsed values are not plain JSON, e.g. TOML dates: then there is
no cache). A broken file is never cached: it raises `ConfigError` every time, as `load_raw` does.
"""

from __future__ import annotations

import os
from stat import S_ISREG

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from cchooks.config.model import Config


class ConfigError(Exception):
    """The config file exists but cannot be used; the message names the file and the problem."""


def load_raw(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The config file as a plain dict ({} when there is none); raises ConfigError. No pydantic."""
    from cchooks.paths import clean_path, config_file_str

    p = clean_path(os.fspath(path)) if path else config_file_str()
    try:
        with open(p, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc}") from exc
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {p} is not valid TOML: {exc}") from exc


CACHE_NAME = "config-cache.json"


def load_raw_hot(path: str | None = None) -> dict[str, Any] | None:
    """`load_raw(path)` for the hot paths, None when there is no config file; cached (see above)."""
    from cchooks.paths import config_file_str

    p = os.path.abspath(path or config_file_str())
    try:
        st = os.stat(p)
    except OSError:
        return None
    if not S_ISREG(st.st_mode):
        return None
    tag = [p, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    cache = _cache_file()
    if cache is not None:
        try:
            from cchooks.fastjson import loads

            with open(cache, "rb") as fh:
                entry = loads(fh.read())
            if isinstance(entry, dict) and entry.get("tag") == tag and isinstance(entry.get("raw"), dict):
                raw: dict[str, Any] = entry["raw"]
                return raw
        except (OSError, ValueError, RecursionError):
            pass
    raw = load_raw(p)
    if cache is not None:
        _save_cache(cache, {"tag": tag, "raw": raw})
    return raw


def _cache_file() -> str | None:
    from cchooks.paths import user_cache_dir

    try:
        return os.path.join(user_cache_dir(), CACHE_NAME)
    except Exception:  # no usable home directory: no cache
        return None


def _save_cache(cache: str, entry: dict[str, Any]) -> None:
    """Write the cache atomically, only when JSON gives the same values back; never raises."""
    import contextlib
    import json

    try:
        text = json.dumps(entry, ensure_ascii=False, allow_nan=False)
        if json.loads(text) != entry:
            return
        os.makedirs(os.path.dirname(cache), mode=0o700, exist_ok=True)
        tmp = f"{cache}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, cache)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except (OSError, TypeError, ValueError, RecursionError):
        pass


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
    from pathlib import Path

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
