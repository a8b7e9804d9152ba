"""`cchooks import [FORMAT] PATH...`: bring in usage other tools kept (docs/import.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cchooks.commands.common import CommandError, add_common

AUTO = "auto"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cchooks.parsers.usage_files import FORMATS

    parser.add_argument(
        "items", nargs="+", metavar="[FORMAT] PATH",
        help=f"the format ({', '.join(FORMATS)}; detected when left out), then one or more files",
    )  # fmt: skip
    add_common(parser, claude_dir=False)
    parser.add_argument("--dry-run", action="store_true", help="say what would be imported; change nothing")
    parser.add_argument(
        "--adopt-limits",
        action="store_true",
        help="write token limits found in the files into [limits] of the config",
    )
    parser.add_argument(
        "--tz", help="IANA zone of dates without one in the files (default: config, else local)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable JSON (docs/json.md)")


def _split(items: list[str]) -> tuple[str | None, list[str]]:
    import os

    from cchooks.parsers.usage_files import FORMATS

    first = items[0]
    if (first in FORMATS or first == AUTO) and not os.path.exists(first):
        if len(items) == 1:
            raise CommandError(f"import {first}: name at least one file to import", 2)
        return (None if first == AUTO else first), items[1:]
    return None, items


def read_files(fmt: str | None, paths: list[str], tz: Any) -> list[Any]:
    """Parse every file before anything is written; the first bad one stops the run (one line)."""
    import hashlib
    import os

    from cchooks.ledger.imports import FileToImport
    from cchooks.parsers.usage_files import FormatError, decode, parse

    out = []
    for p in paths:
        path = os.path.abspath(os.path.expanduser(p))
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise CommandError(f"import {p}: no such file") from None
        except IsADirectoryError:
            raise CommandError(f"import {p}: is a directory, not a usage file") from None
        except OSError as exc:
            raise CommandError(f"import {p}: cannot read it: {exc.strerror or exc}") from None
        try:
            parsed = parse(fmt, decode(data), tz)
        except FormatError as exc:
            what = f"{fmt} file" if fmt else "file"
            raise CommandError(f"import {p}: not a usable {what}: {exc}; nothing was imported") from None
        out.append(FileToImport(path, hashlib.sha256(data).hexdigest(), parsed))
    return out


def run(args: argparse.Namespace) -> int:
    import time

    from cchooks.api import price_table
    from cchooks.config import load_config
    from cchooks.ledger import Ledger
    from cchooks.ledger.imports import import_files, superseded_counts
    from cchooks.reports.imported import file_totals
    from cchooks.timezones import resolve_tz
    from cchooks.totals import SCHEMA_VERSION

    fmt, paths = _split(args.items)
    cfg = load_config(args.config)
    try:
        tz = resolve_tz(args.tz or cfg.report.timezone)
    except ValueError as exc:
        raise CommandError(str(exc), 2) from None
    files = read_files(fmt, paths, tz)
    adopted = _adoption(files) if args.adopt_limits else None
    # Checked before anything is written: a config the limits cannot go into stops the run here.
    new_config = _with_limits(args.config, adopted[0]) if adopted and adopted[0] else None
    with Ledger.open(args.ledger) as ledger:
        outcomes = import_files(ledger, files, int(time.time() * 1000), dry_run=args.dry_run)
        prices = price_table(ledger, cfg.price_overrides())
        sup_counts = superseded_counts(ledger, [f.path for f in files])
    if new_config is not None and not args.dry_run:
        from cchooks.config import save_config

        save_config(new_config[0], new_config[1], only_set=True)
        print(f"cchooks: updated {new_config[1]}", file=sys.stderr)
    docs = []
    for f, o in zip(files, outcomes, strict=True):
        totals, unsplit = file_totals(f.parsed.entries, prices)
        doc: dict[str, Any] = {
            "path": o.path, "format": o.format, "version": f.parsed.version, "fingerprint": o.fingerprint,
            "status": o.status, "entries": o.entries, "added": o.added, "replaced": o.replaced,
            "unchanged": o.unchanged, "superseded": sup_counts.get(o.path, 0),
        }  # fmt: skip
        doc.update(totals.to_json())
        doc["unsplit_tokens"] = unsplit
        docs.append(doc)
    if args.json:
        import json

        out = {"schema_version": SCHEMA_VERSION, "dry_run": bool(args.dry_run), "files": docs}
        out["limits_adopted"] = adopted[0] if adopted else None
        out["limits_notes"] = adopted[1] if adopted else []
        print(json.dumps(out, indent=2))
        return 0
    verb = "would import" if args.dry_run else "imported"
    for d in docs:
        if d["status"] == "already imported":
            print(f"{d['path']}: already imported (sha256 {d['fingerprint'][:12]}): nothing changed")
            continue
        tok = d["total_tokens"] + d["unsplit_tokens"]
        print(
            f"{verb} {d['format']} {d['path']}: {d['entries']} entries ({d['added']} new, {d['replaced']} replaced,"
            f" {d['unchanged']} unchanged), {tok:,} tokens; {d['superseded']} superseded by measured usage"
        )
    if adopted is not None:
        limits, notes = adopted
        for n in notes:
            print(f"note: {n}")
        if limits:
            where = "would write" if args.dry_run else "wrote"
            print(f"{where} [limits] " + ", ".join(f"{k} = {v!r}" for k, v in limits.items()))
        else:
            print("no limits found in the files")
    return 0


def _adoption(files: list[Any]) -> tuple[dict[str, Any], list[str]]:
    """The [limits] keys the files state (a later file wins a key), and notes for the user."""
    limits: dict[str, Any] = {}
    notes: list[str] = []
    for f in files:
        found = f.parsed.limits
        if found is None:
            continue
        notes.extend(f"{f.path}: {n}" for n in found.notes)
        for key in ("five_hour_tokens", "weekly_tokens", "monthly_tokens"):
            value = getattr(found, key)
            if value is None:
                continue
            if key in limits and limits[key] != value:
                notes.append(f"{key}: {limits[key]:,} replaced by {value:,} from {f.path}")
            limits[key] = value
            if limits.get("token_measure", found.token_measure) != found.token_measure:
                notes.append(f"token_measure: files disagree; using {found.token_measure!r} from {f.path}")
            limits["token_measure"] = found.token_measure
    return limits, notes


def _with_limits(config_path: str | None, limits: dict[str, Any]) -> tuple[Any, str]:
    """The config file with `limits` merged into its [limits], validated whole by the config schema,
    and its path (the caller writes it with save_config: atomic)."""
    from pydantic import ValidationError

    from cchooks.config import ConfigError, describe_validation_error, load_raw
    from cchooks.config.model import Config
    from cchooks.paths import config_file_str

    path = config_path or config_file_str()
    raw = load_raw(path)
    section = raw.setdefault("limits", {})
    if not isinstance(section, dict):
        raise ConfigError(f"config {path}: [limits] is not a table")
    section.update(limits)
    try:
        return Config.model_validate(raw), path
    except ValidationError as exc:
        raise ConfigError(f"config {path}: {describe_validation_error(exc)}") from None
