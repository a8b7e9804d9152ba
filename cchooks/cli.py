"""The `cchooks` command line: argument parsing and dispatch only.

Each command lives in its own module under `cchooks.commands` exposing
`add_arguments(parser)` and `run(args) -> int`; only the module of the command being
run is imported, so `cchooks hook` and `cchooks statusline` stay cheap. Those two also
have `fast_args(argv)`, which parses their usual command lines without importing argparse
(see `cchooks.commands`); anything it is unsure of goes through argparse.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

# name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "report": ("cchooks.commands.report", "usage and cost reports (daily, weekly, monthly, session, ...)"),
    "ingest": ("cchooks.commands.ingest", "read new transcript bytes into the ledger"),
    "install": ("cchooks.commands.install", "add cchooks' hooks and statusLine to Claude Code settings"),
    "uninstall": ("cchooks.commands.uninstall", "remove exactly what `cchooks install` added"),
    "status": ("cchooks.commands.status", "what is installed where, ledger freshness, problems found"),
    "hook": ("cchooks.commands.hook", "hook entry point called by Claude Code (reads the event on stdin)"),
    "statusline": ("cchooks.commands.statusline", "statusLine command called by Claude Code"),
    "watch": ("cchooks.commands.watch", "observe Claude config dirs and ingest changes as they happen"),
    "serve": ("cchooks.commands.serve", "the local daemon: watcher, OTLP receiver, dashboard and JSON API"),
    "dashboard": ("cchooks.commands.dashboard", "open the dashboard in the browser (starting `cchooks serve`)"),
    "entries": ("cchooks.commands.entries", "manual usage entries: add, list, edit, delete (kept apart)"),
    "service": ("cchooks.commands.service", "install a login service (systemd/launchd) running `cchooks serve`"),
    "limits": ("cchooks.commands.limits", "current 5-hour, weekly and monthly windows against your limits"),
    "monitor": ("cchooks.commands.monitor", "live terminal view of windows, burn rate and sessions"),
    "otlp": ("cchooks.commands.otlp", "OpenTelemetry (OTLP) receiver for Claude Code's telemetry"),
    "reconcile": ("cchooks.commands.reconcile", "compare transcript and OTLP witnesses per session"),
    "launch": ("cchooks.commands.launch", "run `claude` with telemetry sent to a cchooks receiver"),
    "telemetry": ("cchooks.commands.telemetry", "print the environment that turns on Claude Code telemetry"),
    "recover": ("cchooks.commands.recover", "rebuild a damaged ledger, keeping a copy of the old file"),
    "team": ("cchooks.commands.team", "the shared team ledger on PostgreSQL: init, sync, hosts"),
    "import": ("cchooks.commands.imports", "bring in usage other tools kept (ccusage, stats-cache.json, ...)"),
    "analyze": ("cchooks.commands.analyze", "where the tokens go: by agent type, cost analysis, recommendations"),
    "metrics": ("cchooks.commands.metrics", "print the ledger as Prometheus metrics (what /metrics serves)"),
}


# Shown under each command's --help (and in docs/cli.md, which a test keeps equal to --help).
EXAMPLES: dict[str, list[str]] = {
    "report": [
        "cchooks report daily",
        "cchooks report weekly --since 2026-11-01 --tz Europe/Berlin --json",
        "cchooks report session --breakdown",
        "cchooks report blocks --active",
    ],
    "ingest": ["cchooks ingest -v", "cchooks ingest --claude-dir ~/.claude,~/work/.claude --json"],
    "install": ["cchooks install", "cchooks install --scope project --dry-run", "cchooks install --telemetry"],
    "uninstall": ["cchooks uninstall", "cchooks uninstall --scope local"],
    "status": ["cchooks status", "cchooks status --json"],
    "hook": ["echo '{\"transcript_path\": \"...\"}' | cchooks hook PostToolUse"],
    "statusline": ["cchooks statusline --preview"],
    "watch": ["cchooks watch -v"],
    "serve": ["cchooks serve", "cchooks serve --otlp-port 4318", "cchooks serve --host 0.0.0.0 --token $TOKEN"],
    "dashboard": ["cchooks dashboard", "cchooks dashboard --no-browser"],
    "entries": [
        "cchooks entries add 12000 3400 --model claude-opus-5-5 --note 'claude.ai chat'",
        "cchooks entries list --json",
        "cchooks entries delete 3",
    ],
    "service": ["cchooks service install", "cchooks service status"],
    "limits": ["cchooks limits", "cchooks limits --plan max5 --json"],
    "monitor": ["cchooks monitor", "cchooks monitor --once"],
    "otlp": ["cchooks otlp serve", "cchooks otlp serve --port 4318 --token $TOKEN"],
    "reconcile": ["cchooks reconcile", "cchooks reconcile --session SESSION_ID --json"],
    "launch": ["cchooks launch -- -p 'hello'"],
    "telemetry": ["cchooks telemetry env", "eval \"$(cchooks telemetry env)\""],
    "recover": ["cchooks recover", "cchooks recover --ledger ~/backup/ledger.sqlite3 --json"],
    "team": [
        "CCHOOKS_TEAM_URL=postgresql://admin@db.example/cchooks cchooks team init --grants cchooks_sync",
        "cchooks team sync",
        "cchooks team hosts --json",
    ],
    "import": [
        "cchooks import ccusage daily.json session.json",
        "cchooks import ~/.claude/stats-cache.json --dry-run",
        "cchooks import dashboard ~/usage/usage.json --adopt-limits",
    ],
    "analyze": [
        "cchooks analyze",
        "cchooks analyze --breakdown --cost-analysis --since 2026-11-01",
        "cchooks analyze --agent general-purpose --json",
        "cchooks analyze --csv",
    ],
    "metrics": ["cchooks metrics", "cchooks metrics --output /var/lib/node_exporter/textfile/cchooks.prom"],
}

# Exit codes every command shares (cli.main is the one place that maps errors to them).
EXIT_CODES = "exit codes: 0 ok, 1 failed (the message says what to do), 2 bad usage, 130 interrupted"


def command_parser(name: str) -> argparse.ArgumentParser:
    """The argparse parser of one command, with its examples and exit codes under --help."""
    import argparse

    module_name, help_text = COMMANDS[name]
    __import__(module_name)
    module = sys.modules[module_name]
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES.get(name, [])) + "\n\n" + EXIT_CODES
    parser = argparse.ArgumentParser(
        prog=f"cchooks {name}", description=help_text, epilog=epilog, formatter_class=_formatter_class(),
    )  # fmt: skip
    module.add_arguments(parser)
    return parser


def reference() -> str:
    """docs/cli.md: every command's --help, generated (tests/test_cli_convention.py keeps it current)."""
    import os

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal; the page must not depend on it
    try:
        return _reference()
    finally:  # restored: a caller in the same process (a test) must not inherit the width
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def _reference() -> str:
    parts = [
        "# Command reference\n",
        "Generated from `--help` by `python -m cchooks.cli --reference > docs/cli.md`; a test keeps it"
        " current.\n",
        "```text\n" + _top_parser().format_help() + "```\n",
    ]
    for name in COMMANDS:
        parts.append(f"## cchooks {name}\n")
        parts.append("```text\n" + command_parser(name).format_help() + "```\n")
    return "\n".join(parts)


