"""The observer behind `cchooks watch`: file system events in, debounced incremental ingests out.

Threads:
- watchdog's observer thread calls `_Handler.dispatch` for every event; that only classifies the path and
  puts a small tuple on a queue (it never touches the ledger);
- one writer thread owns the Ledger connection (SQLite connections belong to one thread). It blocks on
  the queue with no timeout while nothing is pending, so an idle watcher wakes for nothing. A changed
  transcript is ingested once it has been quiet for `debounce_ms`, and at the latest `max_delay_ms` after
  its first unprocessed change, so a burst of appends is one ingest and a file that never stops growing is
  still read every `max_delay_ms`.

What is watched (see `targets`): every config dir's `projects/` recursively; a `projects/` that does not
exist yet through its nearest existing ancestor (non-recursively), moving the watch down as directories
appear. When a `projects/` appears, or a new project or session directory does, it is scanned once, which
covers files written before the new watch was in place. On start, one catch-up ingest of everything.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cchooks.ledger.ingest import IngestResult, describe, discover, ingest_file, ingest_files
from cchooks.ledger.store import Ledger
from cchooks.paths import projects_dirs
from cchooks.watch import freshness
from cchooks.watch.targets import (
    WatchTarget,
    desired_targets,
    on_the_way_to,
    root_of,
    transcript_kind,
    transcripts_under,
    translate,
)

if TYPE_CHECKING:
    from watchdog.events import FileSystemEvent
    from watchdog.observers.api import BaseObserver, ObservedWatch

log = logging.getLogger("cchooks.watch")

FALLBACK_POLL_SECONDS = 2.0  # polling interval when the native observer cannot be used
MAX_RETRIES = 3

# Queue items: (kind, path).
_FILE = "file"  # a transcript changed or appeared
_GONE = "gone"  # a transcript was deleted or moved away
_DIR = "dir"  # a directory appeared inside a projects/ dir: scan it
_RECONCILE = "reconcile"  # a projects/ dir or one of its ancestors appeared or vanished
_DEAD = "dead"  # a watched directory itself was deleted
_RESCAN = "rescan"  # events were lost (inotify queue overflow): ingest everything once
_STOP = "stop"


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


class _Stopped(Exception):
    """Raised inside the catch-up ingest when a stop was requested."""


class NativeObserverUnavailable(Exception):
    """The platform's native observer failed (e.g. the inotify watch or instance limit was reached)."""


@dataclass(slots=True)
class WatchOptions:
    ledger_path: Path
    claude_dir: str | None = None
    poll_seconds: float | None = None  # None: the native observer (polling only as a fallback)
    debounce_ms: int = 200
    max_delay_ms: int = 500

    def __post_init__(self) -> None:
        if self.debounce_ms < 0:
            raise ValueError("debounce must be >= 0 ms")
        if self.max_delay_ms < self.debounce_ms:
            self.max_delay_ms = self.debounce_ms
        if self.poll_seconds is not None and self.poll_seconds <= 0:
            raise ValueError("poll interval must be positive")


@dataclass(slots=True)
class WatchStats:
    ingests: int = 0  # flushes that read something
    files_read: int = 0
    bytes_read: int = 0
    records: int = 0
    scans: int = 0  # directory scans after a directory appeared
    errors: int = 0
    catch_up_seconds: float = 0.0


@dataclass(slots=True)
class _Pending:
    kind: str  # _FILE or _DIR
    first: float  # monotonic time of the first unprocessed change
    last: float  # ... and of the latest
    attempts: int = 0

    def due(self, debounce: float, max_delay: float) -> float:
        return min(self.last + debounce, self.first + max_delay)


# Event types asked of the observer (on inotify this also narrows the kernel's event mask: no
# IN_OPEN/IN_ACCESS, so our own reads of a transcript wake nothing).
def _event_filters() -> tuple[list[type[FileSystemEvent]], list[type[FileSystemEvent]]]:
    from watchdog.events import (
        DirCreatedEvent,
        DirDeletedEvent,
        DirMovedEvent,
        FileCreatedEvent,
        FileDeletedEvent,
        FileModifiedEvent,
        FileMovedEvent,
    )

    recursive: list[type[FileSystemEvent]] = [
        FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileDeletedEvent,
        DirCreatedEvent, DirMovedEvent, DirDeletedEvent,
    ]  # fmt: skip
    ancestor: list[type[FileSystemEvent]] = [
        DirCreatedEvent, DirMovedEvent, DirDeletedEvent, FileCreatedEvent, FileMovedEvent, FileDeletedEvent,
    ]  # fmt: skip
    return recursive, ancestor


