"""`cchooks watch`: follow Claude Code's transcripts as they are written and keep the ledger current.

    from cchooks.watch import Watcher, WatchOptions
    w = Watcher(WatchOptions(ledger_path))
    w.start(); ...; w.stop()

One watcher per ledger (`InstanceLock`); see `observer` for the threads and the debounce rule.
"""

from cchooks.watch.lock import InstanceLock, LockHeld, lock_holder, lock_path
from cchooks.watch.observer import NativeObserverUnavailable, Watcher, WatchOptions, WatchStats

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
