"""`cchooks dashboard`: open the dashboard in the browser, starting `cchooks serve` if it is not running.

Exit codes: 0 opened (or printed, with --no-browser), 1 could not start the server, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from cchooks.commands.common import CommandError, add_common

START_WAIT_S = 20.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cchooks.commands.serve import DEFAULT_PORT

    add_common(parser)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port of `cchooks serve` (default {DEFAULT_PORT})")
    parser.add_argument("--no-browser", action="store_true", help="print the URL instead of opening it")


def probe(port: int, token: str | None, timeout: float = 1.0) -> str:
    """'serve' (a cchooks serve answers), 'other' (something else listens) or 'free'."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/healthz")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data: Any = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return "serve" if exc.code == 401 else "other"  # a serve with another token is still ours to open
    except (OSError, ValueError):
        return "free" if _free(port) else "other"
    return "serve" if isinstance(data, dict) and data.get("dashboard") else "other"


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _spawn(args: argparse.Namespace) -> None:
    from cchooks.paths import log_dir

    argv = [sys.executable, "-m", "cchooks", "serve", "--port", str(args.port)]
    for flag, value in (("--ledger", args.ledger), ("--claude-dir", args.claude_dir), ("--config", args.config)):
        if value:
            argv += [flag, value]
    log = log_dir() / "serve.out"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)


def run(args: argparse.Namespace) -> int:
    from cchooks.commands.serve import url_of
    from cchooks.server.otlp_http import TOKEN_ENV

    if not 1 <= args.port <= 65535:
        raise CommandError(f"--port must be 1-65535, not {args.port}", 2)
    token = os.environ.get(TOKEN_ENV) or None
    state = probe(args.port, token)
    if state == "other":
        raise CommandError(f"something other than cchooks serve listens on port {args.port}; pass --port")
    if state == "free":
        _spawn(args)
        end = time.monotonic() + START_WAIT_S
        while probe(args.port, token, 0.5) != "serve":
            if time.monotonic() > end:
                raise CommandError("cchooks serve did not start; run `cchooks serve` to see why")
            time.sleep(0.2)
        print(f"cchooks: started cchooks serve on port {args.port}", file=sys.stderr)
    url = url_of("127.0.0.1", args.port, token)
    if args.no_browser:
        print(url)
        return 0
    import webbrowser

    if not webbrowser.open(url):
        print(url)
    return 0
