"""Reading and writing a JSON settings file without surprising its owner.

* The text's style is detected and kept: indentation (2 or 4 spaces, or tabs; 2 by default), a trailing
  newline, CRLF line ends, a UTF-8 BOM and whether non-ASCII characters were written as ``\\uXXXX``.
  Claude Code itself writes ``JSON.stringify(settings, null, 2)`` plus a newline, which round-trips
  byte-for-byte through :func:`dumps_json` with the detected style.
* Writes are atomic: a temporary file in the same directory, fsync, ``os.replace``, fsync of the directory.
  The previous content is kept as ``<name>.cchooks-bak``. A symlinked file (dotfile managers) is written
  through: its target is replaced and the link stays.
* :func:`file_lock` serialises read-modify-write cycles of several processes with ``fcntl.flock`` on a lock
  file (a no-op where ``fcntl`` does not exist, i.e. Windows).
* A malformed file raises :class:`MalformedSettings` naming the file, line and column.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BACKUP_SUFFIX = ".cchooks-bak"


class SettingsError(Exception):
    """A settings file cannot be changed as asked; the message says why and what to do."""


class MalformedSettings(SettingsError):
    """The file is not a JSON object of the expected shape. Nothing was changed."""

    def __init__(self, path: Path | str, line: int, column: int, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.problem = problem
        super().__init__(
            f"{self.path}:{line}:{column}: {problem}. The file was left untouched; fix it (or move it away) "
            "and run the command again."
        )


@dataclass(frozen=True)
class JsonStyle:
    """How a JSON file was written, so that a rewrite looks like the original."""

    indent: int | str = 2
    trailing_newline: bool = True
    crlf: bool = False
    bom: bool = False
    ensure_ascii: bool = False


@dataclass(frozen=True)
class SettingsFile:
    """One settings file as read: ``exists`` is False for a missing file (then ``data`` is ``{}``)."""

    path: Path
    exists: bool
    text: str
    data: dict[str, Any]
    style: JsonStyle


_FIRST_INDENT = re.compile(r"^[{\[][ \t]*\r?\n([ \t]+)\S", re.ASCII)
_NON_ASCII_ESCAPE = re.compile(r"\\u(?!00[0-7][0-9a-fA-F])[0-9a-fA-F]{4}")


def detect_style(text: str, *, bom: bool = False) -> JsonStyle:
    """Guess the writing style of ``text`` (defaults: 2 spaces, trailing newline, LF)."""
    stripped = text.lstrip()
    indent: int | str = 2
    match = _FIRST_INDENT.match(stripped)
    if match:
        ws = match.group(1)
        indent = "\t" if ws.startswith("\t") else len(ws)
    return JsonStyle(
        indent=indent,
        trailing_newline=text.endswith("\n") if text.strip() else True,
        crlf="\r\n" in text,
        bom=bom,
        ensure_ascii=text.isascii() and bool(_NON_ASCII_ESCAPE.search(text)),
    )


def dumps_json(data: Any, style: JsonStyle | None = None) -> str:
    """Serialise ``data`` in ``style`` (without the BOM, which belongs to the bytes)."""
    style = style or JsonStyle()
    text = json.dumps(data, indent=style.indent, ensure_ascii=style.ensure_ascii)
    if style.trailing_newline:
        text += "\n"
    if style.crlf:
        text = text.replace("\n", "\r\n")
    return text


def encode_text(text: str, style: JsonStyle) -> bytes:
    raw = text.encode("utf-8")
    return codecs.BOM_UTF8 + raw if style.bom else raw


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def key_position(text: str, key: str) -> tuple[int, int]:
    """Best-effort position of the first ``"key":`` in ``text`` (line 1, column 1 when not found)."""
    match = re.search(r'"' + re.escape(key) + r'"\s*:', text)
    return line_col(text, match.start()) if match else (1, 1)


def parse_settings_text(text: str, path: Path | str) -> dict[str, Any]:
    """Parse settings text; empty (or whitespace-only) text is an empty object."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedSettings(path, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        line, col = line_col(text, len(text) - len(text.lstrip()))
        raise MalformedSettings(path, line, col, f"the top level is a JSON {_kind(data)}, not an object")
    return data


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


def read_settings_file(path: Path | str) -> SettingsFile:
    """Read and parse a settings file; a missing file reads as ``{}`` in the default style."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return SettingsFile(path, False, "", {}, JsonStyle())
    bom = raw.startswith(codecs.BOM_UTF8)
    if bom:
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = raw[: exc.start].decode("utf-8", "replace")
        line, col = line_col(good, len(good))
        raise MalformedSettings(path, line, col, "not valid UTF-8 text") from None
    data = parse_settings_text(text, path)
    return SettingsFile(path, True, text, data, detect_style(text, bom=bom))


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace_atomic(target: Path, payload: bytes, mode: int) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(target.parent)


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes_atomic(
    path: Path | str, payload: bytes, *, backup: bool = True, mode: int | None = None
) -> Path:
    """Atomically replace ``path`` (its symlink target, if it is one) by ``payload``.

    With ``backup`` the previous content, if any, is first saved as ``<name>.cchooks-bak``. The file
    keeps its permission bits (``mode`` if given; new files get 0666 minus the umask).
    Returns the path actually written.
    """
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        previous: bytes | None = target.read_bytes()
        old_mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        previous, old_mode = None, _default_mode()
    if mode is None:
        mode = old_mode
    if backup and previous is not None:
        _replace_atomic(target.with_name(target.name + BACKUP_SUFFIX), previous, mode)
    _replace_atomic(target, payload, mode)
    return target


@contextlib.contextmanager
def file_lock(lock_path: Path | str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if needed) for the duration of the block."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, best effort
        yield
        return
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # The holder may delete the lock file (uninstall leaves nothing behind): a lock on a
        # file no longer at `lock_path` protects nothing, so take the new one instead.
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
