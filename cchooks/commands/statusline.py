"""`cchooks statusline`: the statusLine command Claude Code runs on every refresh.

Reads Claude Code's statusline JSON on stdin, ingests the new transcript bytes of that
session, records Claude Code's official rate-limit figures (when the payload has them) in
the ledger, and prints one line (or the configured lines). Segments, markers and colours
are described in `cchooks.statusline` and docs/statusline.md.

It always prints something and exits 0: garbage on stdin, a missing transcript or an
unusable ledger give a shorter line, and a hard time limit (`[statusline] timeout`,
default 3 s) prints the payload-only line and stops. Errors go to the rotating log.

`--chain '<command>'` runs another statusline command with the same stdin, in parallel,
and shows its output beside ours (`[statusline] chain_position`); `cchooks install` sets
it up when you keep a statusline of your own. `--preview` renders a bundled sample
payload (or `--payload FILE`) against the ledger without writing anything.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    import subprocess
    from typing import Any

    from cchooks.commands import Args
    from cchooks.ledger.ingest import TranscriptFile
    from cchooks.ledger.store import Ledger
    from cchooks.statusline.payload import StatusPayload
    from cchooks.statusline.settings import StatuslineSettings

BUSY_MS = 250  # wait at most this long for another writer before skipping our writes
# Share of the time limit spent ingesting; rendering and the chain need the rest.
INGEST_SHARE = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cchooks.commands.common import CONFIG_HELP, LEDGER_HELP

    parser.add_argument("--ledger", metavar="PATH", help=LEDGER_HELP)
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument(
        "--chain", metavar="COMMAND",
        help="also run this statusline command with the same stdin and show its output beside ours",
    )  # fmt: skip
    parser.add_argument(
        "--preview", action="store_true",
        help="render a bundled sample payload (or --payload) without Claude Code; writes nothing",
    )  # fmt: skip
    parser.add_argument(
        "--payload", metavar="FILE", help="with --preview: read the payload from FILE ('-' = stdin)"
    )
    parser.add_argument(
        "--no-ingest", action="store_true", help="do not read transcripts; show what the ledger has"
    )
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colours: auto = as configured (default), always, never")  # fmt: skip
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="hard time limit (default: [statusline] timeout, 3 s)")  # fmt: skip


def fast_args(argv: list[str]) -> Args | None:
    """`add_arguments`' parse without argparse, or None to let argparse do it (see cchooks.commands)."""
    from cchooks.commands import parse_simple

    options = {
        "--ledger": str, "--config": str, "--chain": str, "--preview": bool, "--payload": str,
        "--no-ingest": bool, "--color": ("auto", "always", "never"), "--timeout": float,
    }  # fmt: skip
    return parse_simple(argv, options, defaults={"color": "auto"})


MAX_CHAIN_OUTPUT = 64 << 10  # bytes of a chained command's output shown; the rest is dropped


class _Chain:
    """Another statusline command, run in parallel with ours on the same stdin.

    It runs in its own process group (a new session), and the whole group is killed once
    its output is in, on timeout, or when our own time limit ends us: no background child
    of it outlives the statusline. Its output is capped at MAX_CHAIN_OUTPUT bytes.
    """

    def __init__(self, command: str, data: bytes) -> None:
        import _thread
        import subprocess

        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.data = data
        # stdin is fed by a thread, so a command that never reads it cannot block us
        _thread.start_new_thread(self._feed, ())

    def _feed(self) -> None:
        proc = self.proc
        if proc is None or proc.stdin is None:
            return
        try:  # noqa: SIM105 - contextlib is not loaded on the hot path
            proc.stdin.write(self.data)
        except OSError:  # it exited (or closed stdin) without reading
            pass
        try:  # noqa: SIM105 - contextlib is not loaded on the hot path
            proc.stdin.close()
        except OSError:
            pass

    def output(self, timeout: float) -> str:
        import os
        import select
        import time

        proc = self.proc
        if proc is None or proc.stdout is None:
            return ""
        fd = proc.stdout.fileno()
        end = time.monotonic() + timeout
        chunks: list[bytes] = []
        size = 0
        try:
            while size < MAX_CHAIN_OUTPUT:
                left = end - time.monotonic()
                if left <= 0:
                    from cchooks.hooks.log import log_warning

                    log_warning("statusline --chain", f"chained command took over {timeout:g} s; left out")
                    return ""
                # Short waits: once the command itself exited, a background child holding
                # stdout open must not keep us waiting.
                ready, _, _ = select.select([fd], [], [], min(left, 0.05))
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                piece = os.read(fd, 65536)
                if not piece:
                    break
                chunks.append(piece)
                size += len(piece)
        finally:
            self.kill()
        return b"".join(chunks)[:MAX_CHAIN_OUTPUT].decode("utf-8", "replace").rstrip("\n")

    def kill(self) -> None:
        import os
        import signal

        proc = self.proc
        if proc is None:
            return
        try:  # noqa: SIM105 - the group: the command and every child it left running
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:  # noqa: SIM105
            proc.wait(1.0)
        except Exception:
            pass
        if proc.stdout is not None:
            proc.stdout.close()


