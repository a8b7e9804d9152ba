"""`cchooks otlp serve|import`: receive Claude Code's OpenTelemetry export into the ledger."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cchooks.commands.common import LEDGER_HELP

    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    serve = sub.add_parser(
        "serve",
        help="run the OTLP receiver (HTTP on 4318; gRPC on 4317 with --grpc)",
        description="OTLP receiver: POST /v1/metrics and /v1/logs (JSON or protobuf, gzip) into the ledger;"
        " /v1/traces is accepted and ignored. GET /healthz describes the receiver.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4318, help="HTTP port (default 4318; 0 = any free port)")
    serve.add_argument("--ledger", metavar="PATH", help=LEDGER_HELP)
    serve.add_argument(
        "--token", help="require 'Authorization: Bearer TOKEN' (default: $CCHOOKS_OTLP_TOKEN when set)"
    )
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback address without a token")
    serve.add_argument("--grpc", action="store_true", help="also serve OTLP/gRPC (needs cchooks[grpc])")
    serve.add_argument("--grpc-port", type=int, default=4317, help="gRPC port (default 4317)")
    serve.add_argument(
        "--forward", metavar="URL", help="also relay every body to this upstream OTLP/HTTP collector"
    )
    serve.add_argument(
        "--max-body-mb", type=float, default=16.0, help="largest accepted body (default 16 MiB)"
    )
    serve.add_argument("--port-file", metavar="PATH", help="write the bound HTTP port here once listening")
    serve.add_argument("--verbose", "-v", action="store_true", help="log every request to stderr")

    imp = sub.add_parser(
        "import",
        help="store captured OTLP bodies (files or folders of NNNN-metrics.json / NNNN-logs.pb ...)",
    )
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument("--ledger", metavar="PATH", help=LEDGER_HELP)
    imp.add_argument("--json", action="store_true", help="print the counts as JSON")


def run(args: argparse.Namespace) -> int:
    if args.action == "serve":
        return _serve(args)
    return _import(args)


def _serve(args: argparse.Namespace) -> int:
    from cchooks.ledger.store import LedgerError
    from cchooks.server.otlp_http import TOKEN_ENV, ServerConfig, is_loopback, serve

    for flag, port in (("--port", args.port), ("--grpc-port", args.grpc_port)):
        if not 0 <= port <= 65535:
            print(f"cchooks otlp: {flag} must be 1-65535 (or 0 for any free port), not {port}", file=sys.stderr)
            return 2
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and not token and not args.insecure:
        print(
            f"cchooks otlp: refusing to listen on {args.host} (not loopback) without a token;"
            f" pass --token (or set {TOKEN_ENV}), or --insecure to accept anyone who can reach it",
            file=sys.stderr,
        )
        return 2
    max_body = int(args.max_body_mb * (1 << 20))
    config = ServerConfig(
        host=args.host, port=args.port, ledger_path=args.ledger, token=token, insecure=args.insecure,
        forward=args.forward, max_body=max_body, max_decoded=max(4 * max_body, max_body), verbose=args.verbose,
    )  # fmt: skip

    def ready(server: Any) -> None:
        print(
            f"cchooks otlp: listening on http://{args.host}:{server.port} (ledger {server.writer.path})",
            file=sys.stderr,
            flush=True,
        )
        if args.port_file:
            tmp = Path(args.port_file + ".tmp")
            tmp.write_text(str(server.port))
            tmp.replace(args.port_file)

    try:
        return serve(config, ready=ready, grpc_port=args.grpc_port if args.grpc else None)
    except LedgerError as exc:
        print(f"cchooks otlp: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cchooks otlp: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # GrpcUnavailable
        print(f"cchooks otlp: {exc}", file=sys.stderr)
        return 1


def _signal_of(path: Path) -> str | None:
    name = path.name.lower()
    for sig in ("metrics", "logs", "traces"):
        if sig in name:
            return sig
    return None


def _import(args: argparse.Namespace) -> int:
    import gzip
    import json

    from cchooks.ledger.otlp_store import StoreResult, store_batches
    from cchooks.ledger.store import Ledger, LedgerError
    from cchooks.parsers.otlp import OTLPDecodeError, decode

    files: list[tuple[Path, bool]] = []
    for p in map(Path, args.paths):
        if p.is_dir():
            files.extend((f, False) for f in sorted(p.iterdir()) if f.is_file())
        else:
            files.append((p, True))
    batches = []
    skipped: list[str] = []
    for f, explicit in files:
        name = f.name.removesuffix(".gz")
        sig = _signal_of(f)
        enc = (
            "protobuf"
            if name.endswith((".pb", ".bin", ".protobuf"))
            else "json"
            if name.endswith(".json")
            else None
        )
        if name.endswith(".decoded.json") or sig is None or enc is None:
            # Folders may hold other files (index.jsonl, decoded copies); only named files are an error.
            if explicit:
                skipped.append(f"{f}: cannot tell signal/encoding from the name")
            continue
        try:
            data = f.read_bytes()
            if f.name.endswith(".gz"):
                data = gzip.decompress(data)
            batches.append(decode(sig, data, enc))  # type: ignore[arg-type]
        except (OSError, OTLPDecodeError, EOFError) as exc:
            skipped.append(f"{f}: {exc}")
    try:
        with Ledger.open(args.ledger) as ledger:
            result = store_batches(ledger, batches) if batches else StoreResult()
    except LedgerError as exc:
        print(f"cchooks otlp: {exc}", file=sys.stderr)
        return 1
    for s in skipped:
        print(f"cchooks otlp: skipped {s}", file=sys.stderr)
    if args.json:
        print(json.dumps({"files": len(batches), "skipped": len(skipped), **result.to_json()}))
    else:
        print(
            f"{len(batches)} bodies: {result.points_new} new metric points ({result.points_dup} already stored),"
            f" {result.api_new} new api_request events ({result.api_dup} already stored),"
            f" {result.events_new} other events ({result.events_dup} already stored), {result.rejected} rejected"
        )
    return 0 if not skipped else 1
