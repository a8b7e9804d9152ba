"""`cchooks launch` around the real Claude Code 2.1.330 (offline namespace of tests/realclaude).

The harness runs a wrapper as its `claude`: the wrapper is `cchooks launch -- <args>`, which starts a
receiver, points the real claude at it (overriding the harness's telemetry endpoint), and stops the
receiver when claude exits. The ledger must then hold every call of the run, exactly once.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from cchooks.ledger.ingest import ingest_config_dirs
from cchooks.ledger.reconcile import reconcile_ledger
from cchooks.ledger.store import Ledger
from tests.realclaude import harness
from tests.realclaude.fixtures import realclaude_ready  # noqa: F401
from tests.test_otlp_common import ROOT

pytestmark = pytest.mark.realclaude


def test_launch_wraps_real_claude(realclaude_ready: Path, tmp_path: Path) -> None:  # noqa: F811
    ledger = tmp_path / "ledger.sqlite3"
    wrapper = tmp_path / "claude-via-launch"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {shlex.quote(sys.executable)} -m cchooks launch --quiet --port 4318"
        f' --ledger {shlex.quote(str(ledger))} --claude {shlex.quote(str(realclaude_ready))} -- "$@"\n'
    )
    wrapper.chmod(0o755)
    res = harness.run_scenarios(
        tmp_path / "cc", ["p-json"], claude_bin=wrapper, env={"PYTHONPATH": str(ROOT)}
    )
    assert res.ok, res.describe()
    truth = res["p-json"].responses
    assert len(truth) == 6
    with Ledger.open(ledger) as led:
        got = sorted(r for (r,) in led.conn.execute("SELECT request_id FROM otlp_api_requests"))
        assert got == sorted(t["request_id"] for t in truth)
        ingest_config_dirs(led, res.config_dir)
        reconcile_ledger(led)
        records = list(led.records())
    assert len(records) == 6 and {r.source for r in records} == {"both"}
    assert sum(r.input_tokens for r in records) == res["p-json"].usage_totals()["input"]