def _read_input(args: argparse.Namespace | Args, now_s: float) -> bytes:
    if args.preview:
        if args.payload and args.payload != "-":
            with open(args.payload, "rb") as fh:
                return fh.read()
        if not args.payload:
            import json

            from cchooks.statusline.sample import sample_payload

            return json.dumps(sample_payload(now_s)).encode()
    from cchooks.statusline.delegate import read_payload

    if sys.stdin is None:  # started with stdin closed: an empty payload, which the refresh logs as such
        return b""
    return read_payload(sys.stdin.buffer)


def _open_ledger(args: argparse.Namespace | Args) -> tuple[Ledger | None, str | None]:
    """The ledger (None when there is none or it cannot be opened) and, when it exists but cannot
    be opened, a short problem for the line."""
    import os

    from cchooks.paths import ledger_file

    path = ledger_file(args.ledger)
    existed = os.path.exists(path)
    ledger = _open_ledger_quietly(args)
    if ledger is None and not args.preview:
        return None, "ledger unreadable" if existed else "ledger cannot be created"
    return ledger, None


def _open_ledger_quietly(args: argparse.Namespace | Args) -> Ledger | None:
    from cchooks.hooks.log import log_error
    from cchooks.ledger.store import Ledger

    if args.preview:
        from pathlib import Path

        from cchooks.paths import default_ledger_path

        path = Path(args.ledger).expanduser() if args.ledger else default_ledger_path()
        if not path.exists():
            return None
        try:
            return Ledger.open(path, readonly=True)
        except Exception as exc:
            log_error("statusline --preview", exc, "cannot open the ledger read-only")
            return None
    try:
        from cchooks.ledger.live import open_hot

        return open_hot(args.ledger, BUSY_MS, lazy_triggers=True)  # a refresh usually only reads
    except Exception as exc:
        log_error("statusline", exc, "cannot open the ledger for writing; trying read-only")
    try:
        return Ledger.open(args.ledger, readonly=True)
    except Exception:
        return None


def _cache() -> Any:
    from cchooks.statusline import cache

    return cache


def _session_files(args: argparse.Namespace | Args, payload: StatusPayload) -> list[TranscriptFile]:
    """The transcripts this refresh reads (listed once: the cache key, the ingest and
    `<ledger>.seen` all use them); none for a preview or with --no-ingest."""
    if args.preview or args.no_ingest or not payload.transcript_path:
        return []
    from cchooks.ledger.transcripts import session_files

    return session_files(payload.transcript_path)


def _cache_key(
    args: argparse.Namespace | Args, payload: StatusPayload, files: list[TranscriptFile], argv: list[str]
) -> tuple[str, str, str] | None:
    """(ledger file, session, key) of this refresh for the render cache (cchooks.statusline.cache),
    or None when it is not cached (previews, payloads without a session)."""
    import os

    if args.preview or not payload.valid or not payload.session_id:
        return None
    from cchooks.paths import config_file_str, ledger_file

    ledger = ledger_file(args.ledger)
    config_file = os.path.abspath(args.config or config_file_str())
    key = _cache().make_key(payload, argv, ledger, config_file, [tf.path for tf in files])
    return ledger, payload.session_id, key


def _all_seen(ledger: Ledger, files: list[TranscriptFile]) -> bool:
    """Every file read to its end already (`<ledger>.seen`: a hook, or the last refresh, did)."""
    from cchooks.hooks.log import log_error
    from cchooks.ledger import seen

    try:
        return seen.all_read(ledger.path_str, [tf.path for tf in files])
    except Exception as exc:
        log_error("statusline seen", exc)
        return False


def _update_ledger(
    ledger: Ledger, payload: StatusPayload, now: int, files: list[TranscriptFile], stop_at: float | None = None
) -> None:
    """Ingest the new bytes of `files` and record official rate-limit snapshots; never raises."""
    from cchooks.hooks.log import log_error
    from cchooks.ledger.live import is_locked_error, record_snapshots

    if files and payload.transcript_path and not _all_seen(ledger, files):
        try:
            from cchooks.ledger.ingest import ingest_session

            result = ingest_session(ledger, payload.transcript_path, stop_at, files)
            for err in result.errors:
                log_error("statusline ingest", message=err)
            if result.complete:
                from cchooks.ledger import seen

                seen.record(ledger, [tf.path for tf in files])
        except Exception as exc:
            if not is_locked_error(exc):
                log_error("statusline ingest", exc)
    if payload.rate_limits:
        try:
            record_snapshots(ledger, payload.snapshots(now))
        except Exception as exc:
            if not is_locked_error(exc):
                log_error("statusline rate-limit snapshot", exc)


def _segments(settings: StatuslineSettings) -> set[str]:
    return {name for line in settings.lines for name in line}


def render(
    payload: StatusPayload,
    ledger: Ledger | None,
    settings: StatuslineSettings,
    now: int,
    problem: str | None = None,
) -> list[str]:
    from cchooks.hooks.log import log_error
    from cchooks.statusline.figures import gather
    from cchooks.statusline.render import render_lines

    def on_error(what: str, exc: BaseException) -> None:
        log_error(f"statusline {what}", exc)

    figures = gather(payload, ledger, settings, now, _segments(settings), on_error)
    figures.ledger_problem = figures.ledger_problem or problem
    return render_lines(figures, settings)


