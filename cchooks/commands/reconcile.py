"""`cchooks reconcile`: transcripts vs OTLP, per session, tokens and dollars."""

from __future__ import annotations

import argparse

from cchooks.commands.common import add_common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable JSON")
    parser.add_argument("--session", help="only this session id")
    parser.add_argument("--no-ingest", action="store_true", help="do not read new transcript bytes first")
    parser.add_argument("--verbose", "-v", action="store_true")


def run(args: argparse.Namespace) -> int:
    from cchooks.api import price_table
    from cchooks.config import load_config
    from cchooks.ledger.reconcile import reconcile_ledger, reconcile_report

    table_overrides = load_config(args.config).price_overrides()
    from cchooks.commands.common import open_for_view

    ledger = open_for_view(args.ledger)
    with ledger:
        if not args.no_ingest:
            from cchooks.commands.common import ingest_or_warn

            ingest_or_warn(ledger, args.claude_dir, args.verbose, show_progress=not args.json)
        stats = reconcile_ledger(ledger)
        table = price_table(ledger, table_overrides)
        report = reconcile_report(ledger, table, session_id=args.session)
    if args.json:
        out = report.to_json()
        out["reconciled"] = {
            "linked": stats.linked,
            "folded": stats.folded,
            "learned_models": stats.learned_models,
        }
        import json

        print(json.dumps(out, indent=2))
        return 0
    _render(report)
    return 0


def _money(x: float | None) -> str:
    return "—" if x is None else f"${x:,.4f}"


def _render(report) -> None:  # type: ignore[no-untyped-def]
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not report.sessions:
        console.print("No responses and no OTLP events in the ledger.")
        return
    table = Table(title="Transcripts vs OTLP, per session", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("session")
    table.add_column("seen by")
    for col in ("resp", "match", "input", "output", "cache wr", "cache rd", "cost"):
        table.add_column(col, justify="right")
    for s in [*report.sessions, report.total]:
        name = s.session_id if s.session_id == "all" else s.session_id[:8]
        rows = (
            ("ledger", s.ledger, f"{s.matched} both", _money(s.cost_ours_ledger) + " ours"),
            ("transcript", s.transcript, f"{s.transcript_only} only", ""),
            ("OTLP", s.otlp, f"{s.otlp_only} only", _money(s.cost_claude_code) + " CC"),
        )
        for i, (label, t, match, cost) in enumerate(rows):
            table.add_row(
                name if i == 0 else "", label, str(t.responses), match, f"{t.input_tokens:,}",
                f"{t.output_tokens:,}", f"{t.cache_creation_tokens:,}", f"{t.cache_read_tokens:,}", cost,
                end_section=i == len(rows) - 1,
            )  # fmt: skip
    console.print(table)
    for s in [*report.sessions, report.total]:
        for note in s.notes:
            console.print(f"[bold]{s.session_id[:8]}[/bold]: {note}", highlight=False)
    for note in report.price_notes:
        console.print(f"prices: {note}", highlight=False)
