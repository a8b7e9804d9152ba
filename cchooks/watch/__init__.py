"""`cchooks watch`: follow Claude Code's transcripts as they are written and keep the ledger current.

    from cchooks.watch import Watcher, WatchOptions
    w = Watcher(WatchOptions(ledger_path))
    w.start(); ...; w.stop()

One watcher per ledger (`InstanceLock`); see `observer` for the threads and the debounce rule.
Names load on first use: views import `cchooks.watch.freshness` and `cchooks.watch.lock`
without watchdog and the observer.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.watch.lock import InstanceLock, LockHeld, lock_holder, lock_path
    from cchooks.watch.observer import NativeObserverUnavailable, Watcher, WatchOptions, WatchStats

_FROM = {
    "InstanceLock": "lock",
    "LockHeld": "lock",
    "lock_holder": "lock",
    "lock_path": "lock",
    "NativeObserverUnavailable": "observer",
    "Watcher": "observer",
    "WatchOptions": "observer",
    "WatchStats": "observer",
}

__all__ = [
    "InstanceLock",
    "LockHeld",
    "NativeObserverUnavailable",
    "WatchOptions",
    "WatchStats",
    "Watcher",
    "lock_holder",
    "lock_path",
]


def __getattr__(name: str) -> object:
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module 'cchooks.watch' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"cchooks.watch.{module}"), name)
    globals()[name] = value
    return value
