"""`cchooks serve` as a real process on a free port, for the tests that drive it over HTTP
(tests/test_dashboard_browser.py, tests/test_team_serve.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Variables of the developer's shell that would point a test's serve at a real team or token.
_NOT_INHERITED = ("CCHOOKS_TEAM_URL", "PGPASSWORD", "CCHOOKS_OTLP_TOKEN")


class Serve:
    """`cchooks serve --port 0` with HOME, the ledger and (unless `claude` is given, an empty)
    Claude config dir in `tmp`; `python` adds interpreter options (e.g. `-X importtime`)."""

    def __init__(
        self,
        tmp: Path,
        *extra: str,
        claude: Path | None = None,
        env: dict[str, str] | None = None,
        python: tuple[str, ...] = (),
    ) -> None:
        self.tmp = tmp
        self.ledger = tmp / "ledger.sqlite3"
        self.claude = claude or tmp / "claude"
        (self.claude / "projects").mkdir(parents=True, exist_ok=True)
        self.stderr = ""
        port_file = tmp / f"port-{time.monotonic_ns()}"
        base = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        self.env = dict(base, PYTHONPATH=str(ROOT), HOME=str(tmp / "home"), TZ="UTC", **(env or {}))
        self.proc = subprocess.Popen(
            [sys.executable, *python, "-m", "cchooks", "serve", "--port", "0", "--port-file", str(port_file),
             "--ledger", str(self.ledger), "--claude-dir", str(self.claude), *extra],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        for _ in range(600):
            if port_file.exists() or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not port_file.exists():
            self.stop()
            raise AssertionError("cchooks serve did not start: " + self.stderr[-3000:])
        self.port = int(port_file.read_text())
        self.base = f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> tuple[int, bytes]:
        with urllib.request.urlopen(self.base + path, timeout=30) as resp:
            return resp.status, resp.read()

    def json(self, path: str) -> Any:
        return json.loads(self.get(path)[1])

    def cli(self, *args: str) -> Any:
        """A `cchooks` command on the same ledger and environment; its JSON output."""
        out = subprocess.run([sys.executable, "-m", "cchooks", *args, "--ledger", str(self.ledger)],
                             env=self.env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def report(self, group: str, *extra: str) -> Any:
        return self.cli("report", group, "--json", "--no-ingest", "--tz", "UTC", *extra)

    def stop(self) -> None:
        """Terminate it (kill after 30 s) and keep what it wrote to stderr in `self.stderr`."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stderr is not None:
            self.stderr = self.proc.stderr.read().decode(errors="replace")
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()
