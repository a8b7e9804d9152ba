"""One `cchooks watch` per ledger: an fcntl lock on a file next to the ledger.

The lock is `flock(LOCK_EX | LOCK_NB)` on `<ledger>.watch.lock`, which holds the owner's pid for
messages. The kernel drops the lock when the process dies, so a crash never leaves a stale lock;
the file itself stays (deleting it would let two processes lock two different files).
"""

from __future__ import annotations

import fcntl
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


class LockHeld(Exception):
    """Another process holds the watch lock of this ledger."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"another `cchooks watch` ({who}) is already watching for this ledger (lock {path})")


def lock_path(ledger_path: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(_lock_file(ledger_path))


def _lock_file(ledger_path: str | os.PathLike[str]) -> str:
    """`<ledger>.watch.lock` as a plain string: `lock_holder` runs before every view."""
    return os.fspath(ledger_path) + ".watch.lock"


def _read_pid(fd: int) -> int | None:
    try:
        data = os.pread(fd, 32, 0)
        return int(data.decode("ascii").strip() or "0") or None
    except (OSError, ValueError):
        return None


class InstanceLock:
    """Held for the lifetime of a watcher: `acquire()` or raise LockHeld; `release()` at exit."""

    def __init__(self, ledger_path: str | os.PathLike[str]) -> None:
        self.path = lock_path(ledger_path)
        self._fd: int | None = None

    def acquire(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(fd)
            os.close(fd)
            raise LockHeld(self.path, pid) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_holder(ledger_path: str | os.PathLike[str]) -> int | None:
    """The pid of the running watcher of this ledger (0 if it is running but its pid is unknown), or None."""
    path = _lock_file(ledger_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_pid(fd) or 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
