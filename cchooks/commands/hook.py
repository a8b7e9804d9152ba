"""`cchooks hook <Event>`: the command Claude Code runs for each hook event.

Reads the event JSON on stdin, ingests the new transcript bytes of that session into the
ledger, and prints JSON on stdout only when Claude Code has something to act on (a budget
warning or a denied tool call). Whatever goes wrong, it exits 0 within its time limit
(default 5 s, `--timeout` or `$CCHOOKS_HOOK_TIMEOUT`) and logs the problem to the rotating
log in the cchooks log dir (`cchooks status` shows where). It imports neither pydantic nor
anything else heavy; see `python -X importtime -m cchooks hook Stop < payload.json`.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from cchooks.commands import Args

DEFAULT_TIMEOUT = 5.0
# Share of the time limit spent ingesting; the rest is for the budget query, output and a
# margin, so ingest stops cleanly (its chunks committed) well before the hard deadline.
INGEST_SHARE = 0.6
MAX_PAYLOAD = 64 << 20  # a larger stdin is not a hook event (and must not exhaust memory)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cchooks.commands.common import CONFIG_HELP, LEDGER_HELP

    parser.add_argument(
        "event", nargs="?", help="hook event name (default: the payload's hook_event_name), e.g. Stop"
    )
    parser.add_argument("--ledger", metavar="PATH", help=LEDGER_HELP)
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS",
        help=f"hard time limit; give up cleanly (exit 0) after it (default {DEFAULT_TIMEOUT:g}, $CCHOOKS_HOOK_TIMEOUT)",
    )  # fmt: skip


def fast_args(argv: list[str]) -> Args | None:
    """`add_arguments`' parse without argparse, or None to let argparse do it (see cchooks.commands)."""
    from cchooks.commands import parse_simple

    return parse_simple(argv, {"--ledger": str, "--config": str, "--timeout": float}, positional="event")


def run(args: argparse.Namespace | Args) -> int:
    from cchooks.hooks.log import Deadline, log_error, seconds_from_env

    event_arg: str | None = args.event
    where = f"hook {event_arg or '?'}"
    timeout = (
        args.timeout
        if args.timeout and args.timeout > 0
        else seconds_from_env("CCHOOKS_HOOK_TIMEOUT", DEFAULT_TIMEOUT)
    )
    deadline = Deadline(timeout, where).start()
    import time

    stop_at = time.monotonic() + timeout * INGEST_SHARE
    try:
        from cchooks.fastjson import loads

        if sys.stdin is None:  # started with stdin closed: no event to handle
            log_error(where, message="stdin is closed; no hook event to handle")
            return 0
        data = sys.stdin.buffer.read(MAX_PAYLOAD + 1)
        if len(data) > MAX_PAYLOAD:
            log_error(where, message=f"stdin is over {MAX_PAYLOAD} bytes; ignored")
            return 0
        try:
            payload = loads(data)
        except (ValueError, RecursionError) as exc:
            log_error(where, exc, f"stdin is not JSON ({len(data)} bytes)")
            return 0
        if not isinstance(payload, dict):
            log_error(where, message=f"stdin is JSON but not an object ({type(payload).__name__})")
            return 0
        named = payload.get("hook_event_name")
        event = named if isinstance(named, str) and named else (event_arg or "")
        from cchooks.hooks.handlers import HookOptions, handle

        out = handle(event, payload, HookOptions(args.ledger, args.config, stop_at))
        if out is not None and deadline.claim():
            import json

            sys.stdout.write(json.dumps(out) + "\n")
            sys.stdout.flush()
    except Exception as exc:
        log_error(where, exc)
    except KeyboardInterrupt:
        pass
    finally:
        deadline.done()
    return 0
