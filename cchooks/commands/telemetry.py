"""`cchooks telemetry env`: print the exports that make Claude Code send OTLP to cchooks."""

from __future__ import annotations

import argparse
import os
import shlex
from urllib.parse import quote

PROTOCOLS = ("http/protobuf", "http/json", "grpc")
SHELLS = ("bash", "fish", "powershell")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    env = sub.add_parser("env", help="print the environment variables (eval them in your shell)")
    env.add_argument("--protocol", choices=PROTOCOLS, default="http/protobuf", help="OTLP protocol")
    env.add_argument("--endpoint", help="receiver URL (default http://127.0.0.1:4318, or :4317 for grpc)")
    env.add_argument("--shell", choices=SHELLS, default="bash", help="syntax of the exports (default bash)")
    env.add_argument("--token", help="bearer token of the receiver (default: $CCHOOKS_OTLP_TOKEN when set)")


def default_endpoint(protocol: str) -> str:
    return "http://127.0.0.1:4317" if protocol == "grpc" else "http://127.0.0.1:4318"


def env_for(protocol: str, endpoint: str | None = None, token: str | None = None) -> dict[str, str]:
    from cchooks.installers.telemetry import telemetry_env

    env = dict(telemetry_env(protocol=protocol, endpoint=endpoint or default_endpoint(protocol)))
    if token:
        # OTEL_EXPORTER_OTLP_HEADERS is a W3C-baggage-style list: values are percent-encoded.
        env["OTEL_EXPORTER_OTLP_HEADERS"] = "Authorization=" + quote(f"Bearer {token}")
    return env


def render(env: dict[str, str], shell: str) -> str:
    lines = []
    for k, v in env.items():
        if shell == "fish":
            lines.append(f"set -gx {k} {shlex.quote(v)}")
        elif shell == "powershell":
            lines.append(f"$env:{k} = '{v.replace(chr(39), chr(39) * 2)}'")
        else:
            lines.append(f"export {k}={shlex.quote(v)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("CCHOOKS_OTLP_TOKEN") or None
    print(render(env_for(args.protocol, args.endpoint, token), args.shell))
    return 0
