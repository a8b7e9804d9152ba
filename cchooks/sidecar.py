"""Small JSON files beside the ledger that the hot paths keep (`<ledger>.seen`, `<ledger>.statusline`):
read without the `json` package (7 ms of imports), written atomically. They are shortcuts: one
that cannot be read is as good as absent, and one that cannot be written is simply not kept."""

from __future__ import annotations

import os


def read_json(path: str) -> object | None:
    """The decoded file, or None when it is missing or unreadable."""
    from cchooks.fastjson import loads

    try:
        with open(path, "rb") as fh:
            data: object = loads(fh.read())
    except (OSError, ValueError):
        return None
    return data


def write_atomic(path: str, text: str) -> None:
    """Replace `path` with `text` (0600) in one step; never raises for the file itself."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        try:  # noqa: SIM105 - contextlib is not loaded on the hot path
            os.unlink(tmp)
        except OSError:
            pass
