"""`cchooks watch`: observe every Claude config dir and ingest transcript changes as they happen."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from cchooks.commands.common import CONFIG_HELP, add_ledger_args

if TYPE_CHECKING:
    from cchooks.watch import WatchOptions

_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
_WAKE = signal.SIGUSR1  # sent to ourselves when the writer thread fails


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_ledger_args(parser)
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument(
        "--poll", type=float, metavar="SECONDS",
        help="poll the file system every SECONDS instead of using native events (inotify, FSEvents, ...)",
    )  # fmt: skip
    parser.add_argument(
        "--debounce", type=int, default=200, metavar="MS",
        help="ingest a changed transcript after it has been quiet this long (default 200 ms)",
    )  # fmt: skip
    parser.add_argument(
        "--max-delay", type=int, default=500, metavar="MS",
        help="... but no later than this after its first change, however busy (default 500 ms)",
    )  # fmt: skip
    parser.add_argument("--verbose", "-v", action="store_true", help="log every ingest")


def setup_logging(verbose: bool) -> Path | None:
    """Log to stderr and to watch.log in the platformdirs log dir; returns the log file (None if unusable)."""
    from logging.handlers import RotatingFileHandler

    from cchooks.paths import log_dir

    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger = logging.getLogger("cchooks")
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(fmt)
    logger.addHandler(err)
    # watchdog warns when its recursive inotify walk meets a directory it already added (`mkdir -p`
    # racing the walk); harmless, and not worth a line on stderr.
    warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)
    wd = logging.getLogger("watchdog")
    wd.setLevel(logging.WARNING)
    wd.addHandler(err)
    path: Path | None = log_dir() / "watch.log"
    try:
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = RotatingFileHandler(path, maxBytes=1 << 20, backupCount=3, encoding="utf-8")
        fh.setFormatter(fmt)
        logger.addHandler(fh)
        wd.addHandler(fh)
    except OSError as exc:
        logger.warning("cannot write the log file %s: %s", path, exc)
        path = None
    return path


def run(args: argparse.Namespace) -> int:
    from cchooks.ledger import Ledger, LedgerError
    from cchooks.paths import default_ledger_path
    from cchooks.watch import InstanceLock, LockHeld, WatchOptions

    ledger_path = Path(args.ledger).expanduser() if args.ledger else default_ledger_path()
    try:
        options = WatchOptions(
            ledger_path, args.claude_dir, args.poll, debounce_ms=args.debounce, max_delay_ms=args.max_delay
        )
    except ValueError as exc:
        print(f"cchooks watch: {exc}", file=sys.stderr)
        return 2
    try:
        lock = InstanceLock(ledger_path).acquire()
    except LockHeld as exc:
        print(f"cchooks watch: {exc}; stop it first (or use another --ledger).", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cchooks watch: cannot create the lock file next to {ledger_path}: {exc}", file=sys.stderr)
        return 1
    try:
        try:
            Ledger.open(ledger_path).close()  # fail early (and migrate) before starting threads
        except LedgerError as exc:
            print(f"cchooks watch: {exc}", file=sys.stderr)
            return 1
        from cchooks.team.daemon import BackgroundSync, team_sync

        team = team_sync(args.config, ledger_path)
        log_file = setup_logging(args.verbose)
        if team is None:
            return _watch(options, log_file)
        with BackgroundSync(team):
            return _watch(options, log_file)
    finally:
        lock.release()


def _watch(options: WatchOptions, log_file: Path | None) -> int:
    from cchooks.watch import Watcher

    log = logging.getLogger("cchooks.watch")
    on_main = threading.current_thread() is threading.main_thread()
    main_id = threading.get_ident()
    stop = threading.Event()

    def fatal(_exc: BaseException) -> None:
        if on_main:
            signal.pthread_kill(main_id, _WAKE)
        else:
            stop.set()

    if on_main:
        # Block the signals before any thread starts (threads inherit the mask), then wait for them
        # with sigwait: no handler runs at an awkward moment and the main thread sleeps until one comes.
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS | {_WAKE})
    watcher = Watcher(options, on_fatal=fatal)
    try:
        try:
            watcher.start()
        except Exception as exc:
            log.error("cannot start watching: %s", exc)
            return 1
        roots = ", ".join(str(r) for r in watcher.roots) or "(none)"
        log.info(
            "cchooks watch started (pid %d, %s observer): %s -> %s; log %s", os.getpid(), watcher.mode, roots,
            options.ledger_path, log_file or "stderr only",
        )  # fmt: skip
        if on_main:
            sig = signal.sigwait(_SIGNALS | {_WAKE})
            if sig != _WAKE:
                log.info("received %s; flushing and stopping", signal.Signals(sig).name)
        else:  # pragma: no cover - only when embedded in another program's thread
            stop.wait()
        watcher.stop()
        if watcher.failure is not None:
            return 1
        s = watcher.stats
        log.info(
            "stopped: %d ingests, %d responses, %s bytes, %d error(s)",
            s.ingests, s.records, f"{s.bytes_read:,}", s.errors,
        )  # fmt: skip
        return 0
    finally:
        if on_main:
            # Consume signals that arrived while stopping, so unblocking does not raise KeyboardInterrupt.
            for sig in signal.sigpending() & (_SIGNALS | {_WAKE}):
                signal.sigwait({sig})
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
