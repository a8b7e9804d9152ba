"""The SQLite driver, `_sqlite3`, loaded for the hot paths without `functools`.

`import sqlite3` would add the package's datetime adapters (~3 ms), so the ledger uses the
driver itself. When it loads, CPython's `_sqlite3` imports `functools` only to keep
`functools.lru_cache` for each connection's statement cache; `functools` in turn loads
`collections`, `operator`, `reprlib` and `types`, ~4 ms of a statusline refresh that reads
the ledger (about a tenth of it). So when nothing has imported `functools` yet, the driver
loads against a stand-in module that holds only `lru_cache` (a bounded dict of prepared
statements, all the driver asks of it), which is removed at once: a later `import
functools` gets the real module. Elsewhere (reports, the daemon) `functools` is loaded
already and the driver loads as usual.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def lru_cache(maxsize: int | None = 128, typed: bool = False) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """`functools.lru_cache(maxsize)` as `_sqlite3` uses it: one hashable argument (the SQL),
    at most `maxsize` results kept (the oldest goes first; 0 keeps none)."""

    def decorate(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        kept: dict[Any, Any] = {}
        missing = object()

        def cached(key: Any) -> Any:
            value = kept.get(key, missing)
            if value is missing:
                value = func(key)
                if maxsize is None or maxsize > 0:
                    if maxsize is not None and len(kept) >= maxsize:
                        del kept[next(iter(kept))]
                    kept[key] = value
            return value

        return cached

    return decorate


def _load_lean() -> None:
    stand_in = type(sys)("functools")
    stand_in.lru_cache = lru_cache  # type: ignore[attr-defined]
    sys.modules["functools"] = stand_in
    try:
        import _sqlite3  # noqa: F401 - loaded here, against the stand-in
    except Exception:  # a driver that wants more of functools: it loads the usual way below
        sys.modules.pop("_sqlite3", None)
    finally:
        if sys.modules.get("functools") is stand_in:
            del sys.modules["functools"]


if "_sqlite3" not in sys.modules and "functools" not in sys.modules:
    _load_lean()

import _sqlite3 as sqlite3  # noqa: E402 - after the lean load above

__all__ = ["sqlite3"]
