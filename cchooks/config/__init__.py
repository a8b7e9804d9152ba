"""cchooks' configuration: one TOML file, one schema (`cchooks.config.model.Config`), one loader.

Every option has a default, so no file is needed. The file is `--config`, else `$CCHOOKS_CONFIG`,
else `config.toml` in the platformdirs config dir. Two forms of the same validated result:
- `load_config(path)` -> the pydantic `Config`: every command, the Python API;
- `load_config_hot(path)` -> the same `Config` as a plain dict (`model_dump(mode="json")`, every
  default filled in), for the hook and statusline hot paths, which cannot afford pydantic
  (~50 ms) or tomllib (~11 ms) on every run.

The hot form is cached in `<user cache dir>/config-cache.json`, tagged with the file's path and
stat (device, inode, size, mtime and ctime in ns): the file is parsed and validated again only
when it changed. A file that fails validation is cached as its error, so a broken file costs
one validation, not one per statusline refresh; it raises ConfigError every time, with the same
one-line message `load_config` gives. Without a file the defaults come from `defaults.json`
beside this module (a test keeps it equal to `Config()`).
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
    except IsADirectoryError:
        raise ConfigError(f"config {p}: is a directory, not a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"config {p}: cannot read it: {exc.strerror or exc}") from None
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {p}: not valid TOML: {exc}") from None


CACHE_NAME = "config-cache.json"


DEFAULTS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "defaults.json")


def hot_price_overrides(cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`Config.price_overrides()` of the plain form `load_config_hot` returns."""
    return {m: {k: v for k, v in entry.items() if v is not None} for m, entry in cfg["prices"].items()}


def load_config_hot(path: str | None = None) -> dict[str, Any]:
    """The validated config as a plain dict, without pydantic when the cache is fresh (see above).

    Raises ConfigError exactly when `load_config(path)` would, with the same message.
    """
    from cchooks.fastjson import loads
    from cchooks.paths import config_file_str

    p = os.path.abspath(path or config_file_str())
    try:
        st = os.stat(p)
    except FileNotFoundError:
        if path:
            raise ConfigError(f"config {p}: no such file") from None
        with open(DEFAULTS_FILE, "rb") as fh:
            defaults: dict[str, Any] = loads(fh.read())
        return defaults
    except OSError as exc:
        raise ConfigError(f"config {p}: cannot read it: {exc.strerror or exc}") from None
    if not S_ISREG(st.st_mode):
        raise ConfigError(f"config {p}: not a regular file")
    tag = [p, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    cache = _cache_file()
    if cache is not None:
        try:
            with open(cache, "rb") as fh:
                entry = loads(fh.read())
            if isinstance(entry, dict) and entry.get("tag") == tag:
                if isinstance(entry.get("error"), str):
                    raise ConfigError(entry["error"])
                if isinstance(entry.get("config"), dict):
                    cfg: dict[str, Any] = entry["config"]
                    return cfg
        except (OSError, ValueError, RecursionError):
            pass
    try:
        cfg = load_config(p).model_dump(mode="json")
    except ConfigError as exc:
        if cache is not None:
            _save_cache(cache, {"tag": tag, "error": str(exc)})
        raise
    if cache is not None:
        _save_cache(cache, {"tag": tag, "config": cfg})
    return cfg


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
    """The validated config (defaults without a file); ConfigError names the file, key and problem.

    An explicit `path` that does not exist is an error; the default location may be absent.
    """
    from pydantic import ValidationError

    from cchooks.config.model import Config
    from cchooks.paths import clean_path, config_file_str

    p = clean_path(os.fspath(path)) if path else config_file_str()
    if path and not os.path.exists(p):
        raise ConfigError(f"config {p}: no such file")
    raw = load_raw(p)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"config {p}: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: Any) -> str:
    """One line for a pydantic ValidationError: `[section] key: problem`, plus how many more."""
    errors = exc.errors(include_url=False)
    parts = []
    for err in errors[:3]:
        loc = [str(x) for x in err.get("loc", ())]
        if len(loc) >= 2 and loc[0] == "prices":
            where = f'[prices."{loc[1]}"]' + (f" {'.'.join(loc[2:])}" if loc[2:] else "")
        elif loc:
            where = f"[{loc[0]}]" + (f" {'.'.join(loc[1:])}" if loc[1:] else "") if len(loc) > 1 else loc[0]
        else:
            where = "[prices]" if "price of" in str(err.get("msg", "")) else "file"
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden":
            msg = "unknown key (see the configuration section of the README)"
        msg = msg.removeprefix("Value error, ")
        given = err.get("input")
        if err.get("type") not in ("extra_forbidden", "missing", "value_error") and isinstance(
            given, str | int | float | bool
        ):
            msg += f" (got {given!r})"
        parts.append(f"{where}: {msg}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def save_config(config: Config, path: str | os.PathLike[str] | None = None, *, only_set: bool = False) -> Path:
    """Write the config atomically (temp file + rename) with tomli-w. `only_set` writes only the keys
    the config was given (a file read by `load_config` keeps its keys, without every default)."""
    import tempfile
    from pathlib import Path

    import tomli_w

    from cchooks.paths import config_file_path

    p = Path(path) if path else config_file_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    data = tomli_w.dumps(config.model_dump(mode="json", exclude_none=True, by_alias=True, exclude_unset=only_set))
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
