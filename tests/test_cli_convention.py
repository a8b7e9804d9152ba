"""One CLI convention (issue #9): shared flags declared once, inapplicable flags rejected, clear
errors from one place, examples under --help and a reference page kept current."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cchooks.cli import COMMANDS, EXAMPLES, command_parser, main, reference

ROOT = Path(__file__).resolve().parent.parent


def test_reference_page_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == reference(), (
        "docs/cli.md is stale: python -m cchooks.cli --reference > docs/cli.md"
    )


def test_every_command_has_examples_and_exit_codes() -> None:
    for name in COMMANDS:
        text = command_parser(name).format_help()
        assert EXAMPLES[name] and "examples:" in text and "exit codes:" in text, name


def test_shared_flags_declared_once() -> None:
    """--ledger / --claude-dir / --config get their help text from cchooks.commands.common only."""
    hits = []
    for p in (ROOT / "cchooks").rglob("*.py"):
        if p.name == "common.py":
            continue
        text = p.read_text()
        for needle in ('"ledger file', '"Claude config dir(s)', '"config file (default', "add_argument(\"--claude-dir\""):
            if needle in text:
                hits.append(f"{p.name}: {needle}")
    assert hits == []
    for name in ("report", "ingest", "limits", "monitor", "reconcile", "status", "hook", "statusline", "watch"):
        text = command_parser(name).format_help()
        assert "ledger file (default: $CCHOOKS_LEDGER" in " ".join(text.split()), name


def test_config_flag_on_every_config_reader() -> None:
    for name in ("report", "limits", "monitor", "reconcile", "status", "statusline", "hook"):
        assert "--config" in command_parser(name).format_help(), name


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["report", "daily", "--active"], "--active applies only to report blocks"),
        (["report", "blocks", "--session", "x"], "--session applies only to report daily"),
        (["report", "blocks", "--breakdown"], "--breakdown applies only"),
    ],
)
def test_inapplicable_flags_are_rejected(argv: list[str], needle: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([*argv, "--ledger", str(tmp_path / "l.db"), "--no-ingest"]) == 2
    assert needle in capsys.readouterr().err


def test_missing_claude_dir_is_an_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["ingest", "--claude-dir", str(tmp_path / "nope"), "--ledger", str(tmp_path / "l.db")])
    assert code == 2
    assert "no such directory" in capsys.readouterr().err


def test_no_claude_dir_says_where_it_looked(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["ingest", "--ledger", str(tmp_path / "l.db")]) == 0
    err = capsys.readouterr().err
    assert "no Claude config dir found" in err and ".claude" in err


def test_install_settings_dir_has_its_own_name(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    text = command_parser("install").format_help()
    assert "--settings-dir" in text and "--claude-dir" not in text
    with pytest.raises(SystemExit):
        main(["install", "--claude-dir", str(tmp_path)])


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("CCHOOKS_DEBUG", None)
    out = subprocess.run(
        [sys.executable, "-m", "cchooks", "report", "daily", "--no-ingest", "--ledger", str(blocker / "l.db")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    env["CCHOOKS_DEBUG"] = "1"
    debug = subprocess.run(
        [sys.executable, "-m", "cchooks", "report", "daily", "--no-ingest", "--ledger", str(blocker / "l.db")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert "Traceback" in debug.stderr


def test_public_api_exports_what_it_lists() -> None:
    import typing

    import cchooks
    import cchooks.api

    for name in cchooks.api.__all__:
        assert getattr(cchooks, name) is getattr(cchooks.api, name), name
    for name in cchooks.__all__:
        getattr(cchooks, name)
    hints = typing.get_type_hints(cchooks.api.report)
    assert typing.get_args(hints["group"]) == (
        "daily", "weekly", "monthly", "session", "project", "model", "agent", "total",
    )  # fmt: skip
