"""Refreshes served by a running `cchooks serve`: the statusline process hands its stdin over.

A statusline process spends most of its time starting: importing the ledger, parser and render
modules, opening the ledger, making its TEMP triggers, closing it. `cchooks serve` has all of
that done already, so while it runs it listens on `<ledger>.serve.sock` (a Unix socket only its
user can open, cchooks.server.statusline_socket) and the statusline command, before importing
anything else, asks it: it sends one line of JSON (protocol version, its own arguments, the
environment variables the statusline reads) and its stdin, and prints the answer. The daemon
renders with the same code (`commands.statusline.compose`) on the same ledger.

The daemon answers `ok` and the lines, or `no <reason>`: another ledger, another cchooks version
(a daemon started before an upgrade), an environment that differs in a variable the statusline
reads (TZ, NO_COLOR, the config or data dirs...), arguments it does not serve (`--chain`,
`--preview`), or any error. Then, as when no daemon listens or it
does not answer within REPLY_TIMEOUT, the statusline does the refresh itself with the same stdin
(within its own time limit, which starts then).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SOCKET_SUFFIX = ".serve.sock"
PROTOCOL = 1
MAX_PAYLOAD = 16 << 20  # a larger stdin is not a statusline payload
SERVED_INGEST_S = 0.3  # the daemon's share of REPLY_TIMEOUT for reading new bytes (the rest: render)
MAX_SOCKET_PATH = 100  # sun_path holds 104-108 bytes, depending on the system
REPLY_TIMEOUT = 0.5  # seconds; the daemon answers in milliseconds (it reads new bytes for at most
# SERVED_INGEST_S), so a slower answer means something is wrong and the refresh is done here
# What the statusline reads from the environment (paths, zone, colours): the daemon serves a
# refresh only when its own values are the same.
ENV_PREFIXES = ("CCHOOKS_", "XDG_", "LC_")
ENV_NAMES = ("CLAUDE_CONFIG_DIR", "NO_COLOR", "TZ", "HOME", "LANG")
# The statusline options a daemon serves (the forms `cchooks install` writes and the plain ones).
SERVED_OPTIONS = {"--ledger": str, "--config": str, "--no-ingest": bool,
                  "--color": ("auto", "always", "never"), "--timeout": float}  # fmt: skip


def read_payload(stream: Any) -> bytes:
    """A statusline payload from a binary stream: all of it, or b"" when it is over MAX_PAYLOAD."""
    data: bytes = stream.read(MAX_PAYLOAD + 1)
    return b"" if len(data) > MAX_PAYLOAD else data


def relevant_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k in ENV_NAMES or k.startswith(ENV_PREFIXES)}


def socket_path(ledger_file: str) -> str:
    return os.path.realpath(ledger_file) + SOCKET_SUFFIX


def served_argv(argv: list[str]) -> list[str] | None:
    """`argv` with `--ledger`/`--config` made absolute, or None when a daemon would not serve it."""
    from cchooks.commands import parse_simple

    args = parse_simple(argv, SERVED_OPTIONS, defaults={"color": "auto"})
    if args is None:
        return None
    out: list[str] = []
    for opt in ("--ledger", "--config"):
        value = getattr(args, opt[2:])
        if value:
            out += [opt, os.path.abspath(os.path.expanduser(value))]
    if args.no_ingest:
        out.append("--no-ingest")
    out += ["--color", args.color]
    if args.timeout is not None:
        out += ["--timeout", repr(args.timeout)]
    return out


class _Replay:
    """What is left of stdin for the refresh done here: the bytes already read."""

    def __init__(self, data: bytes) -> None:
        import io

        self.buffer = io.BytesIO(data)


def try_daemon(argv: list[str]) -> int | None:
    """Print the refresh `cchooks serve` renders for the statusline arguments `argv` and return 0;
    None when no daemon serves it (stdin, if read, is then replayed for the refresh done here)."""
    sent = served_argv(argv)
    if sent is None:
        return None
    from cchooks.paths import ledger_file

    path = socket_path(ledger_file(sent[sent.index("--ledger") + 1] if "--ledger" in sent else None))
    if len(path.encode()) > MAX_SOCKET_PATH or not os.path.exists(path):
        return None  # the usual case without a daemon: one stat
    try:
        data = read_payload(sys.stdin.buffer)
    except (OSError, AttributeError, ValueError):  # no usable stdin: the refresh here says so
        return None
    try:
        reply = _ask(path, sent, data)
    except Exception:  # whatever went wrong, the refresh here still gets its stdin
        reply = None
    if reply is None or not reply.startswith(b"ok\n"):
        sys.stdin = _Replay(data)
        return None
    try:
        sys.stdout.buffer.write(reply[3:])
        sys.stdout.flush()
    except (OSError, AttributeError):  # a closed pipe, or no stdout at all
        pass
    return 0


def _ask(path: str, argv: list[str], data: bytes) -> bytes | None:
    # `socket` would import enum, selectors and more: the C module is all this needs.
    import _socket
    from _json import encode_basestring as quote

    env = relevant_env(os.environ)
    from cchooks import __version__

    header = (
        f'{{"v":{PROTOCOL},"version":{quote(__version__)},"argv":[{",".join(quote(a) for a in argv)}],'
        f'"env":{{{",".join(f"{quote(k)}:{quote(v)}" for k, v in sorted(env.items()))}}}}}\n'
    )
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(REPLY_TIMEOUT)
        sock.connect(path)
        sock.sendall(header.encode("utf-8", "surrogateescape") + data)
        sock.shutdown(_socket.SHUT_WR)
        chunks = []
        while True:
            piece = sock.recv(65536)
            if not piece:
                break
            chunks.append(piece)
        return b"".join(chunks)
    except OSError:  # none listening (a stale socket file), a timeout, a reset: do it here
        return None
    finally:
        sock.close()
