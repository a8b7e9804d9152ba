"""`cchooks metrics`: the Prometheus exposition of the ledger, printed once (for node_exporter's
textfile collector or a cron job); `cchooks serve` serves the same text at GET /metrics.

docs/prometheus.md lists every metric. `--output FILE` replaces FILE atomically, so a collector
never reads half a file.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cchooks.commands.common import add_common

    add_common(parser)
    parser.add_argument(
        "--output", "-o", metavar="FILE",
        help="write the exposition to FILE atomically (e.g. <textfile dir>/cchooks.prom) instead of stdout",
    )  # fmt: skip
    parser.add_argument(
        "--no-ingest", action="store_true", help="read the ledger as it is, without ingesting"
    )


def run(args: argparse.Namespace) -> int:
    from cchooks.commands.common import CommandError, ingest_or_warn, open_for_view

    try:
        from cchooks.server.metrics import exposition
    except ImportError as exc:
        raise CommandError(
            f"cchooks metrics needs prometheus-client ({exc}): pip install 'cchooks[metrics]'"
        ) from None
    if not args.no_ingest:
        from cchooks.config import load_config

        load_config(args.config)  # an invalid config file is reported before any work
        with open_for_view(args.ledger) as ledger:
            ingest_or_warn(ledger, args.claude_dir, show_progress=False, trust_watcher=True)
    doc = _team_document(args)
    body, _content_type = exposition(args.ledger, args.config, cache=False,
                                     team=None if doc is None else lambda: doc)  # fmt: skip
    if args.output:
        from cchooks.installers.jsonio import write_bytes_atomic

        write_bytes_atomic(args.output, body, backup=False, mode=0o644)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0


def _team_document(args: argparse.Namespace) -> dict[str, Any] | None:
    """With [team]: the team view read once now (the per-host families); None without a team.
    An unreachable team ledger is one warning line, and the rest of the exposition is printed."""
    from cchooks.paths import default_ledger_path
    from cchooks.team.daemon import team_sync

    path = args.ledger or str(default_ledger_path())
    team = team_sync(args.config, path)
    if team is None:
        return None
    from cchooks.ledger import Ledger, team_queue
    from cchooks.team import TeamError
    from cchooks.team.pg import connect

    try:
        conn = connect(team.settings)
        try:
            with Ledger.open(path) as ledger:
                team.refresh_view(ledger, conn, team.machine_id or team_queue.machine_id(ledger))
        finally:
            conn.close()
    except TeamError as exc:
        print(f"cchooks metrics: {exc} (no team figures)", file=sys.stderr)
    return team.document()
