"""The `-S` launcher's logic: `python -S /abs/.../cchooks/hot.py [--sys-path DIR]... <command> ...`.

`cchooks install` writes the hook and statusLine commands in this form (when it works, see
`cchooks.installers.commands.command_prefix`)::

    /abs/python -S /abs/site-packages/cchooks/hot.py hook Stop
    /abs/python -S /abs/src/cchooks/hot.py --sys-path /abs/venv/lib/python3.11/site-packages statusline

Claude Code runs the statusline on every refresh and a hook after every tool call, so the
interpreter's start-up counts: `python -c pass` takes 40-55 ms on a machine whose
site-packages holds a few .pth files (an editable install's finder, a certificate hook...),
because `site` runs every one of them and they import `typing`, `re` and more; `python -S
-c pass` takes about 12 ms. Without `site`, site-packages is not on sys.path and no .pth file
is processed, so the launcher puts on sys.path, after the standard library (the order a
normal start gives, so nothing shadows a standard module):

1. the directory holding the `cchooks` package, i.e. the one `hot.py` is in (done by
   hot.py itself, which also drops its own directory from sys.path[0]);
2. each `--sys-path DIR` given before the command: `cchooks install` passes the directory
   cchooks' dependencies are installed in (the site-packages of the interpreter that ran
   the install) when it is not the one of 1.;
3. each entry of `$CCHOOKS_SYS_PATH` (os.pathsep-separated), a way to add more by hand.

The rest of the command line goes to `cchooks.cli.main` unchanged. Nothing on the hot path
needs .pth processing: it uses the standard library, cchooks itself and, only for unusual
directory layouts, platformdirs (a plain package, found through 2.).

`hot.py --check` imports the hot path's modules and prints `cchooks-hot-ok <version>`:
`cchooks install` runs it once to decide whether to write this form (else `-m cchooks`).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

CHECK_MODULES = (
    "cchooks.cli",
    "cchooks.commands.hook",
    "cchooks.commands.statusline",
    "cchooks.hooks.handlers",
    "cchooks.hooks.log",
    "cchooks.ledger.ingest",
    "cchooks.ledger.live",
    "cchooks.pricing",
    "cchooks.statusline.delegate",
    "cchooks.statusline.render",
    "platformdirs",
)
CHECK_OK = "cchooks-hot-ok"
# The commands Claude Code runs (what `cchooks install` writes), dispatched without cchooks.cli.
HOT_COMMANDS = {"hook": "cchooks.commands.hook", "statusline": "cchooks.commands.statusline"}


def setup(argv: list[str]) -> list[str]:
    """Add the `--sys-path` and `$CCHOOKS_SYS_PATH` directories to sys.path; returns the rest of argv."""
    dirs: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--sys-path" and i + 1 < len(argv):
            dirs.append(argv[i + 1])
            i += 2
        elif word.startswith("--sys-path="):
            dirs.append(word[len("--sys-path=") :])
            i += 1
        else:
            break
    dirs.extend(d for d in os.environ.get("CCHOOKS_SYS_PATH", "").split(os.pathsep) if d)
    for d in dirs:
        if d not in sys.path:
            sys.path.append(d)
    return argv[i:]


def check() -> int:
    import importlib

    import cchooks

    for name in CHECK_MODULES:
        importlib.import_module(name)
    print(f"{CHECK_OK} {cchooks.__version__}")
    return 0


def exit_now(code: int) -> NoReturn:
    """End the process with `code`, skipping the interpreter's teardown.

    Tearing down frees every module and object one by one: ~5 ms of a statusline refresh
    that read the ledger, which the next refresh would not notice. What a hot path leaves
    is flushed first (stdout, stderr, the log's handlers). Its ledger connection may still be
    open (`Ledger.close` leaves it so while the write-ahead log is short): every transaction
    is committed by then, and the next process reads the log back, as after a kill.
    """
    try:
        if "logging" in sys.modules:
            sys.modules["logging"].shutdown()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except Exception:  # a closed pipe or a full disk: the normal exit would not fare better
        pass
    os._exit(code)


def main(argv: list[str]) -> int:
    rest = setup(argv)
    if rest == ["--check"]:
        return check()
    if rest[:1] == ["statusline"]:
        try:
            from cchooks.statusline.delegate import try_daemon

            served = try_daemon(rest[1:])
        except Exception:  # asking the daemon must never cost the refresh: do it here
            served = None
        if served is not None:
            return served
    module_name = HOT_COMMANDS.get(rest[0]) if rest else None
    if module_name is not None:
        import cchooks.ledger

        cchooks.ledger.leave_open_at_exit = True  # this process ends with exit_now
        # The usual command line of a hot command: straight to it, without cchooks.cli's
        # tables (~1.5 ms to import); anything fast_args is unsure of goes through cchooks.cli.
        __import__(module_name)
        module = sys.modules[module_name]
        args = module.fast_args(rest[1:])
        if args is not None:
            from cchooks.commands import run_command

            return run_command(module, args)
    from cchooks.cli import main as cli_main

    return cli_main(rest)
