"""`cchooks limits`: the current 5-hour window, week and month against your plan's limits.

`--json` prints `cchooks.windows.limits_summary` as is. Exit codes: 0, 1 ledger or config unusable,
2 bad argument (unknown zone or plan).
"""

from __future__ import annotations

import argparse
import json
import sys

from cchooks.commands.common import add_common, ingest_or_warn

PLAN_CHOICES = ["auto", "pro", "max5", "max20", "custom"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable JSON (limits_summary)")
    parser.add_argument(
        "--plan", choices=PLAN_CHOICES,
        help="plan whose limits to use (default: [limits] plan in the config, else auto = learned)",
    )  # fmt: skip
    parser.add_argument("--tz", help="IANA time zone for week/month boundaries (default: config, else local)")
    parser.add_argument("--no-ingest", action="store_true", help="query the ledger as it is")
    parser.add_argument("--verbose", "-v", action="store_true")


def run(args: argparse.Namespace) -> int:
    from cchooks.commands.common import CommandError, open_view
    from cchooks.monitor.text import render_limits
    from cchooks.reports.query import limits_document

    try:
        ledger, ctx = open_view(args.ledger, plan=args.plan, tz=args.tz, config=args.config)
    except CommandError as exc:
        print(f"cchooks: {exc}", file=sys.stderr)
        return exc.code
    with ledger:
        if not args.no_ingest:
            ingest_or_warn(ledger, args.claude_dir, args.verbose, show_progress=not args.json)
        result = limits_document(ledger, ctx)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(render_limits(result, ctx.tz, _width()))
    return 0


def _width() -> int:
    import shutil

    return max(60, min(shutil.get_terminal_size((80, 24)).columns, 100))
