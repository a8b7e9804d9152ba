"""`cchooks limits`: the current 5-hour window, week and month against your plan's limits.

`--json` prints `cchooks.windows.limits_summary` as is. Exit codes: 0, 1 ledger or config unusable,
2 bad argument (unknown zone or plan).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

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
    parser.add_argument(
        "--team", action="store_true",
        help="the shared windows of every machine in the team ledger ([team] url / $CCHOOKS_TEAM_URL)",
    )  # fmt: skip


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
            ingest_or_warn(ledger, args.claude_dir, args.verbose, show_progress=not args.json, trust_watcher=True)
        team = None
        if args.team:
            from cchooks.monitor.data import now_ms, summary

            now = now_ms()
            data, team = _team_data(args, ledger, now)
            result = summary(ctx, data, now)
            result["team"] = team
        else:
            result = limits_document(ledger, ctx)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        if team:
            print(f"team ledger {team}: every machine's usage")
        print(render_limits(result, ctx.tz, _width()))
    return 0


def _team_data(args: argparse.Namespace, ledger: Any, now: int) -> tuple[Any, str]:
    """Every machine's responses of the window history from the team ledger, with this machine's
    rate-limit snapshots (Claude Code's official figures are per account: any machine's hold)."""
    from cchooks.commands.team import settings_or_fail
    from cchooks.monitor.data import DAY_MS, HISTORY_DAYS, WindowData
    from cchooks.team.pg import connect
    from cchooks.team.queries import window_records

    _cfg, settings = settings_or_fail(args.config, hot=True)
    since = now - HISTORY_DAYS * DAY_MS
    conn = connect(settings)
    try:
        records = window_records(conn, since)
    finally:
        conn.close()
    return WindowData(records, ledger.rate_limit_snapshots(since_ms=since)), settings.target


def _width() -> int:
    import shutil

    return max(60, min(shutil.get_terminal_size((80, 24)).columns, 100))
