"""`cchooks team init|sync|hosts`: the shared PostgreSQL ledger of many machines (docs/team.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cchooks.commands.common import CommandError, add_common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    init = sub.add_parser(
        "init", help="create or migrate the team ledger's schema (run once, by a role that may create it)"
    )
    add_common(init, ledger=False, claude_dir=False)
    init.add_argument(
        "--grants", metavar="ROLE", help="also print the least-privilege GRANTs for a syncing role ROLE"
    )
    sync = sub.add_parser("sync", help="push what the local ledger has that the team ledger has not")
    add_common(sync)
    sync.add_argument("--no-ingest", action="store_true", help="push the ledger as it is, without reading transcripts")
    sync.add_argument("--json", action="store_true", help="print the counts as JSON")
    hosts = sub.add_parser("hosts", help="the machines syncing into the team ledger, last seen, totals")
    add_common(hosts, claude_dir=False)
    hosts.add_argument("--json", action="store_true", help="machine-readable JSON (docs/json.md)")


def settings_or_fail(config: str | None, *, hot: bool = False) -> tuple[Any, Any]:
    """(Config, TeamSettings); CommandError when no team is configured. With `hot` the config is
    the plain dict of `load_config_hot` (reports: no pydantic import, ~100 ms less per process)."""
    from cchooks.config import load_config, load_config_hot
    from cchooks.team.settings import ENV_URL, team_settings

    cfg = load_config_hot(config) if hot else load_config(config)
    settings = team_settings(cfg)
    if settings is None:
        raise CommandError(f'no team ledger configured: set [team] url = "postgresql://…" or ${ENV_URL}')
    return cfg, settings


def run(args: argparse.Namespace) -> int:
    if args.action == "init":
        return _init(args)
    if args.action == "sync":
        return _sync(args)
    return _hosts(args)


def _init(args: argparse.Namespace) -> int:
    from cchooks.team.pg import connect
    from cchooks.team.schema import grant_sql, migrate

    _cfg, settings = settings_or_fail(args.config)
    conn = connect(settings, check_schema=False)
    try:
        try:
            before, after = migrate(conn, settings.target)
        except Exception as exc:
            from cchooks.team import TeamError
            from cchooks.team.pg import first_line

            if isinstance(exc, TeamError):
                raise
            raise TeamError(f"team init on {settings.target} failed: {first_line(exc)}") from None
    finally:
        conn.close()
    if before == after:
        print(f"team ledger {settings.target}: schema is current (version {after})")
    else:
        print(f"team ledger {settings.target}: schema version {before} -> {after}")
    if args.grants:
        sys.stdout.write(grant_sql(args.grants))
    return 0


def _sync(args: argparse.Namespace) -> int:
    from cchooks.commands.common import ingest_or_warn
    from cchooks.ledger import Ledger
    from cchooks.team.sync import TeamSync

    cfg, settings = settings_or_fail(args.config)
    if not args.no_ingest:
        with Ledger.open(args.ledger) as ledger:
            ingest_or_warn(ledger, args.claude_dir, show_progress=not args.json)
    syncer = TeamSync(settings, args.ledger, cfg)
    try:
        r = syncer.sync_once()
    finally:
        syncer.close()
    if args.json:
        from cchooks.totals import SCHEMA_VERSION

        print(json.dumps({
            "schema_version": SCHEMA_VERSION, "team": settings.target, "pushed": r.pushed,
            "deleted": r.deleted, "batches": r.batches, "retries": r.retries, "pending": r.pending,
            "seconds": round(r.seconds, 3),
        }, indent=2))  # fmt: skip
    else:
        print(f"team ledger {settings.target}: pushed {r.pushed:,} response(s) in {r.seconds:.2f} s"
              + (f", {r.deleted} removed" if r.deleted else ""))  # fmt: skip
    return 0


def _hosts(args: argparse.Namespace) -> int:
    from cchooks.api import price_table
    from cchooks.ledger import Ledger, team_queue
    from cchooks.team.pg import connect
    from cchooks.team.view import priced_hosts
    from cchooks.timezones import resolve_tz
    from cchooks.totals import SCHEMA_VERSION

    cfg, settings = settings_or_fail(args.config)
    with Ledger.open(args.ledger) as ledger:
        prices = price_table(ledger, cfg.price_overrides())
        mine = team_queue.machine_id(ledger)
    conn = connect(settings)
    try:
        hosts, totals = priced_hosts(conn, prices, resolve_tz(cfg.report.timezone), mine)
    finally:
        conn.close()
    out = [h.to_json() for h in hosts]
    if args.json:
        print(json.dumps({"schema_version": SCHEMA_VERSION, "team": settings.target, "hosts": out,
                          "totals": totals.to_json()}, indent=2))  # fmt: skip
        return 0
    from datetime import datetime

    print(f"team ledger {settings.target}: {len(out)} machine(s)")
    print(f"{'label':<20} {'user':<12} {'last seen':<17} {'responses':>10} {'tokens':>14} {'cost':>11}")
    for h in out:
        seen = datetime.fromtimestamp(h["last_seen_ms"] / 1000).strftime("%Y-%m-%d %H:%M")
        cost = "?" if h["cost_usd"] is None else f"${h['cost_usd']:,.2f}"
        mark = "*" if h["this_machine"] else " "
        print(f"{(h['label'] + mark)[:20]:<20} {h['user'][:12]:<12} {seen:<17} {h['responses']:>10,}"
              f" {h['total_tokens']:>14,} {cost:>11}")  # fmt: skip
    return 0
