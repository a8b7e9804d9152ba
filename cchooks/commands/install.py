"""`cchooks install`: add cchooks' hooks and statusLine to a Claude Code settings file.

Exit codes: 0 done (or nothing to do), 1 refused (malformed settings file, a foreign statusLine without
--statusline-replace/--statusline-chain, or an I/O error); the file is then untouched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cchooks.installers import settings as st


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope",
        choices=st.SCOPES,
        default="user",
        help="user: <config dir>/settings.json (default); project: <project-dir>/.claude/settings.json; "
        "local: <project-dir>/.claude/settings.local.json",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        metavar="DIR",
        help="project for --scope project/local (default: the current directory)",
    )
    parser.add_argument(
        "--settings-dir",
        type=Path,
        metavar="DIR",
        dest="claude_dir",
        help="the Claude config dir whose settings.json --scope user edits"
        " (default: first CLAUDE_CONFIG_DIR entry, else ~/.claude)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the change as a unified diff; write nothing"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scope_arguments(parser)
    parser.add_argument(
        "--statusline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="install cchooks' statusLine (default); --no-statusline removes ours and restores the old one",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--statusline-replace",
        action="store_true",
        help="replace a statusLine that is not ours (uninstall restores it)",
    )
    mode.add_argument(
        "--statusline-chain",
        action="store_true",
        help="keep a statusLine that is not ours: cchooks prints its line, then runs it (uninstall restores it)",
    )
    parser.add_argument(
        "--budget-guard",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also hook PreToolUse so the budget `block` setting can stop tool calls "
        "(default: keep what is installed; off on a first install)",
    )
    parser.add_argument(
        "--telemetry",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add the OTLP telemetry variables to the settings' env block, never overwriting yours "
        "(default: keep what is installed; off on a first install)",
    )


def resolve_path(args: argparse.Namespace) -> Path:
    if args.claude_dir is not None and args.scope != "user":
        raise st.SettingsError("--settings-dir only applies to --scope user")
    return st.settings_path(args.scope, project_dir=args.project_dir, claude_dir=args.claude_dir)


def report(result: st.ChangeResult, done: str, unchanged: str) -> None:
    """Print the diff (dry run) or what happened, then the notes (on stderr)."""
    if result.dry_run:
        sys.stdout.write(result.diff if result.changed else f"no changes to {result.path}\n")
    elif result.changed:
        print(f"cchooks: {done} {result.path}")
    else:
        print(f"cchooks: {unchanged.format(path=result.path)}; nothing written")
    for note in result.notes:
        print(f"cchooks: note: {note}", file=sys.stderr)


def _describe(entries: st.InstalledEntries) -> str:
    parts = [f"hooks: {', '.join(entries.hooks) or 'none'}"]
    if entries.statusline:
        parts.append("statusLine: chained" if entries.chained is not None else "statusLine: yes")
    if entries.telemetry_env:
        parts.append("telemetry env: yes")
    return "; ".join(parts)


def run(args: argparse.Namespace) -> int:
    mode: st.StatuslineMode = (
        "replace" if args.statusline_replace else "chain" if args.statusline_chain else "refuse"
    )
    if not args.statusline and mode != "refuse":
        print(f"cchooks install: --no-statusline contradicts --statusline-{mode}", file=sys.stderr)
        return 2
    try:
        path = resolve_path(args)
        options = st.InstallOptions(
            statusline=args.statusline,
            statusline_mode=mode,
            budget_guard=args.budget_guard,
            telemetry=args.telemetry,
        )
        result = st.install(path, options, dry_run=args.dry_run)
    except (st.SettingsError, OSError) as exc:
        print(f"cchooks install: {exc}", file=sys.stderr)
        return 1
    report(result, "installed into", "{path} is already up to date")
    if not args.dry_run:
        print(f"cchooks: {_describe(result.entries)}")
        _warn_other_scopes(args, path)
    return 0


def _warn_other_scopes(args: argparse.Namespace, path: Path) -> None:
    try:
        found = st.find_installations(project_dir=args.project_dir, claude_dir=args.claude_dir)
    except OSError:
        return
    for scope, other, entries in found:
        if other != path and isinstance(entries, st.InstalledEntries) and entries.hooks:
            print(
                f"cchooks: note: also installed in {scope} scope ({other}); Claude Code runs the hooks of "
                "every scope, so they run more than once (harmless, but slower). "
                f"`cchooks uninstall --scope {scope}` removes that copy.",
                file=sys.stderr,
            )
