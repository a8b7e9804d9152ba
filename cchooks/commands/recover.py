"""`cchooks recover`: rebuild a damaged ledger, keeping a copy of the old file.

It refuses while `cchooks watch` or `cchooks serve` keeps the ledger open (they hold it for their
whole run): the damaged file is moved aside, and their connection would go on reading and writing
it there (checked: SQLite lets such a connection write to the moved file), so what they record
would miss the new ledger until they were restarted.

Exit codes: 0 rebuilt (or nothing to do), 1 failed.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cchooks.commands.common import add_ledger_args

    add_ledger_args(parser)
    parser.add_argument("--force", action="store_true", help="rebuild even when the quick check finds nothing wrong")
    parser.add_argument("--no-ingest", action="store_true", help="do not re-read transcripts after the rebuild")
    parser.add_argument("--json", action="store_true", help="print what was salvaged as JSON")


def run(args: argparse.Namespace) -> int:
    import os

    from cchooks.commands.common import CommandError, ingest_or_warn
    from cchooks.ledger import Ledger
    from cchooks.ledger.recover import quick_check, recover_ledger
    from cchooks.paths import ledger_file
    from cchooks.totals import SCHEMA_VERSION

    path = ledger_file(args.ledger)
    if not os.path.exists(path):
        raise CommandError(f"no ledger at {path}", 1)
    problems = quick_check(path)
    if not problems and not args.force:
        print(f"ledger {path} passes SQLite's quick check; nothing to recover (--force rebuilds anyway)")
        return 0
    holder = _daemon_holding(path)
    if holder:
        raise CommandError(
            f"{holder} has {path} open; stop it first, then run cchooks recover again (its connection"
            " would go on writing to the damaged file once it is moved aside, not to the new ledger)", 1,
        )  # fmt: skip
    result = recover_ledger(path)
    responses = 0
    with Ledger.open(path) as ledger:
        if not args.no_ingest:
            ingest_or_warn(ledger, args.claude_dir, show_progress=not args.json)
        responses = ledger.response_count()
    doc = {
        "schema_version": SCHEMA_VERSION,
        "ledger": path,
        "backup": result.backup,
        "problems_found": problems,
        "rows_copied": result.copied,
        "rows_unreadable": result.unreadable,
        "errors": result.errors,
        "responses": responses,
    }
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"rebuilt {path}: {sum(result.copied.values()):,} rows salvaged, {responses:,} responses now")
    print(f"the damaged file is kept as {result.backup}")
    if result.unreadable:
        lost = ", ".join(f"{t}: {n:,}" for t, n in sorted(result.unreadable.items()))
        print(f"unreadable rows (transcripts still on disk were read again): {lost}", file=sys.stderr)
    return 0


def _daemon_holding(path: str) -> str | None:
    """The long-lived process that keeps `path` open, if one runs: `cchooks watch` or `serve`
    (the watch lock), or `serve --no-watch` (its statusline socket answers)."""
    from pathlib import Path

    try:
        from cchooks.watch.lock import lock_holder

        pid = lock_holder(Path(path))
    except ImportError:  # no fcntl: no watcher lock to look at
        pid = None
    if pid is not None:
        return f"`cchooks watch` or `cchooks serve` (pid {pid})" if pid else "`cchooks watch` or `cchooks serve`"
    from cchooks.server.statusline_socket import answers
    from cchooks.statusline.delegate import socket_path

    if answers(socket_path(path)):
        return "`cchooks serve`"
    return None
