"""`cchooks monitor`: a live terminal view of the 5-hour window, week, month, today's cost and sessions.

Every refresh it ingests the new bytes of every transcript (one stat per unchanged file, so it works
without `cchooks watch` running), then redraws from the ledger. The windows are recomputed when the
ledger changed (our ingest or another process's commit) and at least every RECOMPUTE_SECONDS, but never
more than a fifth of the time (on a big ledger a recompute takes a while); between recomputes only the
countdowns move. `--once` prints one frame and exits (for scripts). Ctrl-C or SIGTERM leave the alternate
screen, restore the cursor and exit 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from cchooks.commands.common import add_common

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from cchooks.ledger import Ledger
    from cchooks.monitor.data import MonitorFrame, ViewContext

    Render = Callable[..., RenderableType]

RECOMPUTE_SECONDS = 15.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.add_argument(
        "--refresh", type=float, default=2.0, metavar="SECONDS", help="seconds between refreshes (default 2)"
    )
    parser.add_argument(
        "--plan", choices=["auto", "pro", "max5", "max20", "custom"], help="plan whose limits to use"
    )
    parser.add_argument("--tz", help="IANA time zone (default: config, else local)")
    parser.add_argument("--no-ingest", action="store_true", help="only read the ledger (e.g. `watch` runs)")


class _Monitor:
    """Holds the ledger connection and the last computed windows between refreshes."""

    def __init__(self, ledger: Ledger, ctx: ViewContext, claude_dir: str | None, ingest: bool) -> None:
        self.ledger = ledger
        self.ctx = ctx
        self.claude_dir = claude_dir
        self.ingest = ingest
        self.frame: MonitorFrame | None = None
        self.data_version: int | None = None
        self.computed_at = 0.0
        self.compute_s = 0.0  # how long the last recompute took
        self.stale = False  # the ledger changed since the last recompute
        self.errors: list[str] = []

    def refresh(self) -> MonitorFrame:
        from cchooks.commands.common import vouching_watcher
        from cchooks.ledger.ingest import ingest_config_dirs
        from cchooks.monitor.data import load_window_data, monitor_frame, now_ms

        changed = False
        if self.ingest and vouching_watcher(self.ledger, self.claude_dir) is None:
            try:
                r = ingest_config_dirs(self.ledger, self.claude_dir)
                self.errors = list(r.errors)
                changed = r.bytes_read > 0
            except Exception as exc:  # the view goes on; the footer shows the error count
                self.errors = [str(exc)]
        version = self.ledger.data_version()
        changed = changed or version != self.data_version
        self.data_version = version
        self.stale = self.stale or changed
        since = time.monotonic() - self.computed_at
        # On a big ledger a recompute takes a while: keep it under ~20% of the time (the countdowns still
        # move every refresh; the numbers catch up at the next recompute).
        due = (self.stale and since >= 4 * self.compute_s) or since >= max(
            RECOMPUTE_SECONDS, 4 * self.compute_s
        )
        if self.frame is None or due:
            t0 = time.monotonic()
            now = now_ms()
            self.frame = monitor_frame(self.ledger, self.ctx, load_window_data(self.ledger, now), now)
            self.computed_at = time.monotonic()
            self.compute_s = self.computed_at - t0
            self.stale = False
        self.frame.errors = self.errors
        return self.frame


def _raise_interrupt(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from cchooks.commands.common import CommandError, open_view
    from cchooks.monitor.data import now_ms
    from cchooks.monitor.view import render_frame

    if args.refresh <= 0:
        print("cchooks monitor: --refresh must be positive", file=sys.stderr)
        return 2
    try:
        ledger, ctx = open_view(args.ledger, plan=args.plan, tz=args.tz, config=args.config)
    except CommandError as exc:
        print(f"cchooks: {exc}", file=sys.stderr)
        return exc.code
    with ledger:
        mon = _Monitor(ledger, ctx, args.claude_dir, ingest=not args.no_ingest)
        console = Console()
        if args.once:
            frame = mon.refresh()
            console.print(render_frame(frame, console.width, max(console.height, 24)))
            return 0
        if not console.is_terminal:
            print("cchooks monitor: stdout is not a terminal; use --once", file=sys.stderr)
            return 2
        return _live(mon, console, args.refresh, render_frame, now_ms)


def _live(mon: _Monitor, console: Console, refresh: float, render: Render, clock: Callable[[], int]) -> int:
    from rich.live import Live

    old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    old_hup = signal.signal(signal.SIGHUP, _raise_interrupt)
    try:
        frame = mon.refresh()
        with Live(
            render(frame, console.width, console.height), console=console, screen=True, auto_refresh=False,
            redirect_stdout=False, redirect_stderr=False,
        ) as live:  # fmt: skip
            next_at = time.monotonic()
            while True:
                next_at += refresh
                time.sleep(max(0.0, next_at - time.monotonic()))
                if time.monotonic() - next_at > refresh:
                    next_at = time.monotonic()  # fell behind (suspended): do not catch up in a burst
                frame = mon.refresh()
                live.update(render(frame, console.width, console.height, clock()), refresh=True)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGHUP, old_hup)
    return 0
