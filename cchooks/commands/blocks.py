"""`cchooks report blocks`: 5-hour blocks (ccusage's heuristic, corrected by official reset times).

Dispatched by `cchooks.commands.report` with its arguments (kind, ledger, claude_dir, since, until, tz,
json, csv, no_ingest, active, verbose). JSON: `{"schema_version", "now_ms", "now", "tz", "blocks": [...]}`, each
block `Block.to_dict()`; the active block also has `burn` (pace since its first response) and
`projection` (totals at its end if that pace holds).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys

from cchooks.commands.common import ingest_or_warn

CSV_FIELDS = [
    "start", "end", "source", "is_active", "is_gap", "responses", "input_tokens", "output_tokens",
    "cache_creation_5m_tokens", "cache_creation_1h_tokens", "cache_read_tokens", "total_tokens", "cost_usd",
    "unpriced_tokens", "models",
]  # fmt: skip


def run_blocks(args: argparse.Namespace) -> int:
    from cchooks.commands.common import CommandError, open_view
    from cchooks.reports.query import Blocks

    try:
        ledger, ctx = open_view(args.ledger, tz=args.tz, config=args.config)
    except CommandError as exc:
        print(f"cchooks: {exc}", file=sys.stderr)
        return exc.code
    with ledger:
        from cchooks.timezones import parse_day_bound

        try:
            for bound in (args.since, args.until):
                if bound:
                    parse_day_bound(bound, ctx.tz)
        except ValueError as exc:
            print(f"cchooks: bad --since/--until: {exc}", file=sys.stderr)
            return 2
        if not args.no_ingest:
            ingest_or_warn(
                ledger, args.claude_dir, args.verbose, show_progress=not (args.json or args.csv), trust_watcher=True
            )
        result = Blocks(ledger, ctx, args.since, args.until, args.active)
    blocks, now, burn, proj = result.blocks, result.now, result.burn, result.projection

    if args.json:
        from cchooks.reports.render import dumps_indented

        print(dumps_indented(result.to_json(), len(blocks)))
        return 0
    if args.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
        w.writeheader()
        for b in blocks:
            d = b.to_dict(ctx.tz)
            row = {k: d.get(k) for k in CSV_FIELDS}
            row["models"] = " ".join(b.models)
            row["is_active"] = "true" if b.is_active else "false"
            row["is_gap"] = "true" if b.is_gap else "false"
            w.writerow(row)
        sys.stdout.write(buf.getvalue())
        return 0
    from cchooks.monitor.text import render_blocks

    if args.active and not blocks:
        print("No active 5-hour block (no response in the last 5 hours).")
        return 0
    print(render_blocks(blocks, now, ctx.tz, burn, proj, _width()))
    return 0


def _width() -> int:
    import shutil

    return max(60, min(shutil.get_terminal_size((80, 24)).columns, 100))
