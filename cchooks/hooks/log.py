"""The hot paths' error log and hard time limit.

Hooks and the statusline must never break or slow Claude Code, so they never raise and
never print tracebacks: problems go to a rotating log file, `<log dir>/cchooks.log`
(`cchooks.paths.log_dir()`: the platformdirs user log dir, or `$CCHOOKS_LOG_DIR`), at most
4 files of 512 KiB. `logging` is imported only when there is something to log.

`Deadline` is the hard time limit: a daemon thread that, once the limit passes, runs a
last-words callback (the statusline prints a minimal line), logs, and ends the process
with `os._exit(0)`. A thread rather than `signal.alarm` because a Python signal handler
cannot run while the main thread waits inside SQLite or a read; `os._exit` is safe for
the ledger (an unfinished transaction is rolled back by SQLite, locks die with the process).
It is a bare `_thread` thread with `_thread` locks: `threading` would cost ~1 ms of imports
on every hook and statusline run, and a thread that `threading` does not know is never
joined at exit, i.e. a daemon.
"""

from __future__ import annotations

import _thread
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

LOG_NAME = "cchooks.log"
MAX_BYTES = 512 * 1024
BACKUPS = 3

_logger: Any = None


def log_path() -> str:
    from cchooks.paths import log_dir

    return str(log_dir() / LOG_NAME)


def _get_logger() -> Any:
    global _logger
    if _logger is not None:
        return _logger
    import logging
    from logging.handlers import RotatingFileHandler

    from cchooks.paths import log_dir

    directory = log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(
        directory / LOG_NAME, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )
    handler.setFormatter(logging.Formatter("%(asctime)s pid=%(process)d %(levelname)s %(message)s"))
    logger = logging.getLogger("cchooks.hotpath")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [handler]
    _logger = logger
    return logger


def log_error(where: str, exc: BaseException | None = None, message: str = "") -> None:
    """Append an error (with traceback when `exc` is given) to the log; never raises."""
    try:
        text = f"{where}: {message}" if message else where
        if exc is not None:
            text += f": {type(exc).__name__}: {exc}"
            _get_logger().error(text, exc_info=(type(exc), exc, exc.__traceback__))
        else:
            _get_logger().error(text)
    except Exception:  # the log is best effort: a full disk must not break Claude Code
        pass


def log_warning(where: str, message: str) -> None:
    try:  # noqa: SIM105 - contextlib is not loaded on the hot path
        _get_logger().warning(f"{where}: {message}")
    except Exception:
        pass


def seconds_from_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment (tests shorten limits), else `default`."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


class Deadline:
    """Ends the process cleanly (exit 0) if the work is not done within `seconds`.

    `last_words` runs first (in the watchdog thread); `done()` disarms, and `claim()` lets the
    main thread and the watchdog agree on who writes the final output (only one ever does).
    """

    def __init__(self, seconds: float, where: str, last_words: Callable[[], None] | None = None) -> None:
        self.seconds = seconds
        self.where = where
        self.last_words = last_words
        self._lock = _thread.allocate_lock()
        self._claimed = False
        # Held until `done()`: the watchdog waits on it (an Event without importing threading).
        self._done = _thread.allocate_lock()
        self._done.acquire()
        self._finished = False

    def start(self) -> Deadline:
        _thread.start_new_thread(self._watch, ())
        return self

    def claim(self) -> bool:
        """True for the first caller only: that caller owns stdout from now on."""
        with self._lock:
            if self._claimed:
                return False
            self._claimed = True
            return True

    def done(self) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._done.release()

    def _wait_done(self, seconds: float) -> bool:
        """True once `done()` was called, waiting at most `seconds` for it."""
        if self._done.acquire(timeout=min(max(seconds, 0.0), _thread.TIMEOUT_MAX)):
            self._done.release()  # stay "done" for any later wait
            return True
        return False

    def _watch(self) -> None:
        if self._wait_done(self.seconds):
            return
        if not self.claim():
            # The main thread is writing its output: give it a moment, then stop regardless.
            if self._wait_done(1.0):
                return
        else:
            try:
                if self.last_words is not None:
                    self.last_words()
                sys.stdout.flush()
            except Exception:
                pass
        log_error(self.where, message=f"gave up after the {self.seconds:g} s time limit (exit 0)")
        os._exit(0)
