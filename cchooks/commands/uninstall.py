"""`cchooks uninstall`: remove exactly what `cchooks install` added to a settings file.

Restores a statusLine that install replaced or chained, removes only the telemetry variables install
added (and only while they still have the value it set), and drops the event lists / `hooks` / `env`
objects that install created once they are empty. Exit codes: 0 done (or nothing to do), 1 refused.
"""

from __future__ import annotations

import argparse
import sys

from cchooks.commands.install import add_scope_arguments, report, resolve_path
from cchooks.installers import settings as st


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scope_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        path = resolve_path(args)
        result = st.uninstall(path, dry_run=args.dry_run)
    except (st.SettingsError, OSError) as exc:
        print(f"cchooks uninstall: {exc}", file=sys.stderr)
        return 1
    report(result, "removed cchooks from", "cchooks is not installed in {path}")
    return 0
