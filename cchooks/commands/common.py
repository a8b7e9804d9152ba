"""Arguments and helpers shared by several commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The flags several commands share, each declared once here with its help text.
LEDGER_HELP = "ledger file (default: $CCHOOKS_LEDGER, else ledger.sqlite3 in the user data dir)"
CLAUDE_DIR_HELP = (
    "Claude config dir(s) whose transcripts to read, comma-separated; each must exist"
    " (default: $CLAUDE_CONFIG_DIR, else ~/.config/claude and ~/.claude)"
)
CONFIG_HELP = "cchooks config file (default: $CCHOOKS_CONFIG, else config.toml in the user config dir)"


def add_common(
    parser: argparse.ArgumentParser, *, ledger: bool = True, claude_dir: bool = True, config: bool = True
) -> None:
    """Add the shared flags a command uses: --ledger, --claude-dir (transcripts) and --config."""
    if ledger:
        parser.add_argument("--ledger", metavar="PATH", help=LEDGER_HELP)
    if claude_dir:
        parser.add_argument("--claude-dir", metavar="DIRS", help=CLAUDE_DIR_HELP)
    if config:
        parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)


def add_ledger_args(parser: argparse.ArgumentParser) -> None:
    """--ledger and --claude-dir, for commands that read no config (see add_common)."""
    add_common(parser, config=False)


def check_claude_dirs(claude_dir: str | None) -> list[str]:
    """The config dirs to read. A --claude-dir entry that does not exist is an error (exit 2); when
    none of the default places exists, the returned note says where cchooks looked."""
    import os

    from cchooks.paths import claude_config_dir_strs

    dirs = claude_config_dir_strs(claude_dir)
    if claude_dir:
        missing = [d for d in dirs if not os.path.isdir(d)]
        if missing:
            raise CommandError(f"--claude-dir: no such directory: {', '.join(missing)}", 2)
        return []
    if not any(os.path.isdir(d) for d in dirs):
        where = ", ".join(dirs)
        source = "CLAUDE_CONFIG_DIR" if os.environ.get("CLAUDE_CONFIG_DIR") else "the default places"
        return [
            f"no Claude config dir found (looked in {source}: {where}); "
            "run Claude Code once, or point --claude-dir / CLAUDE_CONFIG_DIR at your config dir"
        ]
    return []


def progress_printer(
    enabled: bool,
) -> tuple[Callable[[int, int], None] | None, Callable[[], None] | None]:
    """A progress(done, total) callback that shows a rich bar on a terminal for long backfills."""
    if not enabled or not sys.stderr.isatty():
        return None, None
    bar: Any = None
    task: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            if total < (64 << 20):
                return
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

            bar = Progress(
                "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                TimeRemainingColumn(), transient=True,
            )  # fmt: skip
            bar.start()
            task = bar.add_task("backfilling ledger", total=total)
        bar.update(task, completed=done)

    def finish() -> None:
        if bar is not None:
            bar.stop()

    return progress, finish


def _read_only(path: str | None) -> bool:
    import os

    from cchooks.paths import default_ledger_file

    p = os.path.expanduser(path) if path else default_ledger_file()
    for target in (p, os.path.dirname(p) or "."):
        try:
            if os.statvfs(target).f_flag & os.ST_RDONLY:
                return True
        except OSError:
            continue
    return os.path.exists(p) and not os.access(p, os.W_OK)


def ledger_failure_hint(exc: BaseException, path: str | None = None) -> str:
    """What to do about a ledger that cannot be written or read, in a few words."""
    text = str(exc).lower()
    if path is not None and _read_only(path):
        text += " read-only"
    if "locked" in text or "busy" in text:
        return "another cchooks is writing it; try again in a moment"
    if "full" in text or "too large" in text or "no space" in text:
        return "the disk is full; free some space"
    if "i/o error" in text:
        return "writing the ledger failed (a full or failing disk); free some space or check the disk"
    if "readonly" in text or "read-only" in text or "permission" in text:
        return "the ledger file or its folder is read-only; fix its permissions or pass --ledger"
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return "the ledger file is damaged; `cchooks recover` rebuilds it and keeps a copy of the old file"
    return "`cchooks status` checks the ledger"


VIEW_BUSY_MS = 5_000


def open_for_view(path: str | None) -> Any:
    """Open the ledger for a view. When it cannot be opened for writing (read-only, disk full,
    locked) but can be read, open it read-only: the view shows what it holds and says why it
    could not be updated. Raises LedgerError when it cannot be read at all."""
    from cchooks.ledger import Ledger, LedgerError

    try:
        # The rollup's TEMP triggers (~1.5 ms) are made by the first write(), if the view writes at all.
        return Ledger.open(path, lazy_triggers=True)
    except LedgerError as exc:
        try:
            ledger = Ledger.open(path, readonly=True)
            ledger.probe()
        except Exception:
            raise exc from None
        print(f"cchooks: cannot update the ledger ({exc}); showing what it holds: {ledger_failure_hint(exc, path)}",
              file=sys.stderr)  # fmt: skip
        ledger.readonly = True
        return ledger


def ingest_or_warn(ledger, claude_dir, verbose: bool = False, show_progress: bool = True, trust_watcher: bool = False):  # type: ignore[no-untyped-def]
    """Ingest every config dir before a view; problems go to stderr, never abort the view.

    When the ledger cannot be written (read-only, disk full, locked, damaged), one line says what
    failed and what to do, and the view goes on with what the ledger holds. With `trust_watcher`
    (views), a running `cchooks watch`/`serve` that has read everything spares the scan
    (cchooks.watch.freshness).
    """
    from cchooks.ledger.driver import sqlite3
    from cchooks.ledger.ingest import IngestResult, ingest_config_dirs

    for note in check_claude_dirs(claude_dir):
        print(f"cchooks: {note}", file=sys.stderr)
    if getattr(ledger, "readonly", False):
        return IngestResult()
    if trust_watcher:
        pid = vouching_watcher(ledger, claude_dir)
        if pid is not None:
            if verbose:
                print(f"cchooks: the running watcher (pid {pid}) has read every transcript; not scanning",
                      file=sys.stderr)  # fmt: skip
            return IngestResult()
    progress, finish = progress_printer(show_progress)
    # A view waits a few seconds for another writer, not the ledger's 30 s: it can show the data anyway.
    ledger.set_busy_timeout(VIEW_BUSY_MS)
    try:
        result = ingest_config_dirs(ledger, claude_dir, progress)
    except (sqlite3.Error, OSError) as exc:
        print(f"cchooks: could not update the ledger ({exc}); showing what it holds: {ledger_failure_hint(exc)}",
              file=sys.stderr)  # fmt: skip
        return IngestResult()
    finally:
        if finish:
            finish()
    for err in result.errors:
        print(f"cchooks: {err}", file=sys.stderr)
    bad = result.stats.malformed + result.stats.non_utf8
    if bad and verbose:
        print(f"cchooks: skipped {bad} malformed line(s)", file=sys.stderr)
    return result


def vouching_watcher(ledger: Any, claude_dir: str | None) -> int | None:
    """The pid of a running watcher that has read every transcript of `claude_dir` (views then
    skip their scan), or None."""
    try:
        from cchooks.paths import projects_dir_strs
        from cchooks.watch.freshness import vouching_watcher as from_state
    except ImportError:  # no fcntl (Windows): no watcher to ask
        return None
    try:
        return from_state(ledger.path_str, projects_dir_strs(claude_dir))
    except OSError:
        return None


class CommandError(Exception):
    """A problem to print as `cchooks: <message>` and exit with `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def open_view(
    ledger_path: str | None, plan: str | None = None, tz: str | None = None, config: str | None = None
) -> tuple[Any, Any]:
    """Open the ledger and load the window view context (config, plan, zone) for a view command.

    Raises CommandError (exit 1 for ledger/config problems, 2 for a bad --tz/--plan value).
    The caller closes the returned ledger.
    """
    from cchooks.config import ConfigError
    from cchooks.ledger import LedgerError
    from cchooks.monitor.data import ViewContext

    try:
        ledger = open_for_view(ledger_path)
    except LedgerError as exc:
        raise CommandError(f"{exc}: {ledger_failure_hint(exc)}") from exc
    try:
        return ledger, ViewContext.load(ledger, plan=plan, tz=tz, config=config)
    except ConfigError:
        ledger.close()
        raise  # cli.main words it, as for every command
    except ValueError as exc:
        ledger.close()
        raise CommandError(str(exc), 2) from exc
