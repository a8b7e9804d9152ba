"""Small JSON files beside the ledger that the hot paths keep (`<ledger>.seen`, `<ledger>.statusline`):
read without the `json` package (7 ms of imports), written atomically or overwritten in place
(`overwrite`). They are shortcuts: one that cannot be read is as good as absent, and one that
cannot be written is simply not kept."""

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


def overwrite(path: str, text: str) -> None:
    """Write `text` over `path` in place (0600 when made); never raises for the file itself.

    For a file any of whose torn states is harmless to its readers (`cchooks.ledger.seen`):
    ext4 flushes a file's data when it is renamed over another or truncated to zero, ~0.4 ms
    of every hook or statusline run that reads a new response; a write at offset 0 and a
    truncation to the new length are not flushed. A reader may see a prefix of the new bytes
    or the new bytes followed by the old ones' tail (not JSON: absent), or, cut inside, a record
    whose entries are each the old or the new one (or one naming no real file's state): for
    `seen`, whose entries only ever let a hook skip a file whose stats still match, all a miss.
    """
    data = text.encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError:
        return
    try:
        view = memoryview(data)
        while view:  # a new descriptor writes from offset 0
            written = os.write(fd, view)
            if written <= 0:
                raise OSError("no progress writing " + path)
            view = view[written:]
        os.ftruncate(fd, len(data))
    except OSError:
        pass
    finally:
        os.close(fd)
