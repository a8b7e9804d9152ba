"""Arguments and helpers shared by several commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
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

    from cchooks.paths import claude_config_dirs

    dirs = claude_config_dirs(claude_dir)
    if claude_dir:
        missing = [str(d) for d in dirs if not d.is_dir()]
        if missing:
            raise CommandError(f"--claude-dir: no such directory: {', '.join(missing)}", 2)
        return []
    if not any(d.is_dir() for d in dirs):
        where = ", ".join(str(d) for d in dirs)
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


def ingest_or_warn(ledger, claude_dir, verbose: bool = False, show_progress: bool = True):  # type: ignore[no-untyped-def]
    """Ingest every config dir before a view; problems go to stderr, never abort the view."""
    from cchooks.ledger.ingest import ingest_config_dirs

    for note in check_claude_dirs(claude_dir):
        print(f"cchooks: {note}", file=sys.stderr)
    progress, finish = progress_printer(show_progress)
    try:
        result = ingest_config_dirs(ledger, claude_dir, progress)
    finally:
        if finish:
            finish()
    for err in result.errors:
        print(f"cchooks: {err}", file=sys.stderr)
    bad = result.stats.malformed + result.stats.non_utf8
    if bad and verbose:
        print(f"cchooks: skipped {bad} malformed line(s)", file=sys.stderr)
    return result


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
    from cchooks.ledger import Ledger, LedgerError
    from cchooks.monitor.data import ViewContext

    try:
        ledger = Ledger.open(ledger_path)
    except LedgerError as exc:
        raise CommandError(str(exc)) from exc
    try:
        return ledger, ViewContext.load(ledger, plan=plan, tz=tz, config=config)
    except ConfigError:
        ledger.close()
        raise  # cli.main words it, as for every command
    except ValueError as exc:
        ledger.close()
        raise CommandError(str(exc), 2) from exc
