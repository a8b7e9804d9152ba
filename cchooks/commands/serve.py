"""`cchooks serve`: the one long-running local process.

It follows the transcripts (the watcher of `cchooks watch`), receives OTLP (`/v1/logs`,
`/v1/metrics`; with `--otlp-port` also on a second port, e.g. 4318), and serves the dashboard at
`/`, the JSON API under `/api/` (docs/api.md) and `/healthz`, all on one uvicorn server.
Default 127.0.0.1:8889. Beyond loopback it needs a token (`--token` or $CCHOOKS_OTLP_TOKEN);
the URL it prints then carries the token once, which the page trades for a cookie.
Exit codes: 0 stopped by a signal, 1 cannot listen or open the ledger, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from cchooks.commands.common import CommandError, add_common

DEFAULT_PORT = 8889
SERVICE_FLAG = "dashboard"  # /healthz of `serve` has "dashboard": true (`cchooks dashboard` looks for it)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"dashboard, API and OTLP port (default {DEFAULT_PORT}; 0 = any free port)")  # fmt: skip
    parser.add_argument("--otlp-port", type=int, metavar="PORT",
                        help="also listen here (OTLP exporters' default is 4318)")  # fmt: skip
    parser.add_argument("--token", help="require this token (default: $CCHOOKS_OTLP_TOKEN when set)")
    parser.add_argument("--insecure", action="store_true", help="allow a non-loopback address without a token")
    parser.add_argument("--no-watch", action="store_true", help="do not follow the transcripts (OTLP and views only)")
    parser.add_argument("--poll", type=float, metavar="SECONDS", help="watch by polling every SECONDS")
    parser.add_argument("--forward", metavar="URL", help="also relay every OTLP body to this collector")
    parser.add_argument("--port-file", metavar="PATH", help="write the bound port here once listening")
    parser.add_argument("--open", action="store_true", help="open the dashboard in the browser once listening")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request and ingest")


def _check_port(flag: str, port: int | None) -> None:
    if port is not None and not 0 <= port <= 65535:
        raise CommandError(f"{flag} must be 1-65535 (or 0 for any free port), not {port}", 2)


def url_of(host: str, port: int, token: str | None) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def run(args: argparse.Namespace) -> int:
    from cchooks.ledger.store import LedgerError
    from cchooks.paths import default_ledger_path
    from cchooks.server.otlp_http import TOKEN_ENV, ServerConfig, is_loopback

    _check_port("--port", args.port)
    _check_port("--otlp-port", args.otlp_port)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and not token and not args.insecure:
        raise CommandError(
            f"refusing to listen on {args.host} (not loopback) without a token; pass --token (or set"
            f" {TOKEN_ENV}), or --insecure to let anyone who can reach it read and change your ledger", 2,
        )  # fmt: skip
    from cchooks.config import load_config

    load_config(args.config)  # a broken config file is one line now, not a 500 per request
    ledger_path = str(Path(args.ledger).expanduser() if args.ledger else default_ledger_path())
    config = ServerConfig(host=args.host, port=args.port, ledger_path=ledger_path, token=token,
                          insecure=args.insecure, forward=args.forward, verbose=args.verbose)  # fmt: skip
    try:
        return _serve(args, config, token)
    except LedgerError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None


def _serve(args: argparse.Namespace, config: Any, token: str | None) -> int:
    from cchooks.commands.watch import setup_logging
    from cchooks.server.app import build_app
    from cchooks.server.dashboard import Dashboard
    from cchooks.server.otlp_http import close_receiver, make_receiver, print_stored
    from cchooks.server.runner import AppServer, bind_socket, run_until_signal

    log_file = setup_logging(args.verbose)
    log = logging.getLogger("cchooks.serve")
    sockets = [bind_socket(args.host, args.port)]
    if args.otlp_port is not None:
        sockets.append(bind_socket(args.host, args.otlp_port))
    receiver = make_receiver(config)
    watcher: Any = None
    lock: Any = None
    dashboard: Any = None
    syncing: Any = None
    refreshes: Any = None
    try:
        watcher, lock = _start_watcher(args, Path(config.ledger_path), log)
        refreshes = _start_statusline_socket(config.ledger_path, log)
        # With [team] configured: sync continuously (as `cchooks watch` does) and keep the team view
        # for the dashboard and /metrics; without, no PostgreSQL library is imported.
        from cchooks.team.daemon import BackgroundSync, team_sync

        team = team_sync(args.config, config.ledger_path)
        if team is not None:
            team.keep_view = True
            syncing = BackgroundSync(team).start()

        def status() -> dict[str, Any]:
            w = watcher.stats if watcher is not None else None
            return {
                "watcher": None if w is None else {"mode": watcher.mode, "ingests": w.ingests, "records": w.records,
                                                   "errors": w.errors},  # fmt: skip
                "otlp": {"requests": dict(receiver.stats.requests), **receiver.writer.stats.to_json()},
                "team_sync": None if team is None else team.status(),
                "statusline": None if refreshes is None else {"served": refreshes.served, "declined": refreshes.declined},
            }

        team_doc = None if team is None else team.document
        dashboard = Dashboard(config.ledger_path, args.config, status=status, team=team_doc)
        app = build_app(receiver=receiver, dashboard=dashboard, token=token, ledger_path=config.ledger_path,
                        config_path=args.config, insecure=args.insecure, team=team_doc)  # fmt: skip
        server = AppServer(app, sockets, verbose=args.verbose)
        dashboard.stopping = server.stopping
        dashboard.start()
        receiver.extra_health = {SERVICE_FLAG: True, "team_sync": None if team is None else team.status}

        def ready(srv: AppServer) -> None:
            url = url_of(args.host, srv.port, token)
            extra = f"; OTLP also on port {srv.ports[1]}" if len(srv.ports) > 1 else ""
            log.info("cchooks serve: dashboard %s (ledger %s%s); log %s", url, config.ledger_path, extra,
                     log_file or "stderr only")  # fmt: skip
            if args.port_file:
                tmp = Path(args.port_file + ".tmp")
                tmp.write_text(str(srv.port))
                tmp.replace(args.port_file)
            if args.open:
                import webbrowser

                webbrowser.open(url)

        run_until_signal(server, ready)
    finally:
        if dashboard is not None:
            dashboard.close()
        if refreshes is not None:
            refreshes.stop()
        if watcher is not None:
            watcher.stop()
        if syncing is not None:
            syncing.stop()
        if lock is not None:
            lock.release()
        close_receiver(receiver)
        for s in sockets:
            s.close()
    print_stored(receiver.writer, "cchooks serve")
    return 0


def _start_statusline_socket(ledger_path: str, log: logging.Logger) -> Any:
    """Answer statusline refreshes on `<ledger>.serve.sock` (cchooks.server.statusline_socket),
    or None where it cannot (logged); serving goes on either way."""
    from cchooks.server.statusline_socket import StatuslineSocket

    refreshes = StatuslineSocket(ledger_path)
    try:
        return refreshes if refreshes.start() else None
    except OSError as exc:
        log.warning("not serving statusline refreshes: %s", exc)
        return None


def _start_watcher(args: argparse.Namespace, ledger_path: Path, log: logging.Logger) -> tuple[Any, Any]:
    """The transcript watcher, unless --no-watch or another `cchooks watch` already follows this ledger."""
    if args.no_watch:
        return None, None
    from cchooks.watch import InstanceLock, LockHeld, Watcher, WatchOptions

    try:
        options = WatchOptions(ledger_path, args.claude_dir, args.poll)
    except ValueError as exc:
        raise CommandError(str(exc), 2) from None
    try:
        lock = InstanceLock(ledger_path).acquire()
    except LockHeld as exc:
        log.warning("%s: another watcher follows the transcripts; serving without one", exc)
        return None, None

    def fatal(exc: BaseException) -> None:
        log.error("the watcher stopped: %s; the dashboard shows what the ledger holds", exc)

    watcher = Watcher(options, on_fatal=fatal)
    try:
        watcher.start()
    except Exception as exc:
        lock.release()
        log.error("cannot start watching: %s; serving without the watcher", exc)
        return None, None
    return watcher, lock

