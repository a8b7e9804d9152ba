"""`cchooks analyze`: tokens and cost by agent type, cost analysis, recommendations (docs/analyze.md)."""

from __future__ import annotations

import argparse

from cchooks.commands.common import CommandError, add_common, ingest_or_warn

CSV_DIR = "analysis-reports"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="tokens and cost by agent type (main thread and each subagent type)",
    )
    parser.add_argument(
        "--cost-analysis",
        action="store_true",
        help="cost by token type, caching savings, model mix, long context",
    )
    parser.add_argument(
        "--recommend",
        action="store_true",
        help="recommendations with evidence (all three sections when none is named)",
    )
    parser.add_argument("--agent", metavar="TYPE", help="only this agent type (`main` for the main thread)")
    parser.add_argument("--since", help="first local day (YYYY-MM-DD) or ISO timestamp")
    parser.add_argument("--until", help="last local day (inclusive) or ISO timestamp")
    parser.add_argument("--tz", help="IANA time zone for day boundaries (default: config, else local)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON (docs/json.md)")
    fmt.add_argument(
        "--csv", action="store_true", help=f"write ./{CSV_DIR}/token-usage-<time>.csv and print its path"
    )
    parser.add_argument("--no-ingest", action="store_true", help="query the ledger as it is")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from cchooks.analysis import SECTIONS, analyze, render_text
    from cchooks.api import price_table
    from cchooks.config import load_config
    from cchooks.ledger import Ledger
    from cchooks.ledger.analysis import Scope
    from cchooks.timezones import parse_day_bound, resolve_tz

    cfg = load_config(args.config)
    try:
        zone = resolve_tz(args.tz or cfg.report.timezone)
        since = parse_day_bound(args.since, zone) if args.since else None
        until = parse_day_bound(args.until, zone, end=True) if args.until else None
    except ValueError as exc:
        raise CommandError(str(exc), 2) from None
    chosen = tuple(
        s for s, on in zip(SECTIONS, (args.breakdown, args.cost_analysis, args.recommend), strict=True) if on
    )
    with Ledger.open(args.ledger) as ledger:
        if not args.no_ingest:
            ingest_or_warn(ledger, args.claude_dir, show_progress=not (args.json or args.csv), trust_watcher=True)
        doc = analyze(
            ledger,
            price_table(ledger, cfg.price_overrides()),
            Scope(since, until, args.agent),
            chosen or SECTIONS,
        )
    if args.json:
        print(json.dumps(doc, indent=2))
    elif args.csv:
        print(write_csv(doc))
    else:
        sys.stdout.write(render_text(doc) + "\n")
    return 0


def write_csv(doc: dict[str, object]) -> str:
    """Write the CSV report atomically under ./analysis-reports/; returns its path."""
    import csv
    import io
    import os
    import time

    from cchooks.analysis import CSV_FIELDS, csv_rows

    os.makedirs(CSV_DIR, exist_ok=True)
    path = os.path.join(CSV_DIR, f"token-usage-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.csv")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerows(csv_rows(doc))
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
    os.replace(tmp, path)
    return path
