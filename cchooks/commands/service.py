"""`cchooks service install|uninstall|status`: run `cchooks serve` at login (watcher, OTLP receiver, dashboard) (systemd user unit or launchd).

Exit codes: 0 done (including "written, load it yourself" when no user service manager answers), 1 a
service manager command failed, 2 unsupported platform.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cchooks.commands.common import add_ledger_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["install", "uninstall", "status"])
    add_ledger_args(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="print the service file and commands; change nothing"
    )
    # Generate the other platform's file (for checking it); not for normal use.
    parser.add_argument("--platform", choices=["linux", "darwin"], help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from cchooks.installers import service as svc
    from cchooks.paths import default_ledger_path

    try:
        plat = svc.detect_platform(args.platform)
        spec = svc.ServiceSpec.current(ledger=args.ledger, claude_dir=args.claude_dir)
        if args.action == "install":
            out = svc.install(spec, plat, dry_run=args.dry_run)
        elif args.action == "uninstall":
            out = svc.uninstall(plat, dry_run=args.dry_run)
        else:
            ledger = Path(args.ledger).expanduser() if args.ledger else default_ledger_path()
            out = svc.status(spec, ledger, plat)
    except ValueError as exc:
        print(f"cchooks service: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cchooks service: {exc}", file=sys.stderr)
        return 1
    for line in out.lines:
        print(line)
    return 0 if out.ok else 1
