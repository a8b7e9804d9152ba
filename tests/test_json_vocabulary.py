"""Every command's --json against docs/json.md: one vocabulary, schema_version, one rounding rule."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cchooks.cli import main
from cchooks.totals import TOTALS_KEYS

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "json.md").read_text()
GONE = {"records", "schema", "cost_per_hour", "responses_in_ledger", "unpriced_records", "used_tokens_all"}


def _documented_totals_keys() -> list[str]:
    block = DOC.split("<!-- totals-keys -->")[1].split("<!-- /totals-keys -->")[0]
    return re.findall(r"^\| `([a-z0-9_]+)` \|", block, re.M)


def test_doc_lists_exactly_the_totals_keys() -> None:
    assert _documented_totals_keys() == list(TOTALS_KEYS)


def _walk(doc: Any, path: str = "$") -> list[tuple[str, dict[str, Any]]]:
    out = []
    if isinstance(doc, dict):
        out.append((path, doc))
        for k, v in doc.items():
            out += _walk(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _walk(v, f"{path}[{i}]")
    return out


def _check(doc: dict[str, Any]) -> int:
    """Checks one document; returns how many totals objects it holds."""
    assert next(iter(doc)) == "schema_version" and doc["schema_version"] == 1
    totals = 0
    for path, obj in _walk(doc):
        assert not (GONE & set(obj)), (path, GONE & set(obj))
        if "input_tokens" in obj and "cache_read_tokens" in obj and "output_tokens" in obj:
            missing = set(TOTALS_KEYS) - set(obj)
            assert not missing, (path, missing)
            totals += 1
        for k, v in obj.items():
            if k.endswith("_usd") and v is not None:
                assert isinstance(v, int | float) and v == round(v, 6), (path, k, v)
    return totals


@pytest.fixture
def env(claude_dir: Path, tmp_path: Path) -> list[str]:
    return ["--ledger", str(tmp_path / "l.db"), "--claude-dir", str(claude_dir)]


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "daily", "--tz", "UTC", "--breakdown"],
        ["report", "weekly"],
        ["report", "monthly"],
        ["report", "session"],
        ["report", "project"],
        ["report", "model"],
        ["report", "agent"],
        ["report", "blocks"],
        ["limits"],
        ["reconcile"],
        ["ingest"],
        ["status"],
        ["analyze"],
    ],
)
def test_every_json_output_speaks_the_vocabulary(argv: list[str], env: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    code = main([*argv, "--json", *env])
    out = capsys.readouterr().out
    assert code in (0, 1), out  # status exits 1 when it finds problems (e.g. nothing installed)
    n = _check(json.loads(out))
    if argv[0] in ("report", "limits", "reconcile", "analyze"):
        assert n > 0


def test_team_json_outputs_speak_the_vocabulary(pg_server, env: list[str], monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The team ledger's --json (tests/pgserver.py: a real PostgreSQL)."""
    from tests.pgserver import ADMIN_PASSWORD

    monkeypatch.setenv("PGPASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("CCHOOKS_TEAM_URL", pg_server.url(pg_server.new_database()))
    assert main(["team", "init"]) == 0
    ledger = env[:2]
    for argv, totals in (
        (["team", "sync", *env], 0),
        (["report", "daily", "--team", "--breakdown", *ledger], 1),
        (["report", "session", "--team", "--by", "host", *ledger], 1),
        (["report", "model", "--team", "--by", "user", *ledger], 1),
        (["limits", "--team", "--no-ingest", *ledger], 1),
        (["team", "hosts", *ledger], 1),
    ):
        capsys.readouterr()
        assert main([*argv, "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        n = _check(doc)
        assert n >= totals, argv
    # The dashboard's /api/team: the daemon's team view (TeamSync.document), and without a team.
    from cchooks.team.daemon import team_sync

    team = team_sync(None, ledger[1])
    assert team is not None
    team.keep_view = True
    team.sync_once(snapshot=False)
    team.close()
    doc = json.loads(json.dumps(team.document()))
    assert not doc["pending"] and _check(doc) >= 1 + 3 + 2 * len(doc["hosts"]) * 2  # totals, pool, hosts, by_host
    import asyncio

    from cchooks.server.dashboard import Dashboard

    for dash in (Dashboard(ledger[1], team=team.document), Dashboard(ledger[1])):
        _check(json.loads(bytes(asyncio.run(dash.api_team(None)).body)))  # type: ignore[arg-type]


def test_import_and_report_imported_json_speak_the_vocabulary(env: list[str], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    daily = {"daily": [{"date": "2026-11-22", "inputTokens": 1, "outputTokens": 2, "cacheCreationTokens": 3,
                        "cacheReadTokens": 4, "totalTokens": 10, "totalCost": 0.5, "modelsUsed": ["claude-opus-5-5"]}]}
    path = tmp_path / "daily.json"
    path.write_text(json.dumps(daily))
    assert main(["import", str(path), "--json", "--ledger", env[1]]) == 0
    assert _check(json.loads(capsys.readouterr().out)) == 1
    assert main(["report", "daily", "--imported", "--json", *env]) == 0
    assert _check(json.loads(capsys.readouterr().out)) >= 3


@pytest.mark.parametrize("argv", [["entries", "list"], ["entries", "audit"], ["entries", "add", "10", "2"]])
def test_entries_json_speaks_the_vocabulary(argv: list[str], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # `entries` reads no transcripts, so it takes no --claude-dir.
    assert main(["entries", "add", "100", "20", "--model", "claude-opus-5-5", "--ledger", str(tmp_path / "l.db")]) == 0
    capsys.readouterr()
    assert main([*argv, "--json", "--ledger", str(tmp_path / "l.db")]) == 0
    _check(json.loads(capsys.readouterr().out))
    # A report over manual entries: its `manual` and `totals_with_manual` are totals objects too.
    assert main(["report", "daily", "--json", "--no-ingest", "--ledger", str(tmp_path / "l.db")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert _check(doc) == 4 and doc["manual"]["rows"][0]["input_tokens"] >= 100
