"""`cchooks report daily|weekly|monthly|session|project|model|agent`."""

from __future__ import annotations

import argparse
import sys

from cchooks.commands.common import CommandError, add_common, ingest_or_warn

CHOICES = {
    "daily": "daily", "weekly": "weekly", "monthly": "monthly", "session": "session",
    "project": "project", "model": "model", "agent": "agent", "blocks": "blocks",
}  # fmt: skip


# Flags that apply to some report kinds only; any other kind rejects them (exit 2).
ONLY_FOR = {
    "active": ("blocks",),
    "session": tuple(k for k in CHOICES if k != "blocks"),
    "project": tuple(k for k in CHOICES if k != "blocks"),
    "breakdown": tuple(k for k in CHOICES if k != "blocks"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=list(CHOICES), help="how to group the report")
    add_common(parser)
    parser.add_argument("--since", help="first local day (YYYY-MM-DD) or ISO timestamp")
    parser.add_argument("--until", help="last local day (inclusive) or ISO timestamp")
    parser.add_argument("--tz", help="IANA time zone for day boundaries (default: config, else local)")
    parser.add_argument("--session", help="only this session id (not for blocks)")
    parser.add_argument("--project", help="only this project (cwd; not for blocks)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON (docs/json.md)")
    fmt.add_argument("--csv", action="store_true", help="CSV")
    parser.add_argument("--breakdown", action="store_true", help="per-model rows (not for blocks)")
    parser.add_argument("--no-ingest", action="store_true", help="query the ledger as it is")
    parser.add_argument("--active", action="store_true", help="blocks only: just the active block")
    parser.add_argument("--verbose", "-v", action="store_true", help="say how many malformed lines were skipped")


def check_flags(args: argparse.Namespace) -> None:
    """Reject a flag that does not apply to this kind of report, rather than ignore it."""
    for flag, kinds in ONLY_FOR.items():
        if getattr(args, flag, None) and args.kind not in kinds:
            raise CommandError(
                f"report {args.kind}: --{flag} applies only to report {' / '.join(kinds)}", 2
            )


def run(args: argparse.Namespace) -> int:
    check_flags(args)
    if args.kind == "blocks":
        from cchooks.commands.blocks import run_blocks

        return run_blocks(args)
    from cchooks.config import load_config
    from cchooks.reports.query import build
    from cchooks.reports.render import render_csv, render_json, render_table

    cfg = load_config(args.config)
    from cchooks.commands.common import open_for_view

    ledger = open_for_view(args.ledger)
    with ledger:
        if not args.no_ingest:
            ingest_or_warn(ledger, args.claude_dir, args.verbose, show_progress=not (args.json or args.csv))
        try:
            rep = build(ledger, cfg, CHOICES[args.kind], tz=args.tz, since=args.since, until=args.until,
                        session=args.session, project=args.project)  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc), 2) from None
    if args.json:
        print(render_json(rep, args.breakdown))
    elif args.csv:
        sys.stdout.write(render_csv(rep, args.breakdown))
    else:
        print(render_table(rep, args.breakdown))
    return 0
