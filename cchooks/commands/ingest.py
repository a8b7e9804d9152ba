"""`cchooks ingest`: scan every Claude config dir and read new transcript bytes."""

from __future__ import annotations

import argparse
import json
import sys
import time

from cchooks.commands.common import add_ledger_args, ingest_or_warn
from cchooks.totals import SCHEMA_VERSION


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_ledger_args(parser)
    parser.add_argument("--verbose", "-v", action="store_true", help="report skipped and malformed lines")
    parser.add_argument("--json", action="store_true", help="print the ingest summary as JSON")


def run(args: argparse.Namespace) -> int:
    from cchooks.ledger import Ledger, LedgerError

    try:
        ledger = Ledger.open(args.ledger)
    except LedgerError as exc:
        print(f"cchooks: {exc}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    with ledger:
        r = ingest_or_warn(ledger, args.claude_dir, args.verbose, show_progress=not args.json)
        stored = ledger.response_count()
    s = r.stats
    summary = {
        "schema_version": SCHEMA_VERSION,
        "ledger": str(ledger.path),
        "files_seen": r.files_seen,
        "files_read": r.files_read,
        "files_reread": r.files_reset,
        "bytes_read": r.bytes_read,
        "response_lines": s.records,
        "other_usage_lines": s.not_responses,
        "responses_written": r.records,
        "responses": stored,
        "malformed_lines": s.malformed,
        "non_utf8_lines": s.non_utf8,
        "not_billed_lines": s.not_billed,
        "invalid_token_lines": s.invalid_tokens,
        "too_long_lines": s.too_long,
        "files_failed": r.failed_files,
        "errors": r.errors,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    # A file that could not be read is a failure (non-zero exit), though the rest was stored.
    status = 1 if r.failed_files else 0
    if args.json:
        print(json.dumps(summary, indent=2))
        return status
    print(
        f"read {r.bytes_read:,} bytes from {r.files_read} of {r.files_seen} transcript files;"
        f" {stored:,} responses in {ledger.path}"
    )
    if args.verbose:
        print(
            f"lines mentioning usage: {s.records:,} response lines, {s.not_responses:,} other,"
            f" {s.not_billed:,} not billed (synthetic/API error), {s.malformed:,} malformed,"
            f" {s.non_utf8:,} not UTF-8, {s.invalid_tokens:,} with invalid token counts (rejected),"
            f" {s.too_long:,} too long; {r.files_reset} file(s) re-read after truncation/replacement"
        )
        for example in s.examples:
            print(f"  {example}")
    return status
