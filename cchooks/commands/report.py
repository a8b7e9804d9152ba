"""`cchooks report daily|weekly|monthly|session|project|model|agent`."""

from __future__ import annotations

import argparse
import sys

from cchooks.commands.common import add_ledger_args, ingest_or_warn

CHOICES = {
    "daily": "daily", "weekly": "weekly", "monthly": "monthly", "session": "session",
    "project": "project", "model": "model", "agent": "agent", "blocks": "blocks",
}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=list(CHOICES), help="how to group the report")
    add_ledger_args(parser)
    parser.add_argument("--since", help="first local day (YYYY-MM-DD) or ISO timestamp")
    parser.add_argument("--until", help="last local day (inclusive) or ISO timestamp")
    parser.add_argument("--tz", help="IANA time zone for day boundaries (default: local)")
    parser.add_argument("--session", help="only this session id")
    parser.add_argument("--project", help="only this project (cwd)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON")
    fmt.add_argument("--csv", action="store_true", help="CSV")
    parser.add_argument("--breakdown", action="store_true", help="per-model rows")
    parser.add_argument("--no-ingest", action="store_true", help="query the ledger as it is")
    parser.add_argument("--active", action="store_true", help="blocks: only the active block")
    parser.add_argument("--verbose", "-v", action="store_true")


def run(args: argparse.Namespace) -> int:
    if args.kind == "blocks":
        from cchooks.commands.blocks import run_blocks

        return run_blocks(args)
    from cchooks.api import price_table, report
    from cchooks.config import ConfigError, load_raw
    from cchooks.ledger import Ledger, LedgerError
    from cchooks.reports.render import render_csv, render_json, render_table

    try:
        raw = load_raw()
        ledger = Ledger.open(args.ledger)
    except (ConfigError, LedgerError) as exc:
        print(f"cchooks: {exc}", file=sys.stderr)
        return 1
    with ledger:
        if not args.no_ingest:
            ingest_or_warn(ledger, args.claude_dir, args.verbose, show_progress=not (args.json or args.csv))
        tz = args.tz or (raw.get("report") or {}).get("timezone")
        try:
            rep = report(
                ledger, CHOICES[args.kind], tz=tz, since=args.since, until=args.until,
                session_id=args.session, project=args.project,
                prices=price_table(ledger, raw.get("prices") or {}),
            )  # fmt: skip
        except ValueError as exc:
            print(f"cchooks: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(render_json(rep, args.breakdown))
    elif args.csv:
        sys.stdout.write(render_csv(rep, args.breakdown))
    else:
        print(render_table(rep, args.breakdown))
    return 0
