"""Whether a running watcher has read everything, so that a view may skip its own scan.

Before every view, a scan `stat`s every transcript (about 5 µs each: a tenth of a second at
20,000 files). While `cchooks watch` or `cchooks serve` runs, its watcher already follows every
change, so it publishes its state in `<ledger>.watch.state`: its pid, the `projects/` folders it
watches, whether it uses native events, and whether it is idle (nothing queued or pending: every
event it was given has been ingested). It marks itself busy the moment an event arrives, before
the debounce, so an idle state never hides a change it knows of.

A view trusts that state only when all of these hold: the ledger's watch lock is held (the kernel
drops it when the process dies, so a stale file from a killed watcher counts for nothing) by the
pid in the state, the watcher is idle, on native events (a polling one lags its interval), and it
watches every folder the view would scan. Otherwise the view scans as before.
"""

from __future__ import annotations

import contextlib
import os

from cchooks.watch.lock import lock_holder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

STATE_SUFFIX = ".watch.state"


def state_path(ledger_path: str | os.PathLike[str]) -> str:
    """`<ledger>.watch.state` (plain strings: every view reads it, and pathlib costs a few ms to import)."""
    return os.fspath(ledger_path) + STATE_SUFFIX


def _real(paths: list[Path] | list[str]) -> list[str]:
    return [os.path.realpath(p) for p in paths]


def publish(ledger_path: str | os.PathLike[str], roots: list[Path], mode: str, idle: bool) -> None:
    """Write the watcher's state (atomically: a reader sees the old state or the new one)."""
    target = state_path(ledger_path)
    tmp = f"{target}.{os.getpid()}.tmp"
    import json

    data = {"pid": os.getpid(), "roots": _real(roots), "mode": mode, "idle": idle}
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, target)


def withdraw(ledger_path: str | os.PathLike[str]) -> None:
    """The watcher stops vouching (it stops, fails or falls back to polling)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(state_path(ledger_path))


class WatcherState:
    """The watcher's side of the state file: says idle or busy, each decision under one lock.

    The writer thread asks for idle when it has nothing pending; `can_be_idle` (nothing queued,
    native events, not stopping) is checked under the lock. The observer thread queues an event
    and then asks for busy, under the same lock. So an event queued after the check is always
    followed by a busy state, and one queued before it prevents the idle one.
    """

    def __init__(self, ledger_path: str | os.PathLike[str], roots: list[Path]) -> None:
        import threading

        self.ledger_path = ledger_path
        self.roots = roots
        self._lock = threading.Lock()
        self._idle = False

    def set(self, idle: bool, mode: str, can_be_idle: Callable[[], bool] | None = None) -> None:
        with self._lock:
            if idle and (mode != "native" or (can_be_idle is not None and not can_be_idle())):
                idle = False
            if idle == self._idle:
                return
            try:
                if idle:
                    publish(self.ledger_path, self.roots, mode, idle=True)
                else:
                    withdraw(self.ledger_path)
                self._idle = idle
            except OSError as exc:
                import logging

                logging.getLogger("cchooks.watch").warning("cannot write the watcher's state next to the ledger: %s", exc)
                if not idle:  # a state that cannot be removed must at least stop saying idle
                    with contextlib.suppress(OSError):
                        publish(self.ledger_path, self.roots, mode, idle=False)
                    self._idle = False


def vouching_watcher(ledger_path: str | os.PathLike[str], projects_dirs: list[Path] | list[str]) -> int | None:
    """The pid of a running watcher that has read everything under `projects_dirs`, or None."""
    from cchooks.fastjson import loads  # views: no `json` import for this

    try:
        with open(state_path(ledger_path), "rb") as fh:
            state = loads(fh.read())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("idle") is not True or state.get("mode") != "native":
        return None
    pid = state.get("pid")
    roots = state.get("roots")
    if not isinstance(pid, int) or pid <= 0 or not isinstance(roots, list):
        return None
    if not set(_real(projects_dirs)) <= set(roots):
        return None
    if lock_holder(ledger_path) != pid:
        return None
    return pid
