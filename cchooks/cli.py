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
    "service": ("cchooks.commands.service", "install a login service (systemd/launchd) running `cchooks watch`"),
    "limits": ("cchooks.commands.limits", "current 5-hour, weekly and monthly windows against your limits"),
    "monitor": ("cchooks.commands.monitor", "live terminal view of windows, burn rate and sessions"),
    "otlp": ("cchooks.commands.otlp", "OpenTelemetry (OTLP) receiver for Claude Code's telemetry"),
    "reconcile": ("cchooks.commands.reconcile", "compare transcript and OTLP witnesses per session"),
    "launch": ("cchooks.commands.launch", "run `claude` with telemetry sent to a cchooks receiver"),
    "telemetry": ("cchooks.commands.telemetry", "print the environment that turns on Claude Code telemetry"),
}


def _top_parser() -> argparse.ArgumentParser:
    import argparse

    from cchooks import __version__

    parser = argparse.ArgumentParser(
        prog="cchooks",
        description="Exact token and dollar accounting for Claude Code.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    module_name, help_text = COMMANDS[name]
    __import__(module_name)
    module = sys.modules[module_name]
    fast_args = getattr(module, "fast_args", None)
    args = fast_args(argv[1:]) if fast_args is not None else None
    if args is None:
        import argparse

        parser = argparse.ArgumentParser(prog=f"cchooks {name}", description=help_text)
        module.add_arguments(parser)
        args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
