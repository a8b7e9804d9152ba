"""End to end with the real Claude Code 2.1.330: `cchooks install` into the harness's config dir,
real scenarios, and the ledger filled by cchooks' hooks alone equals the mock's ground truth.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cchooks.ledger import Ledger
from tests.realclaude import harness
from tests.realclaude.fixtures import realclaude, realclaude_ready  # noqa: F401

pytestmark = pytest.mark.realclaude


def _install(config_dir: Path, home: Path) -> None:
    env = harness.clean_env({"HOME": str(home), "CLAUDE_CONFIG_DIR": str(config_dir)})
    subprocess.run(
        [sys.executable, "-m", "cchooks", "install", "--settings-dir", str(config_dir)],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip


def _ledger_rows(path: Path) -> dict[str, dict[str, Any]]:
    with Ledger.open(path) as led:
        return {r.request_id: {"session": r.session_id, "agent": r.agent_id, "message_id": r.message_id,
                               "input": r.input_tokens, "output": r.output_tokens,
                               "c5": r.cache_creation_5m_tokens, "c1": r.cache_creation_1h_tokens,
                               "cr": r.cache_read_tokens} for r in led.records()}  # fmt: skip


def _truth(responses: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for r in responses:
        u = r["usage"]
        out[r["request_id"]] = {
            "session": r["session_id"], "agent": r["agent_id"], "message_id": r["message_id"],
            "input": u["input_tokens"], "output": u["output_tokens"],
            "c5": u["cache_creation"]["ephemeral_5m_input_tokens"],
            "c1": u["cache_creation"]["ephemeral_1h_input_tokens"], "cr": u["cache_read_input_tokens"],
        }  # fmt: skip
    return out


def test_hooks_alone_fill_the_ledger_with_the_ground_truth(
    realclaude: Callable[..., harness.RunResult], tmp_path: Path  # noqa: F811
) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    scenarios = ["p-json", "p-protobuf", "p-resume", "p-continue", "p-fork", "p-slow"]
    res = realclaude(scenarios, settings_hook=_install, capture_hooks=False, capture_statusline=False,
                     env={"CCHOOKS_LEDGER": str(ledger)}, settle=1)  # fmt: skip
    assert res.ok, res.describe()
    settings = json.loads((res.config_dir / "settings.json").read_text())
    assert any("cchooks" in h["command"] for g in settings["hooks"]["Stop"] for h in g["hooks"])
    # the command form `cchooks install` prefers: the interpreter without `site`, via the -S launcher
    stop = [h["command"] for g in settings["hooks"]["Stop"] for h in g["hooks"]]
    assert any(" -S " in c and "/cchooks/hot.py" in c and c.endswith(" hook Stop") for c in stop), stop

    truth: dict[str, dict[str, Any]] = {}
    for name in scenarios:
        truth.update(_truth(res[name].responses))
    assert len(truth) == 21  # 6 + 6 + 1 + 1 + 1 + 6 API responses, none of them compaction
    got = _ledger_rows(ledger)
    assert got == truth
    # the fork is credited only its own call; the copied history stays with its parent
    fork = res["p-fork"].session_id
    assert [r for r in got.values() if r["session"] == fork] == list(_truth(res["p-fork"].responses).values())
    # nothing was read by anything but the hooks: no other process touched this ledger
    with Ledger.open(ledger) as led:
        files = led.conn.execute("SELECT count(*) FROM files").fetchone()[0]
    assert files == len(res.transcripts)