class _OverflowHandler(logging.Handler):
    """watchdog only logs when the kernel's inotify queue overflowed (events were dropped); turn that
    log record into a full rescan."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._on_overflow()


class Watcher:
    """Observe every Claude config dir and keep the ledger current. `start()`, later `stop()`."""

    def __init__(
        self,
        options: WatchOptions,
        *,
        on_fatal: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.options = options
        self.roots: list[Path] = projects_dirs(options.claude_dir)
        self.stats = WatchStats()
        self.ready = threading.Event()  # set after the catch-up ingest (or a fatal error)
        self.failure: BaseException | None = None
        self.mode = "native"
        self._on_fatal = on_fatal
        self._queue: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._observer: BaseObserver | None = None
        self._handler: Any = None
        self._overflow: _OverflowHandler | None = None
        self._stopping = threading.Event()
        self._watches: dict[tuple[str, bool], tuple[WatchTarget, ObservedWatch]] = {}
        self._targets: list[WatchTarget] = []  # replaced whole; read by the observer thread
        self._watch_lock = threading.Lock()
        self._dead: set[str] = set()
        self._writer: threading.Thread | None = None
        self._debounce = options.debounce_ms / 1000.0
        self._max_delay = options.max_delay_ms / 1000.0
        self._filters = _event_filters()
        # `<ledger>.watch.state` (cchooks.watch.freshness): idle only while nothing is queued or pending.
        self._state = freshness.WatcherState(options.ledger_path, self.roots)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start observing, then ingest everything once (in the writer thread) and follow changes."""
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class _Handler(FileSystemEventHandler):
            def dispatch(self, event: FileSystemEvent) -> None:
                watcher._on_event(event)

        self._handler = _Handler()
        self._overflow = _OverflowHandler(lambda: self._put((_RESCAN, "")))
        logging.getLogger("watchdog.observers.inotify").addHandler(self._overflow)
        polling = self.options.poll_seconds is not None
        try:
            self._start_observer(polling)
            for t in self.watched():
                if t.recursive:
                    self._check_coverage(t.watch_path)
        except (OSError, NativeObserverUnavailable) as exc:
            if polling:
                raise
            self._fall_back_to_polling(exc)
        freshness.withdraw(self.options.ledger_path)  # one a killed watcher left: not ours to keep
        self._writer = threading.Thread(target=self._run, name="cchooks-watch-writer", daemon=True)
        self._writer.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop observing, ingest whatever is still pending, close the ledger."""
        self._stopping.set()
        self._publish(idle=False)
        obs, self._observer = self._observer, None
        if obs is not None:
            obs.stop()
            obs.join(timeout)
        if self._overflow is not None:
            logging.getLogger("watchdog.observers.inotify").removeHandler(self._overflow)
        self._queue.put((_STOP, ""))
        if self._writer is not None:
            self._writer.join(timeout)

    def watched(self) -> list[WatchTarget]:
        """The directories observed right now."""
        return list(self._targets)

    # -- observer management -----------------------------------------------------------------------
    def _new_observer(self, polling: bool) -> BaseObserver:
        if polling:
            from watchdog.observers.polling import PollingObserver

            self.mode = "polling"
            return PollingObserver(timeout=self.options.poll_seconds or FALLBACK_POLL_SECONDS)
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver as _Polling

        obs: BaseObserver = Observer()
        self.mode = "polling" if isinstance(obs, _Polling) else "native"
        return obs

    def _start_observer(self, polling: bool) -> None:
        obs = self._new_observer(polling)
        obs.start()  # emitters scheduled on a running observer start (and add their watches) at once
        self._observer = obs
        try:
            self._reconcile()
        except BaseException:
            self._observer = None
            with self._watch_lock:
                self._watches.clear()
                self._targets = []
            obs.stop()
            obs.join(10)
            raise

    def _fall_back_to_polling(self, reason: BaseException) -> None:
        if self._stopping.is_set():
            return
        log.warning(
            "native file system events unavailable (%s); polling every %g s instead."
            " On Linux, raise fs.inotify.max_user_watches / max_user_instances (see docs/watch.md)",
            reason, FALLBACK_POLL_SECONDS,
        )  # fmt: skip
        self._publish(idle=False)  # mode changes below: views must not trust a polling watcher
        old, self._observer = self._observer, None
        if old is not None:
            old.stop()
            old.join(10)
        with self._watch_lock:
            self._watches.clear()
            self._targets = []
        self.options.poll_seconds = self.options.poll_seconds or FALLBACK_POLL_SECONDS
        self._start_observer(polling=True)

    def _schedule(self, t: WatchTarget) -> ObservedWatch:
        assert self._observer is not None
        recursive_filter, ancestor_filter = self._filters
        try:
            return self._observer.schedule(
                self._handler, t.watch_path, recursive=t.recursive,
                event_filter=recursive_filter if t.recursive else ancestor_filter,
            )  # fmt: skip
        except OSError as exc:
            if self.mode == "native" and exc.errno in (errno.ENOSPC, errno.EMFILE, errno.ENFILE):
                raise NativeObserverUnavailable(f"{t.watch_path}: {exc}") from exc
            raise

    def _reconcile(self) -> list[Path]:
        """Bring the scheduled watches in line with what exists now; returns projects/ dirs newly watched."""
        obs = self._observer
        if obs is None:
            return []
        added: list[Path] = []
        with self._watch_lock:
            for path in self._dead:
                for key, (t, w) in list(self._watches.items()):
                    if t.watch_path == path:
                        self._unschedule(obs, w)
                        del self._watches[key]
            self._dead.clear()
            failed: set[tuple[str, bool]] = set()
            # Repeat until stable: a directory may appear between looking and watching.
            for _ in range(16):
                desired = {(t.watch_path, t.recursive): t for t in desired_targets(self.roots)}
                remove = [k for k in self._watches if k not in desired]
                add = [k for k in desired if k not in self._watches and k not in failed]
                if not add and not remove:
                    break
                for k in remove:
                    t, w = self._watches.pop(k)
                    self._unschedule(obs, w)
                    log.info("stopped watching %s", t.shown_path)
                for k in add:
                    t = desired[k]
                    try:
                        self._watches[k] = (t, self._schedule(t))
                    except FileNotFoundError:
                        continue  # vanished meanwhile; the next round looks again
                    except NativeObserverUnavailable:
                        raise
                    except OSError as exc:
                        log.error("cannot watch %s: %s", t.shown_path, exc)
                        failed.add(k)
                        continue
                    if t.recursive:
                        added.append(Path(t.shown_path))
                        log.info("watching %s (recursive)", t.shown_path)
                    else:
                        waiting = [str(r) for r in self.roots if str(r).startswith(t.shown_path)]
                        log.info(
                            "%s does not exist yet; watching %s until it appears",
                            ", ".join(waiting),
                            t.shown_path,
                        )
                self._targets = [t for t, _ in self._watches.values()]
        return added

    def _missed_dirs(self, directory: str) -> list[str] | None:
        """Directories under `directory` (a real path inside a recursive watch) that inotify does not watch.

        watchdog adds the watches of a recursive tree itself and silently skips a subdirectory it cannot
        watch, including when fs.inotify.max_user_watches is exhausted; this looks at its bookkeeping
        (private attributes: None when they are not there, e.g. on other platforms or versions).
        """
        obs = self._observer
        if self.mode != "native" or obs is None:
            return None
        with self._watch_lock:
            watch = next(
                (w for t, w in self._watches.values() if t.recursive and _within(directory, t.watch_path)),
                None,
            )
        if watch is None:
            return None
        try:
            emitter = obs._emitter_for_watch[watch]
            watched = emitter._inotify._active_callbacks_by_path  # type: ignore[attr-defined]
        except (AttributeError, KeyError):
            return None
        missed: list[str] = []
        for root, dirnames, _ in os.walk(directory):
            for d in [root, *(os.path.join(root, n) for n in dirnames)]:
                if d != root and os.path.islink(d):
                    continue
                if os.fsencode(d) not in watched and d not in watched and os.path.isdir(d):
                    missed.append(d)
            dirnames[:] = [n for n in dirnames if not os.path.islink(os.path.join(root, n))]
        return missed

    def _check_coverage(self, directory: str) -> None:
        """Raise NativeObserverUnavailable when inotify misses directories under `directory`."""
        missed = self._missed_dirs(directory)
        if missed:
            time.sleep(0.3)  # a directory created this instant may not have its watch yet
            missed = [d for d in self._missed_dirs(directory) or [] if d in missed]
        if missed:
            raise NativeObserverUnavailable(
                f"inotify is not watching {len(missed)} director{'y' if len(missed) == 1 else 'ies'}"
                f" (e.g. {missed[0]}); fs.inotify.max_user_watches is probably exhausted"
            )

    @staticmethod
    def _unschedule(obs: BaseObserver, w: ObservedWatch) -> None:
        with contextlib.suppress(KeyError, ValueError):
            obs.unschedule(w)

    # -- observer thread ---------------------------------------------------------------------------
    def _put(self, item: tuple[str, str]) -> None:
        """Queue an event for the writer, then stop saying idle (views scan again until it is read)."""
        self._queue.put(item)
        self._publish(idle=False)  # after the put: see freshness.WatcherState for why the order matters

    def _publish(self, *, idle: bool) -> None:
        """Tell views (cchooks.watch.freshness) whether everything queued so far has been read."""
        self._state.set(idle, self.mode, lambda: self._queue.empty() and not self._stopping.is_set())

    def _on_event(self, event: FileSystemEvent) -> None:
        try:
            self._classify(event)
        except Exception:  # never let one odd event stop the observer thread
            log.exception("error handling file system event %r", event)

    def _classify(self, event: FileSystemEvent) -> None:
        put = self._put
        targets = self._targets
        roots = self.roots
        etype = event.event_type
        raw_src = os.fsdecode(event.src_path)
        src = translate(raw_src, targets)
        dest = ""
        if etype == "moved" and event.dest_path:
            dest = translate(os.fsdecode(event.dest_path), targets)
        if etype in ("deleted", "moved"):
            if event.is_directory and any(t.watch_path == raw_src for t in targets):
                put((_DEAD, raw_src))
            if on_the_way_to(src, roots):
                put((_RECONCILE, src))
        new = dest if etype == "moved" else src if etype == "created" else ""
        if new and on_the_way_to(new, roots):
            put((_RECONCILE, new))
            return
        if event.is_directory:
            if new and root_of(new, roots) is not None:
                put((_DIR, new))
            return
        if etype in ("created", "modified", "closed"):
            if transcript_kind(src, roots) is not None:
                put((_FILE, src))
        elif etype == "moved":
            if transcript_kind(src, roots) is not None:
                put((_GONE, src))
            if dest and transcript_kind(dest, roots) is not None:
                put((_FILE, dest))
        elif etype == "deleted" and transcript_kind(src, roots) is not None:
            put((_GONE, src))

    # -- writer thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            ledger = Ledger.open(self.options.ledger_path)
        except BaseException as exc:
            self._fail(exc)
            return
        try:
            self._catch_up(ledger)
            self.ready.set()
            self._loop(ledger)
        except _Stopped:
            log.info("stopped during the catch-up ingest; the next start continues where it stopped")
        except BaseException as exc:
            self._fail(exc)
        finally:
            self._publish(idle=False)
            ledger.close()
            self.ready.set()

    def _fail(self, exc: BaseException) -> None:
        self._publish(idle=False)
        self.failure = exc
        log.error("watcher stopped: %s", exc, exc_info=exc)
        self.ready.set()
        if self._on_fatal is not None:
            self._on_fatal(exc)

    def _catch_up(self, ledger: Ledger) -> None:
        t0 = time.perf_counter()

        def progress(_done: int, _total: int) -> None:  # called after each file: a long backfill can stop
            if self._stopping.is_set():
                raise _Stopped

        files = [tf for root in self.roots for tf in discover(root)]
        # In-process parsing (workers=1): forking worker processes from a process with running threads is
        # not worth the risk in a long-lived daemon; the catch-up happens once.
        r = ingest_files(ledger, files, progress, workers=1)
        self.stats.catch_up_seconds = time.perf_counter() - t0
        self._count(r)
        log.info(
            "catch-up: %d of %d transcript file(s) had new bytes (%s bytes, %d responses) in %.2f s",
            r.files_read, r.files_seen, f"{r.bytes_read:,}", r.records, self.stats.catch_up_seconds,
        )  # fmt: skip

    def _count(self, r: IngestResult) -> None:
        self.stats.files_read += r.files_read
        self.stats.bytes_read += r.bytes_read
        self.stats.records += r.records
        for err in r.errors:
            self.stats.errors += 1
            log.warning("%s", err)

    def _loop(self, ledger: Ledger) -> None:
        pending: dict[str, _Pending] = {}
        while True:
            timeout: float | None = None
            if pending:
                nxt = min(p.due(self._debounce, self._max_delay) for p in pending.values())
                timeout = nxt - time.monotonic()
            else:
                self._publish(idle=True)  # every event so far is ingested (unless one is queued)
            item: tuple[str, str] | None
            try:
                if timeout is None:
                    item = self._queue.get()  # blocks with no timeout: idle costs nothing
                elif timeout > 0:
                    item = self._queue.get(timeout=timeout)
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                item = None
            stop = False
            reconcile = False
            rescan = False
            while item is not None:
                kind, path = item
                if kind == _STOP:
                    stop = True
                elif kind == _RESCAN:
                    rescan = True
                elif kind in (_RECONCILE, _DEAD):
                    reconcile = True
                    if kind == _DEAD:
                        with self._watch_lock:
                            self._dead.add(path)
                else:
                    self._accept(kind, path, pending)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            if reconcile and not stop:
                self._rewatch(ledger)
            if rescan:
                log.warning("file system events were lost (inotify queue overflow); scanning everything")
                for root in self.roots:
                    if root.is_dir():
                        self._scan(ledger, root, root)
            self._flush(ledger, pending, everything=stop)
            if stop:
                return

    def _accept(self, kind: str, path: str, pending: dict[str, _Pending]) -> None:
        now = time.monotonic()
        if kind == _GONE:
            pending.pop(path, None)
            return
        p = pending.get(path)
        if p is None:
            pending[path] = _Pending(kind, now, now)
        else:
            p.last = max(p.last, now)
            if kind == _DIR:
                p.kind = _DIR

    def _rewatch(self, ledger: Ledger) -> None:
        try:
            added = self._reconcile()
            for root in added:
                self._check_coverage(os.path.realpath(root))
        except NativeObserverUnavailable as exc:
            self._degrade(ledger, exc)
            return
        for root in added:
            self._scan(ledger, root, root)

    def _degrade(self, ledger: Ledger, reason: BaseException) -> None:
        """Switch to polling and scan everything once (events may have been missed)."""
        self._fall_back_to_polling(reason)
        for root in self.roots:
            if root.is_dir():
                self._scan(ledger, root, root)

    def _scan(self, ledger: Ledger, directory: Path, root: Path) -> IngestResult:
        files = [describe(p) for p in transcripts_under(directory, root)]
        r = ingest_files(ledger, files, workers=1)
        self.stats.scans += 1
        self._count(r)
        if r.files_read:
            log.info(
                "scanned %s: %d new transcript file(s), %d responses", directory, r.files_read, r.records
            )
        return r

    def _flush(self, ledger: Ledger, pending: dict[str, _Pending], *, everything: bool) -> None:
        now = time.monotonic()
        due = [k for k, p in pending.items() if everything or p.due(self._debounce, self._max_delay) <= now]
        if not due:
            return
        t0 = time.perf_counter()
        got = IngestResult()
        for path in due:
            p = pending.pop(path)
            try:
                if p.kind == _DIR:
                    root = root_of(path, self.roots)
                    if root is None:
                        continue
                    try:
                        self._check_coverage(os.path.realpath(path))
                    except NativeObserverUnavailable as exc:
                        self._degrade(ledger, exc)
                    r = self._scan(ledger, Path(path), root)
                else:
                    r = ingest_file(ledger, describe(Path(path)))
                    self._count(r)
            except Exception as exc:
                self.stats.errors += 1
                log.error("ingest of %s failed: %s", path, exc, exc_info=log.isEnabledFor(logging.DEBUG))
                if not everything and p.attempts < MAX_RETRIES:
                    p.attempts += 1
                    p.first = p.last = now + p.attempts  # back off 1 s, 2 s, 3 s
                    pending[path] = p
                continue
            got.merge(r)
        if got.bytes_read:
            self.stats.ingests += 1
            try:
                with ledger.write():
                    ledger.mark_ingested()
            except Exception as exc:  # freshness stamp only; the records are committed
                log.warning("cannot stamp the ledger's ingest time: %s", exc)
            log.debug(
                "ingested %d file(s): %s bytes, %d responses in %.1f ms",
                got.files_read, f"{got.bytes_read:,}", got.records, (time.perf_counter() - t0) * 1000,
            )  # fmt: skip
