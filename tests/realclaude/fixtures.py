"""pytest fixtures for the real-Claude-Code harness.

Use them by importing into a test module (pytest picks up fixtures that a test
module imports) and mark the tests ``realclaude``::

    import pytest
    from tests.realclaude.fixtures import realclaude, realclaude_ready  # noqa: F401

    @pytest.mark.realclaude
    def test_something(realclaude, tmp_path):
        res = realclaude(["p-json"], env={"CCHOOKS_LEDGER": str(tmp_path / "ledger.db")})
        assert res.ok, res.describe()

``realclaude(scenarios, **kwargs)`` is ``harness.run_scenarios`` with a fresh
workdir under the test's tmp_path; it asks for tmux itself when "interactive" is
among the scenarios.

When unshare/ip/tmux or the Claude Code install is missing, or no network
namespace can be made, the test is skipped with the reason -- except under CI
(CI=true/1/yes), where it fails instead, because CI runs install_deps.sh first.
CCHOOKS_REALCLAUDE_INSTALL=1 makes the fixture run install_deps.sh itself once.
"""
from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.realclaude import harness

_install_tried: set[str] = set()  # versions whose install was attempted


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_realclaude(interactive: bool = False, version: str = harness.CC_VERSION) -> None:
    """Skip (or, under CI, fail) the current test unless the harness can run."""
    problem = harness.requirements_problem(interactive, version)
    if problem and os.environ.get("CCHOOKS_REALCLAUDE_INSTALL") == "1" and version not in _install_tried:
        _install_tried.add(version)
        env = {**os.environ, "CC_VERSION": version, "CCHOOKS_CLAUDE_PREFIX": str(harness.claude_prefix(version))}
        p = subprocess.run(["bash", str(harness.HERE / "install_deps.sh")], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=900, env=env)
        if p.returncode != 0:
            problem = f"install_deps.sh failed ({p.returncode}): {p.stderr[-2000:]}"
        else:
            problem = harness.requirements_problem(interactive, version)
    if problem is None:
        return
    if in_ci():
        pytest.fail(f"realclaude harness unavailable under CI: {problem}", pytrace=False)
    pytest.skip(f"realclaude harness unavailable: {problem}")


@pytest.fixture(scope="session")
def realclaude_ready() -> Path:
    """The claude executable, after the checks (skip / CI fail)."""
    require_realclaude(False)
    return harness.find_claude()


@pytest.fixture(scope="session")
def realclaude_latest_ready() -> Path:
    """The newest release's claude executable (harness.LATEST_VERSION), after the same checks."""
    require_realclaude(False, harness.LATEST_VERSION)
    return harness.find_claude(version=harness.LATEST_VERSION)


@pytest.fixture
def realclaude(realclaude_ready: Path, tmp_path: Path) -> Callable[..., harness.RunResult]:
    """``run(scenarios=("p-json",), **run_scenarios_kwargs) -> RunResult`` in tmp_path/ccN."""
    counter = itertools.count()

    def run(scenarios: Sequence[str] = ("p-json",), **kwargs: Any) -> harness.RunResult:
        if "interactive" in scenarios:
            require_realclaude(True)
        workdir = kwargs.pop("workdir", None) or tmp_path / f"cc{next(counter)}"
        return harness.run_scenarios(workdir, list(scenarios), claude_bin=realclaude_ready, **kwargs)

    return run
