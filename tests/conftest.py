"""Shared test fixtures. Tests never touch the real ~/.claude or user dirs."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import settings

# One time zone for every test and every subprocess it starts, whatever the machine's: results
# that depend on local midnight must not change with where CI runs. Tests about zones name theirs.
os.environ["TZ"] = "UTC"
time.tzset()

# Under CI, hypothesis is derandomized (same examples every run: a red build is reproducible,
# never a lucky green one) and has no per-example deadline (two shared cores are slow at times).
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
if CI:
    settings.load_profile("ci")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI a skip is a failure: scripts/test installs everything, so a skip means a broken setup."""
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under CI (a skip here would hide a broken setup): {reason}"

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CC_FIXTURE = FIXTURES / "claude-code-2.1.330"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("CCHOOKS_LOG_DIR", str(home / "logs"))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CCHOOKS_LEDGER", raising=False)
    monkeypatch.delenv("CCHOOKS_CONFIG", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    return home


@pytest.fixture
def claude_dir(tmp_path: Path) -> Path:
    """A writable copy of the real Claude Code 2.1.330 config dir (transcripts included)."""
    dst = tmp_path / "claude"
    shutil.copytree(CC_FIXTURE / "config", dst)
    return dst


@pytest.fixture
def ground_truth() -> dict:
    return json.loads((CC_FIXTURE / "ground-truth.json").read_text())


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """One throwaway PostgreSQL server for the session (tests/pgserver.py); each test makes its own database."""
    from tests.pgserver import PgServer

    server = PgServer()
    yield server
    server.close()
