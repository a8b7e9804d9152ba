"""One module per `cchooks` command, each with `add_arguments(parser)` and `run(args)`.

The hot commands (`hook`, `statusline`) also have `fast_args(argv)`: it parses the forms
`cchooks install` writes (and the other plain ones) without argparse, which with gettext,
locale and shutil costs ~5 ms per run; it returns None for anything else (`--help`, an
unknown or abbreviated option, a value that looks like an option, a bad number...), and the
command line is then parsed by argparse as usual. tests/test_hot_path.py checks that both
give the same attributes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any


class Args:
    """Parsed arguments with the attributes argparse would give (a Namespace without argparse)."""

    def __init__(self, values: dict[str, object]) -> None:
        self.__dict__.update(values)

    if TYPE_CHECKING:  # attributes are dynamic, like argparse.Namespace's

        def __getattr__(self, name: str) -> Any: ...

    def __repr__(self) -> str:
        return "Args(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


def parse_simple(
    argv: Sequence[str],
    options: Mapping[str, object],
    positional: str | None = None,
    defaults: Mapping[str, object] | None = None,
) -> Args | None:
    """Parse `argv` against `options` (``"--name"`` -> ``bool`` for a flag, ``str``/``float`` for
    a value, or a tuple of allowed strings), at most one optional positional; None when unsure.
    """
    values: dict[str, object] = {}
    for opt, kind in options.items():
        values[opt[2:].replace("-", "_")] = False if kind is bool else None
    if positional is not None:
        values[positional] = None
    values.update(defaults or {})
    have_positional = False
    i, n = 0, len(argv)
    while i < n:
        word = argv[i]
        i += 1
        if not word.startswith("-"):
            if positional is None or have_positional:
                return None
            values[positional] = word
            have_positional = True
            continue
        name, eq, value = word.partition("=")
        kind = options.get(name)
        if kind is None:
            return None
        dest = name[2:].replace("-", "_")
        if kind is bool:
            if eq:
                return None
            values[dest] = True
            continue
        if not eq:
            if i >= n or argv[i].startswith("-"):
                return None
            value = argv[i]
            i += 1
        if kind is float:
            try:
                values[dest] = float(value)
            except ValueError:
                return None
        elif isinstance(kind, tuple):
            if value not in kind:
                return None
            values[dest] = value
        else:
            values[dest] = value
    return Args(values)


def run_command(module: Any, args: object) -> int:
    """`module.run(args)` as every command runs: an error becomes one line and an exit code
    (`cchooks.cli.report_error`, imported only then), Ctrl-C 130, a closed stdout 0. Here, not in
    cchooks.cli, so the hot paths (cchooks/launch_hot.py) run their command without importing
    the whole command line's tables."""
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the one place errors become a message and an exit code
        from cchooks.cli import report_error

        return report_error(exc)
