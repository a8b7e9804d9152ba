"""`json.loads` for the hot paths, without importing the `json` package.

`import json` costs ~7 ms on every hook and statusline run, nearly all of it in `re` (and
`enum` and `functools`, which `re` imports): `json.decoder` compiles three regular
expressions at import time. Decoding itself needs none of that: the C scanner that
`json.loads` uses (`_json.make_scanner`) is called here directly, with the same settings
as `json.loads` with no keyword arguments.

The result is always exactly what `json.loads` gives. Only well-formed UTF-8 input takes
the direct way; anything else (other encodings or a BOM, invalid UTF-8, malformed JSON,
an interpreter without `_json`) is handed to `json.loads` itself, so errors are the same
exceptions with the same messages (`json.JSONDecodeError`, `UnicodeDecodeError`,
`RecursionError`, `TypeError`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = " \t\n\r"  # json.decoder.WHITESPACE
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Settings:
    """What `_json.make_scanner` reads from a `json.JSONDecoder()` with default arguments."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__
    memo: dict[str, str] = {}


try:
    from _json import make_scanner as _make_scanner

    _scan: Any = _make_scanner(_Settings())  # type: ignore[arg-type]  # typeshed wants a scanner
except ImportError:  # pragma: no cover - CPython always has _json
    _scan = None


def _slow(data: Any) -> Any:
    import json

    return json.loads(data)


def loads(data: bytes | bytearray | str) -> Any:
    """`json.loads(data)`, same result and same exceptions, without importing `json` when it can."""
    if _scan is None:
        return _slow(data)
    if isinstance(data, str):
        if data[:1] == "\ufeff":
            return _slow(data)
        text = data
    elif isinstance(data, (bytes, bytearray)):
        # json.detect_encoding: a BOM, or NUL among the first bytes, means UTF-16/32 or utf-8-sig.
        if data[:1] in (b"\xef", b"\xfe", b"\xff") or b"\x00" in data[:4]:
            return _slow(data)
        try:
            text = data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return _slow(data)
    else:
        return _slow(data)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        obj, end = _scan(text, start)
    except (StopIteration, ValueError, SystemError):
        # SystemError: the C scanner, called directly, fails that way on some truncated input
        # ('[1,2'); json.loads then raises the JSONDecodeError it owes.
        return _slow(data)
    if end != len(text) and text[end:].strip(_WHITESPACE):
        return _slow(data)
    return obj
