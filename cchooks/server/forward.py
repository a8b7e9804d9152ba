"""Relay of received OTLP/HTTP bodies to an upstream collector (`cchooks otlp serve --forward`)."""

from __future__ import annotations

import contextlib
import queue
import threading
import urllib.request
from typing import Any


class Forwarder:
    """Relays received bodies to an upstream OTLP/HTTP collector from a background thread.

    Never blocks a request and never fails the local store: when the queue is full the
    body is dropped (and counted); upstream errors are counted, not retried.
    """

    def __init__(self, base_url: str, *, max_queue: int = 1000, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._queue: queue.Queue[tuple[str, bytes, dict[str, str]] | None] = queue.Queue(maxsize=max_queue)
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="cchooks-otlp-forward", daemon=True)
        self._thread.start()

    def offer(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            self._queue.put_nowait((path, body, headers))
        except queue.Full:
            self.dropped += 1

    def stop(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            path, body, headers = item
            req = urllib.request.Request(self.base_url + path, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    resp.read()
                self.sent += 1
            except Exception:
                self.failed += 1

    def to_json(self) -> dict[str, Any]:
        return {"url": redact_url(self.base_url), "sent": self.sent, "failed": self.failed, "dropped": self.dropped}


def redact_url(url: str) -> str:
    """`url` without its `user:password@` part (for display: /healthz, logs)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if "@" not in parts.netloc:
            return url
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))  # a query may hold a key too
    except ValueError:
        return "<unparseable url>"
