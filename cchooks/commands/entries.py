"""`cchooks entries add|list|edit|delete|audit`: usage entered by hand, kept apart from measured responses.

Entries live in their own ledger table; reports count them as their own source ("manual", see
docs/json.md) and never change a measured figure. Every change is kept in an audit trail.
"""

from __future__ import annotations

import argparse
import json
import sys

from cchooks.commands.common import CommandError, add_common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    add = sub.add_parser("add", help="add an entry: INPUT and OUTPUT tokens")
    add.add_argument("input_tokens", metavar="INPUT", help="input tokens (a whole number)")
    add.add_argument("output_tokens", metavar="OUTPUT", help="output tokens (a whole number)")
    add.add_argument("--model", help="model, for the price (without one the cost is unknown: ?)")
    add.add_argument("--note", default="", help="what the entry is for")
    add.add_argument("--at", metavar="TIME", help="when (YYYY-MM-DD or ISO timestamp; default now)")
    edit = sub.add_parser("edit", help="change an entry")
    edit.add_argument("id", type=int)
    edit.add_argument("--input", dest="input_tokens", metavar="INPUT")
    edit.add_argument("--output", dest="output_tokens", metavar="OUTPUT")
    edit.add_argument("--model")
    edit.add_argument("--note")
    edit.add_argument("--at", metavar="TIME")
    lst = sub.add_parser("list", help="list entries")
    lst.add_argument("--since", help="first local day (YYYY-MM-DD) or ISO timestamp")
    lst.add_argument("--until", help="last local day (inclusive) or ISO timestamp")
    delete = sub.add_parser("delete", help="delete an entry (the audit trail keeps it)")
    delete.add_argument("id", type=int)
    audit = sub.add_parser("audit", help="every add, edit and delete, newest first")
    audit.add_argument("--id", type=int, help="only this entry")
    for p in (add, edit, lst, delete, audit):
        add_common(p, claude_dir=False)
        p.add_argument("--tz", help="IANA time zone for dates (default: config, else local)")
        p.add_argument("--json", action="store_true", help="machine-readable JSON")


def _int(name: str, text: str) -> int:
    t = text.strip().replace("_", "").replace(",", "")
    if not t.isdigit():
        raise CommandError(f"{name} must be a whole number of tokens, not {text!r}", 2)
    return int(t)


def run(args: argparse.Namespace) -> int:
    from cchooks.commands.common import ledger_failure_hint
    from cchooks.config import load_config
    from cchooks.ledger import Ledger, LedgerError
    from cchooks.ledger.entries import (
        EntryError,
        add_entry,
        audit_trail,
        delete_entry,
        list_entries,
        update_entry,
    )
    from cchooks.timezones import parse_day_bound, resolve_tz
    from cchooks.totals import SCHEMA_VERSION

    cfg = load_config(args.config)
    try:
        zone = resolve_tz(args.tz or cfg.report.timezone)
    except ValueError as exc:
        raise CommandError(str(exc), 2) from None

    def when(text: str | None, end: bool = False) -> int | None:
        if not text:
            return None
        try:
            return parse_day_bound(text, zone, end=end)
        except ValueError as exc:
            raise CommandError(f"bad time {text!r}: {exc}", 2) from None

    try:
        ledger = Ledger.open(args.ledger)
    except LedgerError as exc:
        raise CommandError(f"{exc}: {ledger_failure_hint(exc)}") from exc
    with ledger:
        try:
            if args.action == "add":
                e = add_entry(ledger, _int("INPUT", args.input_tokens), _int("OUTPUT", args.output_tokens),
                              model=args.model, note=args.note, ts_ms=when(args.at))  # fmt: skip
                out = {"schema_version": SCHEMA_VERSION, "entry": e.to_json()}
                text = f"added manual entry {e.id}: {e.input_tokens:,} in, {e.output_tokens:,} out"
            elif args.action == "edit":
                changes: dict[str, object] = {}
                if args.input_tokens is not None:
                    changes["input_tokens"] = _int("--input", args.input_tokens)
                if args.output_tokens is not None:
                    changes["output_tokens"] = _int("--output", args.output_tokens)
                if args.model is not None:
                    changes["model"] = args.model or None
                if args.note is not None:
                    changes["note"] = args.note
                if args.at is not None:
                    changes["ts_ms"] = when(args.at)
                e = update_entry(ledger, args.id, changes)
                out = {"schema_version": SCHEMA_VERSION, "entry": e.to_json()}
                text = f"changed manual entry {e.id}"
            elif args.action == "delete":
                e = delete_entry(ledger, args.id)
                out = {"schema_version": SCHEMA_VERSION, "entry": e.to_json()}
                text = f"deleted manual entry {e.id} (kept in the audit trail)"
            elif args.action == "audit":
                trail = audit_trail(ledger, args.id)
                out = {"schema_version": SCHEMA_VERSION, "audit": trail}
                text = "\n".join(
                    f"{a['at']}  #{a['entry_id']:<5} {a['action']:<6} {a['origin']}" for a in trail
                ) or "No changes to manual entries yet."
            else:
                rows = list_entries(ledger, when(args.since), when(args.until, end=True))
                out = {"schema_version": SCHEMA_VERSION, "entries": [e.to_json() for e in rows]}
                text = _table(rows) if rows else "No manual entries."
        except KeyError:
            raise CommandError(f"no manual entry {args.id} (see `cchooks entries list`)") from None
        except EntryError as exc:
            raise CommandError(str(exc), 2) from None
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        sys.stdout.write(text + "\n")
    return 0


def _table(rows: list) -> str:  # type: ignore[type-arg]
    from cchooks.totals import iso_ms

    lines = [f"{'id':>5}  {'at':<25} {'input':>12} {'output':>12}  {'model':<22} note"]
    for e in rows:
        lines.append(f"{e.id:>5}  {iso_ms(e.ts_ms) or '':<25} {e.input_tokens:>12,} {e.output_tokens:>12,}"
                     f"  {(e.model or '-')[:22]:<22} {e.note}")  # fmt: skip
    return "\n".join(lines)
