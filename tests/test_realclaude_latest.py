"""The newest Claude Code release of the compatibility matrix, live: the real CLI (offline harness,
harness.LATEST_VERSION) writes transcripts and OTLP, and the ledger holds every call the mock
answered exactly once with its exact usage, transcripts alone and with OTLP.

CI installs it beside 2.1.330 (.ci/run: install_deps.sh with CC_VERSION and its own prefix).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cchooks.ledger.ingest import ingest_config_dirs
from cchooks.ledger.otlp_store import store_batches
from cchooks.ledger.reconcile import reconcile_ledger
from cchooks.ledger.store import Ledger
from cchooks.parsers.otlp import decode
from tests.realclaude import harness
from tests.realclaude.fixtures import realclaude_latest_ready  # noqa: F401

pytestmark = pytest.mark.realclaude
SCENARIOS = ["p-json", "p-protobuf", "p-fork"]


def _usage(t: dict[str, Any]) -> tuple[int, int, int, int, int]:
    u = t["usage"]
    return (u["input_tokens"], u["output_tokens"], u["cache_read_input_tokens"], u["cache_creation_input_tokens"],
            u.get("cache_creation", {}).get("ephemeral_5m_input_tokens", 0))  # fmt: skip


def _rec(r: Any) -> tuple[int, int, int, int, int]:
    return (r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_creation_tokens, r.cache_creation_5m_tokens)


def test_newest_release_is_exact_live(realclaude_latest_ready: Path, tmp_path: Path) -> None:  # noqa: F811
    res = harness.run_scenarios(tmp_path / "cc", SCENARIOS, claude_bin=realclaude_latest_ready)
    assert res.ok, res.describe()
    truth = {t["message_id"]: (s, t) for s in SCENARIOS for t in res[s].responses}
    assert truth
    batches = [decode(e["path"].rstrip("/").rsplit("/", 1)[-1], raw,
                      "protobuf" if "protobuf" in e["content_type"] else "json")
               for s in SCENARIOS for e, raw in res[s].otlp_bodies() if "/v1/traces" not in e["path"]]  # fmt: skip

    with Ledger.open(tmp_path / "transcripts.sqlite3") as ledger:
        ingest_config_dirs(ledger, res.config_dir)
        alone = list(ledger.records())
    for r in alone:  # every response the transcripts show, once, credited to its session
        scenario, t = truth[r.message_id]
        assert r.session_id == res[scenario].session_id, t["step"]
        assert _rec(r) == _usage(t) or (r.partial and _rec(r)[:1] + _rec(r)[2:] == _usage(t)[:1] + _usage(t)[2:])
    assert len({r.message_id for r in alone}) == len(alone)

    with Ledger.open(tmp_path / "both.sqlite3") as ledger:
        store_batches(ledger, batches)
        ingest_config_dirs(ledger, res.config_dir)
        reconcile_ledger(ledger, learn=False)
        records = list(ledger.records())
    # with OTLP: every call the mock answered, once, exact
    assert sorted(_rec(r) for r in records) == sorted(_usage(t) for _s, t in truth.values())
    by_mid = {r.message_id: r for r in records if r.message_id}
    for mid, (scenario, t) in truth.items():
        r = by_mid.get(mid) or next(x for x in records if x.request_id == t["request_id"])
        assert r.session_id == res[scenario].session_id and not r.partial, t["step"]
