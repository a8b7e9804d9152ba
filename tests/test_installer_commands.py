"""cchooks' own commands (cchooks.installers.commands): how they are written, recognised and run."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cchooks.installers import commands as ic
from cchooks.installers import settings as st
from tests.test_installer import OTHER_PREFIX, PREFIX, ROOT, env_for_subprocess, opts


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        ("/opt/venv/bin/python -m cchooks hook Stop", "hook"),
        ("'/my venv/bin/python3' -m cchooks hook PostToolUse", "hook"),
        ("/usr/bin/python3 -S -m cchooks statusline", "statusline"),
        ("/home/u/.local/bin/cchooks hook Stop", "hook"),
        ("cchooks statusline --chain 'ccusage statusline'", "statusline"),
        ("'/path with space/cchooks' statusline", "statusline"),
        ("CCHOOKS_DEBUG=1 /x/cchooks hook Stop", "hook"),
        ("/venv/bin/python -S /venv/lib/site/cchooks/hot.py hook Stop", "hook"),
        ("'/my venv/bin/py' -S '/my src/cchooks/hot.py' --sys-path '/my venv/site' statusline", "statusline"),
        ("/usr/bin/python3 -S -X importtime /s/cchooks/hot.py --sys-path=/a --sys-path /b hook Stop", "hook"),
        ("/usr/bin/python3 /src/cchooks/hot.py statusline --chain 'x y'", "statusline"),
        ("/usr/bin/python3 -S /src/cchooks/hot.py report", None),
        ("/usr/bin/python3 -S /src/other/hot.py hook Stop", None),
        ("/usr/bin/python3 wrapper.py /src/cchooks/hot.py hook Stop", None),  # the script is not ours
        ("python3 /tmp/ccwork/bin/capture_hook.py hook Stop", None),
        ("python3 /tmp/ccwork/bin/capture_hook.py statusline", None),
        ("ccusage statusline", None),
        ("sh -c 'cd /x && cchooks hook Stop'", None),  # a wrapper is the user's
        ("/x/cchooks report", None),
        ("echo 'unbalanced", None),
        ("", None),
    ],
)
def test_command_kind(command: str, kind: str | None) -> None:
    assert st.command_kind(command) == kind


def test_chained_command_roundtrip() -> None:
    old = """printf '%s' "it's $HOME" | tee /tmp/a\\ b"""
    ours = st.statusline_command(OTHER_PREFIX, old)
    assert st.command_kind(ours) == "statusline"
    assert st.chained_command(ours) == old
    assert st.chained_command(st.statusline_command(PREFIX)) is None


def test_command_prefix_forms(tmp_path: Path) -> None:
    odd = tmp_path / "we ird" / 'it\'s "q"'
    odd.mkdir(parents=True)
    python = odd / "python3"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    prefix = st.command_prefix(str(python))
    assert shlex.split(prefix) == [str(python), "-m", "cchooks"]
    script = odd / "cchooks"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert shlex.split(st.command_prefix(str(python))) == [str(script)]
    assert "npx" not in st.command_prefix() and "uvx" not in st.command_prefix()
    assert os.path.isabs(shlex.split(st.command_prefix())[0])


def _argv_echo(directory: Path, name: str) -> Path:
    """An executable that prints its arguments as JSON (stands in for the interpreter)."""
    directory.mkdir(parents=True, exist_ok=True)
    exe = directory / name
    exe.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_commands_survive_the_shell(tmp_path: Path) -> None:
    """The exact strings written into settings.json run under `sh -c` with the right words."""
    exe = _argv_echo(tmp_path / "dir with spaces" / "and 'quotes' \"too\" $HOME", "py thon")
    prefix = st.command_prefix(str(exe))
    old = """echo "it's" 'a $test' | cat"""
    plan = st.plan_install(
        {"statusLine": {"type": "command", "command": old}}, opts(command=prefix, statusline_mode="chain")
    )
    stop = plan.settings["hooks"]["Stop"][0]["hooks"][0]["command"]
    status = plan.settings["statusLine"]["command"]
    for command, expected in [
        (stop, ["-m", "cchooks", "hook", "Stop"]),
        (status, ["-m", "cchooks", "statusline", "--chain", old]),
    ]:
        out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
        assert json.loads(out.stdout) == expected


@pytest.mark.parametrize("hot", [False, True])
def test_real_interpreter_in_odd_path_runs_cchooks(tmp_path: Path, hot: bool) -> None:
    odd = tmp_path / 'my venv\'s "bin"'
    odd.mkdir()
    link = odd / "python"
    link.symlink_to(sys.executable)
    prefix = st.command_prefix(str(link), hot=hot)
    if hot:
        words = shlex.split(prefix)
        assert words[:3] == [str(link), "-S", ic.hot_script()], prefix
        assert words[3:] in ([], ["--sys-path", *ic.hot_sys_path()])
    else:
        assert "-m cchooks" in prefix
    out = subprocess.run(
        ["sh", "-c", f"{prefix} install --help"],
        capture_output=True,
        text=True,
        env=env_for_subprocess(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "--statusline-chain" in out.stdout


def test_hot_prefix_is_verified(tmp_path: Path) -> None:
    """The -S form is only used when `hot.py --check` answers right with that interpreter."""
    fake = _argv_echo(tmp_path / "bin", "python3")  # runs, exits 0, but is not a Python
    assert ic.hot_command_prefix(str(fake)) is None
    assert shlex.split(st.command_prefix(str(fake)))[1:] == ["-m", "cchooks"]
    unverified = ic.hot_command_prefix(str(fake), verify=False)
    assert unverified is not None and shlex.split(unverified)[:3] == [str(fake), "-S", ic.hot_script()]
    real = ic.hot_command_prefix()
    assert real is not None, "the -S launcher should work with the interpreter running the tests"
    assert st.command_prefix() == real


def test_hot_commands_run_hook_and_statusline(tmp_path: Path) -> None:
    """The installed -S form, run by a shell as Claude Code does, keeps the ledger and prints a line."""
    prefix = st.command_prefix()
    assert " -S " in prefix
    env = env_for_subprocess(tmp_path)
    env.pop("PYTHONPATH")  # the launcher must find cchooks and its dependencies by itself
    env["CCHOOKS_LEDGER"] = str(tmp_path / "ledger.sqlite3")
    transcript = ROOT / "fixtures" / "claude-code-2.1.330" / "config" / "projects" / "-tmp-ccwork-proj"
    transcript = next(transcript.glob("*.jsonl"))
    event = {"session_id": transcript.stem, "transcript_path": str(transcript), "hook_event_name": "Stop"}
    hook = subprocess.run(
        ["sh", "-c", st.hook_command(prefix, "Stop")], input=json.dumps(event), capture_output=True,
        text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert hook.returncode == 0 and hook.stdout == "" and hook.stderr == "", hook.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "ledger.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] > 0
    payload = {**event, "model": {"display_name": "Opus"}}
    del payload["hook_event_name"]
    line = subprocess.run(
        ["sh", "-c", st.statusline_command(prefix) + " --color never"], input=json.dumps(payload),
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert line.returncode == 0 and line.stdout.startswith("Opus"), line.stdout + line.stderr
    assert "tok" in line.stdout