def _combine(ours: list[str], theirs: str, settings: StatuslineSettings) -> list[str]:
    if not theirs:
        return ours
    if not ours:
        return theirs.split("\n")
    other = theirs.split("\n")
    if settings.chain_position == "below":
        return ours + other
    if settings.chain_position == "left":
        return [other[0] + settings.separator + ours[0], *ours[1:], *other[1:]]
    return [ours[0] + settings.separator + other[0], *ours[1:], *other[1:]]


def settings_for(args: argparse.Namespace | Args) -> StatuslineSettings:
    """The statusline settings (config file, then `--color`); a broken config is logged and the
    defaults are used."""
    from cchooks.hooks.log import log_error, log_warning
    from cchooks.statusline.settings import StatuslineSettings

    try:
        from cchooks.statusline.settings import load_settings

        settings = load_settings(args.config)
    except Exception as exc:
        log_error("statusline config", exc)
        settings = StatuslineSettings()
    if settings.problems:
        log_warning("statusline config", "; ".join(settings.problems))
    if args.color == "always":
        settings.colors = True
    elif args.color == "never":
        settings.colors = False
    return settings


def time_limit(args: argparse.Namespace | Args, settings: StatuslineSettings) -> float:
    """Seconds a refresh may take: `--timeout`, else `[statusline] timeout`."""
    return float(args.timeout) if args.timeout and args.timeout > 0 else settings.timeout


def compose(
    args: argparse.Namespace | Args,
    settings: StatuslineSettings,
    data: bytes,
    state: dict[str, Any],
    argv: list[str],
    stop_at: float | None,
) -> list[str]:
    """The lines of one refresh from its stdin `data`, at `state["now"]` (the payload parsed goes in
    `state["payload"]`): ingest, rate-limit snapshots, render, the render cache. No chain and no
    time limit: `run` adds those; `cchooks serve` calls this for the refreshes it serves
    (cchooks.server.statusline_socket)."""
    from cchooks.hooks.log import log_warning
    from cchooks.statusline.payload import parse_payload

    now = state["now"]
    payload = state["payload"] = parse_payload(data)
    if not payload.valid:
        log_warning("statusline", f"stdin is not a JSON object ({len(data)} bytes)")
    files = _session_files(args, payload)
    cached = _cache_key(args, payload, files, argv)
    hit: list[str] | None = None if cached is None else _cache().lookup(cached[0], cached[1], cached[2], now)
    if hit is not None:
        return hit
    ledger, problem = _open_ledger(args)
    wrote = False
    try:
        if ledger is not None and not args.preview:
            _update_ledger(ledger, payload, now, files, stop_at=stop_at)
        lines = render(payload, ledger, settings, now, problem)
    finally:
        if ledger is not None:
            # A refresh that wrote (a new response, a snapshot, a migration) changed the ledger's
            # stats after its key was taken: the next key differs, so its render is never reused.
            wrote = ledger.has_written()
            ledger.close()
    if cached is not None and ledger is not None and problem is None and lines and not wrote:
        _cache().store(cached[0], cached[1], cached[2], now, lines)
    return lines


def run(args: argparse.Namespace | Args) -> int:
    import time

    from cchooks.hooks.log import Deadline, log_error
    from cchooks.statusline.payload import StatusPayload

    settings = settings_for(args)
    state: dict[str, Any] = {"payload": StatusPayload(), "now": int(time.time() * 1000)}

    def last_words() -> None:
        if state.get("chain") is not None:
            state["chain"].kill()
        from cchooks.statusline.render import fallback_line

        lines = render(state["payload"], None, settings, state["now"]) or [fallback_line()]
        sys.stdout.write("\n".join(lines) + "\n")

    timeout = time_limit(args, settings)
    deadline = Deadline(timeout, "statusline", last_words).start()
    stop_at = time.monotonic() + timeout * INGEST_SHARE
    chain: _Chain | None = None
    lines: list[str] = []
    try:
        now_s = time.time()
        state["now"] = int(now_s * 1000)
        data = _read_input(args, now_s)
        if args.chain:
            try:
                chain = state["chain"] = _Chain(args.chain, data)
            except Exception as exc:
                log_error("statusline --chain", exc)
        lines = compose(args, settings, data, state, sys.argv[1:], stop_at)
    except Exception as exc:
        log_error("statusline", exc)
        try:
            lines = render(state["payload"], None, settings, state["now"])
        except Exception:
            lines = []
    if chain is not None:
        try:
            lines = _combine(lines, chain.output(settings.chain_timeout), settings)
        except Exception as exc:
            log_error("statusline --chain", exc)
    if not lines:
        from cchooks.statusline.render import fallback_line

        lines = [fallback_line()]
    if deadline.claim():
        try:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
        except (OSError, AttributeError):  # a closed pipe, or no stdout at all (sys.stdout is None)
            pass
    deadline.done()
    return 0