def _terminal_columns() -> int:
    """`shutil.get_terminal_size().columns` without importing shutil (which pulls in bz2, lzma and
    fnmatch): argparse builds a formatter, and asks shutil for the width, at every `add_argument`."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _formatter_class() -> type[argparse.HelpFormatter]:
    import argparse

    class HelpFormatter(argparse.RawDescriptionHelpFormatter):
        def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                     width: int | None = None) -> None:  # fmt: skip
            # argparse would subtract 2 from shutil's width; the same here.
            super().__init__(prog, indent_increment, max_help_position, width or _terminal_columns() - 2)

    return HelpFormatter


def _top_parser() -> argparse.ArgumentParser:
    import argparse

    from cchooks import __version__

    parser = argparse.ArgumentParser(
        prog="cchooks",
        description="Exact token and dollar accounting for Claude Code.",
        formatter_class=_formatter_class(),
        epilog="commands:\n" + "\n".join(f"  {n:<12} {h}" for n, (_, h) in COMMANDS.items()),
    )
    parser.add_argument("--version", action="version", version=f"cchooks {__version__}")
    parser.add_argument("command", nargs="?", help="one of the commands below")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        parser = _top_parser()
        if argv and not argv[0].startswith("-"):
            parser.error(f"unknown command {argv[0]!r}")
        parser.parse_args(argv)
        parser.print_help()
        return 0 if not argv else 2
    name = argv[0]
    module_name, _help = COMMANDS[name]
    __import__(module_name)
    module = sys.modules[module_name]
    fast_args = getattr(module, "fast_args", None)
    args = fast_args(argv[1:]) if fast_args is not None else None
    if args is None:
        args = command_parser(name).parse_args(argv[1:])
    from cchooks.commands import run_command

    return run_command(module, args)


def console() -> None:
    """The `cchooks` console script and `python -m cchooks`: `main()`, then the end of the process
    without the interpreter's teardown (freeing every module one by one: 6-10 ms of a warm report
    of about 100 ms), once nothing else needs it: with another thread still running, the normal
    exit waits for it, as it does under a profiler or debugger (`python -m cProfile -m cchooks`
    writes its report after the module returns); otherwise the exit handlers run (logging,
    temporary files, child processes) and the output is flushed, as at a normal exit."""
    code = main()
    threading = sys.modules.get("threading")
    if (threading is not None and threading.active_count() > 1) or sys.getprofile() or sys.gettrace():
        raise SystemExit(code)  # a thread to wait for, or a profiler/debugger that reports at exit
    import atexit

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # pragma: no cover - not CPython
        raise SystemExit(code)
    run_exit_handlers()
    from cchooks.launch_hot import exit_now

    exit_now(code)


def report_error(exc: BaseException) -> int:
    """Print one line that says what failed and what to do; the exit code for it.

    CCHOOKS_DEBUG=1 prints the traceback as well.
    """
    import os

    if os.environ.get("CCHOOKS_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    message, code = describe_error(exc)
    print(f"cchooks: {message}", file=sys.stderr)
    return code


def describe_error(exc: BaseException) -> tuple[str, int]:
    import sqlite3

    from cchooks.commands.common import CommandError
    from cchooks.config import ConfigError
    from cchooks.ledger.store import LedgerError
    from cchooks.team import TeamError

    if isinstance(exc, CommandError | TeamError):
        return str(exc), getattr(exc, "code", 1)
    if isinstance(exc, ConfigError):
        return f"{exc} (fix the file, or point --config / CCHOOKS_CONFIG at another one)", 1
    if isinstance(exc, LedgerError):
        from cchooks.commands.common import ledger_failure_hint

        text = str(exc)
        if "newer cchooks" in text or "Upgrade" in text or "cannot create" in text:
            return text, 1
        return f"{text}: {ledger_failure_hint(exc)}", 1
    if isinstance(exc, sqlite3.DatabaseError):
        from cchooks.commands.common import ledger_failure_hint

        return f"the ledger cannot be read or written ({exc}): {ledger_failure_hint(exc)}", 1
    if isinstance(exc, UnicodeDecodeError) and isinstance(exc.object, bytes):
        # The driver decodes SQLite's error message, which names schema objects: on a damaged
        # ledger ("malformed database schema (<damaged name>)") that decoding is what fails.
        from cchooks.commands.common import ledger_failure_hint

        said = bytes(exc.object).decode("utf-8", "replace")
        hint = ledger_failure_hint(RuntimeError(said))
        if "damaged" in hint:
            return f"the ledger cannot be read ({said}): {hint}", 1
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        return f"{exc.strerror or exc}{':' if where else ''}{where}", 1
    if isinstance(exc, ValueError):
        return str(exc), 2
    return (
        f"unexpected error: {type(exc).__name__}: {exc} (run with CCHOOKS_DEBUG=1 for details,"
        " and please report it)"
    ), 1


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--reference"]:
        sys.stdout.write(reference())
        sys.exit(0)
    sys.exit(main())
