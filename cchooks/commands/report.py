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
    "team": tuple(k for k in CHOICES if k != "blocks"),
    "by": tuple(k for k in CHOICES if k != "blocks"),
    "imported": tuple(k for k in CHOICES if k != "blocks"),
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
    parser.add_argument(
        "--imported", action="store_true",
        help="also list usage brought in by `cchooks import`, marked and outside the totals (not for blocks)",
    )  # fmt: skip
    parser.add_argument("--no-ingest", action="store_true", help="query the ledger as it is")
    parser.add_argument("--active", action="store_true", help="blocks only: just the active block")
    parser.add_argument("--verbose", "-v", action="store_true", help="say how many malformed lines were skipped")
    parser.add_argument(
        "--team", action="store_true",
        help="report the team ledger ([team] url / $CCHOOKS_TEAM_URL): every machine's synced usage",
    )  # fmt: skip
    parser.add_argument("--by", choices=["host", "user"], help="with --team: one row per period and machine or user")


def check_flags(args: argparse.Namespace) -> None:
    """Reject a flag that does not apply to this kind of report, rather than ignore it."""
    for flag, kinds in ONLY_FOR.items():
        if getattr(args, flag, None) and args.kind not in kinds:
            raise CommandError(
                f"report {args.kind}: --{flag} applies only to report {' / '.join(kinds)}", 2
            )


def run(args: argparse.Namespace) -> int:
    check_flags(args)
    if args.by and not args.team:
        raise CommandError("report: --by applies only with --team", 2)
    if args.team:
        for flag in ("session", "project", "no_ingest"):
            if getattr(args, flag, None):
                raise CommandError(f"report --team: --{flag.replace('_', '-')} does not apply to the team ledger", 2)
        return _team(args)
    if args.kind == "blocks":
        from cchooks.commands.blocks import run_blocks

        return run_blocks(args)
    from cchooks.config import hot_price_overrides, load_config_hot
    from cchooks.reports.make import price_table
    from cchooks.reports.query import build
    from cchooks.reports.render import render_csv, render_json, render_table

    # The cached plain form of the config: no pydantic import on a report (~25 ms).
    cfg = load_config_hot(args.config)
    zone_name = args.tz or cfg["report"]["timezone"]
    overrides = hot_price_overrides(cfg)
    from cchooks.commands.common import open_for_view

    ledger = open_for_view(args.ledger)
    with ledger:
        if not args.no_ingest:
            ingest_or_warn(
                ledger, args.claude_dir, args.verbose, show_progress=not (args.json or args.csv), trust_watcher=True
            )
        try:
            rep = build(ledger, cfg, CHOICES[args.kind], tz=zone_name, since=args.since, until=args.until,
                        session=args.session, project=args.project)  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc), 2) from None
        stored = _imported(ledger, args, zone_name) if args.imported else None
    prices = price_table(None, overrides) if stored is not None else None
    if args.json:
        if stored is None or prices is None:
            print(render_json(rep, args.breakdown))
        else:
            import json

            from cchooks.reports.imported import section

            doc = rep.to_json(args.breakdown)
            doc["imported"] = section(stored, prices)
            print(json.dumps(doc, indent=2))
    elif args.csv:
        sys.stdout.write(render_csv(rep, args.breakdown))
    else:
        print(render_table(rep, args.breakdown))
        if stored is not None and prices is not None:
            from cchooks.reports.imported import render_text

            print(render_text(stored, prices))
    return 0


def _team(args: argparse.Namespace) -> int:
    """The same report, read from the team ledger's rollup and priced here with PriceTable.cost."""
    from cchooks.api import price_table
    from cchooks.commands.team import settings_or_fail
    from cchooks.config import hot_price_overrides
    from cchooks.ledger import Ledger
    from cchooks.reports.build import report_from_sums
    from cchooks.reports.render import render_csv, render_json, render_table
    from cchooks.team.pg import connect
    from cchooks.team.queries import labels, team_sums
    from cchooks.timezones import parse_day_bound, resolve_tz

    cfg, settings = settings_or_fail(args.config, hot=True)
    try:
        tz = resolve_tz(args.tz or cfg["report"]["timezone"])
        since = parse_day_bound(args.since, tz) if args.since else None
        until = parse_day_bound(args.until, tz, end=True) if args.until else None
    except ValueError as exc:
        raise CommandError(str(exc), 2) from None
    with Ledger.open(args.ledger) as ledger:
        prices = price_table(ledger, hot_price_overrides(cfg))
    conn = connect(settings)
    try:
        sums = team_sums(conn, args.kind, tz, since, until, prices.long_context_threshold, by=args.by)
        names = labels(conn) if args.by == "host" else {}
    finally:
        conn.close()
    if args.by == "host":
        rep = report_from_sums(args.kind, sums, prices, by=lambda m: {"host": names.get(m, m), "machine_id": m})
    elif args.by == "user":
        rep = report_from_sums(args.kind, sums, prices, by=lambda u: {"user": u})
    else:
        rep = report_from_sums(args.kind, sums, prices)
    if args.kind == "session":
        rep.rows.sort(key=lambda r: r.totals.last_ms or 0)
    if args.json:
        print(render_json(rep, args.breakdown))
    elif args.csv:
        sys.stdout.write(render_csv(rep, args.breakdown))
    else:
        print(render_table(rep, args.breakdown))
    return 0


def _imported(ledger, args: argparse.Namespace, zone_name):  # type: ignore[no-untyped-def]
    """Imported entries overlapping the report's period (all of them without --since/--until)."""
    from cchooks.ledger.imports import imported
    from cchooks.timezones import parse_day_bound, resolve_tz

    zone = resolve_tz(zone_name)
    since = parse_day_bound(args.since, zone) if args.since else None
    until = parse_day_bound(args.until, zone, end=True) if args.until else None
    return imported(ledger, since, until)
