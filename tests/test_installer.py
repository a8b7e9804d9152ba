"""cchooks install / uninstall: the settings.json editor, its files and its CLI."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cchooks.cli import main
from cchooks.installers import commands as ic
from cchooks.installers import settings as st
from cchooks.installers.jsonio import JsonStyle, detect_style, dumps_json
from cchooks.installers.telemetry import telemetry_env

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FIXTURES = ROOT / "fixtures" / "hooks" / "settings"
PREFIX = "/opt/venv/bin/python -m cchooks"
OTHER_PREFIX = "'/moved venv/bin/python3' -m cchooks"


def opts(**kw: Any) -> st.InstallOptions:
    kw.setdefault("command", PREFIX)
    return st.InstallOptions(**kw)


def ordered(data: Any) -> str:
    return json.dumps(data)


def harness_settings() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SETTINGS_FIXTURES / "settings.json.after-run").read_text())
    return data


def run_cli(*args: str) -> int:
    return main(list(args))


def env_for_subprocess(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HOME"] = str(tmp_path / "home")
    env.pop("CLAUDE_CONFIG_DIR", None)
    return env


# --------------------------------------------------------------------------------------------------
# locations


def test_settings_paths(tmp_path: Path) -> None:
    env = {"HOME": "/h"}
    assert st.settings_path("user", env=env) == Path("/h/.claude/settings.json")
    assert st.settings_path("user", env={"CLAUDE_CONFIG_DIR": "/a/cfg,/b"}) == Path("/a/cfg/settings.json")
    assert st.settings_path("user", env={"CLAUDE_CONFIG_DIR": " , /a/x/projects"}) == Path(
        "/a/x/settings.json"
    )
    assert st.settings_path("user", env={"CLAUDE_CONFIG_DIR": "/a/x/projects/"}) == Path("/a/x/settings.json")
    assert st.settings_path("user", claude_dir="/c", env={"CLAUDE_CONFIG_DIR": "/a"}) == Path(
        "/c/settings.json"
    )
    assert st.settings_path("project", project_dir=tmp_path) == tmp_path / ".claude" / "settings.json"
    assert st.settings_path("local", project_dir=tmp_path) == tmp_path / ".claude" / "settings.local.json"


def test_project_dir_defaults_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert st.settings_path("project") == tmp_path / ".claude" / "settings.json"


# --------------------------------------------------------------------------------------------------
# plans


def test_install_into_empty() -> None:
    plan = st.plan_install({}, opts())
    s = plan.settings
    assert list(s) == ["hooks", "statusLine"]
    assert list(s["hooks"]) == list(st.HOOK_EVENTS)
    assert s["hooks"]["PostToolUse"] == [
        {
            "matcher": "*",
            "hooks": [{"type": "command", "command": f"{PREFIX} hook PostToolUse", "timeout": 10}],
        }
    ]
    assert s["hooks"]["Stop"] == [
        {"hooks": [{"type": "command", "command": f"{PREFIX} hook Stop", "timeout": 10}]}
    ]
    assert s["statusLine"] == {"type": "command", "command": f"{PREFIX} statusline", "padding": 0}
    assert "PreToolUse" not in s["hooks"]
    assert plan.state and plan.state["created_hooks"] is True
    assert sorted(plan.state["created_events"]) == sorted(st.HOOK_EVENTS)
    back = st.plan_uninstall(s, plan.state)
    assert back.settings == {}


def test_budget_guard_adds_pretooluse_with_matcher() -> None:
    s = st.plan_install({}, opts(budget_guard=True)).settings
    assert s["hooks"]["PreToolUse"][0]["matcher"] == "*"
    assert st.installed_entries(s).budget_guard
    # keep-as-installed by default, removable explicitly
    again = st.plan_install(s, opts(), st.plan_install({}, opts(budget_guard=True)).state)
    assert "PreToolUse" in again.settings["hooks"]
    off = st.plan_install(s, opts(budget_guard=False), again.state)
    assert "PreToolUse" not in off.settings["hooks"]


def test_keeps_everything_else_and_order() -> None:
    original = harness_settings()
    plan = st.plan_install(original, opts(statusline=False))
    new = plan.settings
    assert list(new) == list(original)  # no new top-level key: hooks exists, statusLine untouched
    assert new["statusLine"] == original["statusLine"]
    assert list(new["hooks"]) == list(original["hooks"])
    for event, groups in original["hooks"].items():
        assert new["hooks"][event][: len(groups)] == groups  # foreign groups first, unchanged
        extra = new["hooks"][event][len(groups) :]
        assert len(extra) == (1 if event in st.HOOK_EVENTS else 0)
    assert ordered(st.plan_uninstall(new, plan.state).settings) == ordered(original)


def test_foreign_statusline_is_refused_by_default() -> None:
    with pytest.raises(st.StatuslineConflict) as info:
        st.plan_install(harness_settings(), opts())
    assert "capture_hook.py statusline" in str(info.value)
    assert "--statusline-chain" in str(info.value)


def test_statusline_replace_and_restore() -> None:
    original = harness_settings()
    original["statusLine"]["refreshInterval"] = 5
    plan = st.plan_install(original, opts(statusline_mode="replace"))
    assert plan.settings["statusLine"]["command"] == f"{PREFIX} statusline"
    assert plan.state and plan.state["statusline_previous"] == original["statusLine"]
    back = st.plan_uninstall(plan.settings, plan.state)
    assert ordered(back.settings) == ordered(original)


def test_statusline_chain_and_restore() -> None:
    original = harness_settings()
    plan = st.plan_install(original, opts(statusline_mode="chain"))
    cmd = plan.settings["statusLine"]["command"]
    assert st.chained_command(cmd) == original["statusLine"]["command"]
    # reinstall from a moved venv keeps the chain
    again = st.plan_install(plan.settings, opts(command=OTHER_PREFIX), plan.state)
    assert st.chained_command(again.settings["statusLine"]["command"]) == original["statusLine"]["command"]
    assert again.settings["statusLine"]["command"].startswith(OTHER_PREFIX)
    assert ordered(st.plan_uninstall(again.settings, again.state).settings) == ordered(original)
    # the state file is lost: the chain in the command string is enough
    assert st.plan_uninstall(plan.settings, None).settings["statusLine"] == original["statusLine"]


def test_cannot_chain_to_nothing() -> None:
    with pytest.raises(st.SettingsError, match="no command to chain to"):
        st.plan_install({"statusLine": {"type": "command", "command": " "}}, opts(statusline_mode="chain"))
    plan = st.plan_install(
        {"statusLine": {"type": "command", "command": " "}}, opts(statusline_mode="replace")
    )
    assert st.installed_entries(plan.settings).statusline


def test_no_statusline_restores_previous() -> None:
    original = harness_settings()
    plan = st.plan_install(original, opts(statusline_mode="replace"))
    off = st.plan_install(plan.settings, opts(statusline=False), plan.state)
    assert off.settings["statusLine"] == original["statusLine"]
    assert off.state is not None and "statusline_previous" not in off.state
    assert ordered(st.plan_uninstall(off.settings, off.state).settings) == ordered(original)


def test_switch_chain_to_replace_and_back() -> None:
    original = harness_settings()
    chain = st.plan_install(original, opts(statusline_mode="chain"))
    repl = st.plan_install(chain.settings, opts(statusline_mode="replace"), chain.state)
    assert st.chained_command(repl.settings["statusLine"]["command"]) is None
    chain2 = st.plan_install(repl.settings, opts(statusline_mode="chain"), repl.state)
    assert st.chained_command(chain2.settings["statusLine"]["command"]) == original["statusLine"]["command"]
    assert ordered(st.plan_uninstall(chain2.settings, chain2.state).settings) == ordered(original)


def test_null_statusline_is_put_back() -> None:
    original: dict[str, Any] = {"statusLine": None}
    plan = st.plan_install(original, opts())
    assert st.installed_entries(plan.settings).statusline
    assert st.plan_uninstall(plan.settings, plan.state).settings == original


def test_reinstall_from_moved_venv_replaces() -> None:
    first = st.plan_install(
        {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo x"}]}]}}, opts()
    )
    moved = st.plan_install(first.settings, opts(command=OTHER_PREFIX), first.state)
    entries = st.installed_entries(moved.settings)
    assert set(entries.hooks) == set(st.HOOK_EVENTS)
    assert all(cmds == [f"{OTHER_PREFIX} hook {ev}"] for ev, cmds in entries.hooks.items())
    assert entries.statusline == f"{OTHER_PREFIX} statusline"
    assert moved.settings["hooks"]["Stop"][0]["hooks"][0]["command"] == "echo x"
    assert st.plan_uninstall(moved.settings, moved.state).settings == {
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo x"}]}]}
    }


HOT_PREFIX = "'/my venv/bin/python3' -S '/my src/cchooks/hot.py' --sys-path '/my venv/lib/site-packages'"


@pytest.mark.parametrize(
    ("before", "after"), [(PREFIX, HOT_PREFIX), (HOT_PREFIX, PREFIX), (HOT_PREFIX, HOT_PREFIX)]
)
def test_reinstall_switches_between_hot_and_dash_m_forms(before: str, after: str) -> None:
    """The -S launcher form replaces an older `-m cchooks` install (and back); uninstall is exact."""
    original = {
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo x"}]}]},
        "statusLine": {"type": "command", "command": "ccusage statusline", "padding": 1},
    }
    first = st.plan_install(original, opts(command=before, statusline_mode="chain"))
    second = st.plan_install(first.settings, opts(command=after), first.state)
    entries = st.installed_entries(second.settings)
    assert all(cmds == [f"{after} hook {ev}"] for ev, cmds in entries.hooks.items())
    assert entries.statusline == st.statusline_command(after, "ccusage statusline")
    assert entries.chained == "ccusage statusline"
    again = st.plan_install(second.settings, opts(command=after), second.state)
    assert ordered(again.settings) == ordered(second.settings)
    assert ordered(st.plan_uninstall(second.settings, second.state).settings) == ordered(original)
    # without the state file, too (the chained entry kept every field of the user's: issue 10)
    assert ordered(st.plan_uninstall(second.settings, None).settings) == ordered(original)


def test_duplicates_are_collapsed_and_user_edits_kept() -> None:
    ours = {"type": "command", "command": "/old/cchooks hook Stop", "timeout": 42}
    settings = {
        "hooks": {
            "Stop": [
                {"hooks": [{"type": "command", "command": "echo a"}, dict(ours)]},  # mixed group
                {"hooks": [dict(ours)]},
                {"hooks": [dict(ours)]},
            ]
        }
    }
    plan = st.plan_install(settings, opts())
    stop = plan.settings["hooks"]["Stop"]
    assert stop == [
        {"hooks": [{"type": "command", "command": "echo a"}]},
        {"hooks": [{"type": "command", "command": f"{PREFIX} hook Stop", "timeout": 42}]},
    ]
    assert st.installed_entries(plan.settings).hooks["Stop"] == [f"{PREFIX} hook Stop"]


def test_wrong_event_entry_is_moved() -> None:
    settings = {"hooks": {"Notification": [{"hooks": [{"type": "command", "command": "cchooks hook Stop"}]}]}}
    plan = st.plan_install(settings, opts(), {"version": 1})
    assert plan.settings["hooks"]["Notification"] == []  # existed before (state known): kept, emptied
    assert "Notification" not in st.installed_entries(plan.settings).hooks


def test_existing_empty_containers_stay() -> None:
    original: dict[str, Any] = {"hooks": {"Stop": [], "PostToolUse": []}, "env": {}}
    plan = st.plan_install(original, opts(telemetry=True))
    assert plan.settings["env"] == telemetry_env()
    assert ordered(st.plan_uninstall(plan.settings, plan.state).settings) == ordered(original)


def test_telemetry_never_overwrites_and_removes_only_ours() -> None:
    original = {"env": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "FOO": "1"}}
    plan = st.plan_install(original, opts(telemetry=True))
    env = plan.settings["env"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4318"
    assert env["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"
    assert any("OTEL_EXPORTER_OTLP_ENDPOINT" in n for n in plan.notes)
    assert plan.state is not None and "OTEL_EXPORTER_OTLP_ENDPOINT" not in plan.state["env_added"]
    # the user changes one of ours afterwards: uninstall leaves it
    plan.settings["env"]["OTEL_METRIC_EXPORT_INTERVAL"] = "60000"
    back = st.plan_uninstall(plan.settings, plan.state)
    assert back.settings["env"] == {**original["env"], "OTEL_METRIC_EXPORT_INTERVAL": "60000"}
    # reinstall without --telemetry keeps it; --no-telemetry removes it
    kept = st.plan_install(plan.settings, opts(), plan.state)
    assert kept.settings["env"]["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"
    off = st.plan_install(plan.settings, opts(telemetry=False), plan.state)
    assert "CLAUDE_CODE_ENABLE_TELEMETRY" not in off.settings["env"]


def test_telemetry_env_function() -> None:
    env = telemetry_env()
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["OTEL_METRIC_EXPORT_INTERVAL"] == "10000" and env["OTEL_LOGS_EXPORT_INTERVAL"] == "5000"
    assert telemetry_env("grpc", "http://h:4317")["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    with pytest.raises(ValueError):
        telemetry_env("carrier-pigeon")


def test_uninstall_without_state_guesses_sensibly() -> None:
    plan = st.plan_install({"other": 1}, opts(statusline_mode="replace"))
    back = st.plan_uninstall(plan.settings, None)
    assert back.settings == {"other": 1}


def test_plan_does_not_mutate_input() -> None:
    original = harness_settings()
    snapshot = ordered(original)
    plan = st.plan_install(original, opts(statusline_mode="chain", telemetry=True, budget_guard=True))
    st.plan_uninstall(plan.settings, plan.state)
    assert ordered(original) == snapshot


def test_installed_entries_and_problems(tmp_path: Path) -> None:
    assert not st.installed_entries({}).installed
    plan = st.plan_install({}, opts(command=f"{tmp_path}/gone/python -m cchooks", telemetry=True))
    entries = st.installed_entries(plan.settings)
    assert entries.installed and set(entries.hooks) == set(st.HOOK_EVENTS)
    assert entries.telemetry_env == telemetry_env()
    problems = entries.problems()
    assert any("does not exist" in p for p in problems)
    hot = f"{sys.executable} -S {tmp_path}/gone/cchooks/hot.py --sys-path /x"
    problems = st.installed_entries(st.plan_install({}, opts(command=hot)).settings).problems()
    gone = f"{tmp_path}/gone/cchooks/hot.py"
    assert problems == [f"{gone} does not exist (venv moved?); rerun `cchooks install`"]
    dup = plan.settings["hooks"]["Stop"] * 2
    broken = {**plan.settings, "hooks": {**plan.settings["hooks"], "Stop": dup}}
    del broken["hooks"]["SessionEnd"]
    problems = st.installed_entries(broken).problems()
    assert any("Stop: cchooks hook installed 2 times" in p for p in problems)
    assert any("SessionEnd" in p for p in problems)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": 1,,}', (1, 9)),
        ("[1, 2]", (1, 1)),
        ('{\n  "hooks": []\n}', (2, 3)),
        ('{\n  "hooks": {"Stop": {}}\n}', (2, 13)),
        ('{"env": "x"}', (1, 2)),
    ],
)
def test_malformed_is_refused_with_position(tmp_path: Path, text: str, where: tuple[int, int]) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    with pytest.raises(st.MalformedSettings) as info:
        st.install(path, opts())
    assert (info.value.line, info.value.column) == where
    assert str(path) in str(info.value)
    assert path.read_text() == text
    assert not (tmp_path / "settings.json.cchooks-bak").exists()


# --------------------------------------------------------------------------------------------------
# files


def test_style_detection_and_dump() -> None:
    claude_written = (SETTINGS_FIXTURES / "settings.json.after-run").read_text()
    style = detect_style(claude_written)
    assert style == JsonStyle(indent=2, trailing_newline=True)
    assert dumps_json(json.loads(claude_written), style) == claude_written
    four = json.dumps({"a": {"b": "é"}}, indent=4, ensure_ascii=True)
    s4 = detect_style(four)
    assert s4.indent == 4 and not s4.trailing_newline and s4.ensure_ascii
    assert dumps_json(json.loads(four), s4) == four
    tabs = json.dumps({"a": [1]}, indent="\t") + "\r\n"
    assert dumps_json(json.loads(tabs), detect_style(tabs)).replace("\r\n", "\n") == tabs.replace(
        "\r\n", "\n"
    )
    assert detect_style('{"a":1}').indent == 2


@pytest.mark.parametrize("indent", [2, 4, "\t"])
def test_install_uninstall_files_byte_identical(tmp_path: Path, indent: int | str) -> None:
    path = tmp_path / "settings.json"
    original = json.dumps(harness_settings(), indent=indent, ensure_ascii=False) + "\n"
    path.write_text(original)
    r1 = st.install(path, opts(statusline_mode="chain", telemetry=True))
    assert r1.changed
    text1 = path.read_text()
    assert detect_style(text1).indent == indent
    assert (tmp_path / "settings.json.cchooks-bak").read_text() == original
    assert (tmp_path / st.STATE_FILE_NAME).exists()
    r2 = st.install(path, opts(statusline_mode="chain", telemetry=True))
    assert not r2.changed and path.read_text() == text1
    st.uninstall(path)
    assert path.read_text() == original
    assert not (tmp_path / st.STATE_FILE_NAME).exists()
    r4 = st.uninstall(path)
    assert not r4.changed and path.read_text() == original
    nowhere = tmp_path / "missing" / "settings.json"
    assert not st.uninstall(nowhere).changed
    assert not nowhere.parent.exists()


def test_install_creates_missing_file_and_dirs(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "settings.json"
    st.install(path, opts())
    text = path.read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "hooks"')
    st.uninstall(path)
    assert json.loads(path.read_text()) == {}


def test_project_and_local_share_the_state_file(tmp_path: Path) -> None:
    project = st.settings_path("project", project_dir=tmp_path)
    local = st.settings_path("local", project_dir=tmp_path)
    project.parent.mkdir(parents=True)
    project.write_text('{"statusLine": {"type": "command", "command": "a"}}\n')
    local.write_text('{"statusLine": {"type": "command", "command": "b"}}\n')
    st.install(project, opts(statusline_mode="replace"))
    st.install(local, opts(statusline_mode="chain"))
    state = json.loads((project.parent / st.STATE_FILE_NAME).read_text())
    assert set(state["files"]) == {"settings.json", "settings.local.json"}
    st.uninstall(project)
    st.uninstall(local)
    assert project.read_text() == '{"statusLine": {"type": "command", "command": "a"}}\n'
    assert local.read_text() == '{"statusLine": {"type": "command", "command": "b"}}\n'
    assert not (project.parent / st.STATE_FILE_NAME).exists()


def test_symlinked_settings_stay_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "claude-settings.json"
    real.parent.mkdir()
    real.write_text('{"model": "opus"}\n')
    link_dir = tmp_path / "claude"
    link_dir.mkdir()
    link = link_dir / "settings.json"
    link.symlink_to(real)
    st.install(link, opts())
    assert link.is_symlink()
    assert st.installed_entries(json.loads(real.read_text())).installed
    st.uninstall(link)
    assert link.is_symlink() and real.read_text() == '{"model": "opus"}\n'  # original bytes


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{}\n")
    path.chmod(0o600)
    st.install(path, opts())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"a": 1}\n')
    result = st.install(path, opts(), dry_run=True)
    assert result.changed and result.diff.startswith(f"--- {path}\n+++ {path}\n")
    assert '+  "hooks": {' in result.diff
    assert path.read_text() == '{"a": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]  # not even a lock (issue 10)
    missing = tmp_path / "nope" / "settings.json"
    assert st.install(missing, opts(), dry_run=True).diff.startswith("--- /dev/null")
    assert not missing.parent.exists()


def test_write_settings_atomic_and_load(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{\n    "a": 1\n}')
    text = st.write_settings_atomic(path, {"a": 2})
    assert text == '{\n    "a": 2\n}' and path.read_text() == text
    assert st.load_settings(path) == {"a": 2}
    assert st.load_settings(tmp_path / "missing.json") == {}
    assert (tmp_path / "settings.json.cchooks-bak").read_text() == '{\n    "a": 1\n}'
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_bom_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b'\xef\xbb\xbf{\n  "a": 1\n}\n')
    st.install(path, opts())
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    st.uninstall(path)
    assert path.read_bytes() == b'\xef\xbb\xbf{\n  "a": 1\n}\n'
    empty = tmp_path / "e" / "settings.json"
    empty.parent.mkdir()
    empty.write_text("")
    st.install(empty, opts())
    assert st.installed_entries(st.load_settings(empty)).installed


# --------------------------------------------------------------------------------------------------
# CLI


def test_cli_install_uninstall(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cdir = tmp_path / "cfg"
    cdir.mkdir()
    settings = cdir / "settings.json"
    original = (SETTINGS_FIXTURES / "settings.json.after-run").read_text()
    settings.write_text(original)

    assert run_cli("install", "--settings-dir", str(cdir)) == 1
    err = capsys.readouterr().err
    assert "statusLine that is not cchooks'" in err and "--statusline-replace" in err
    assert settings.read_text() == original

    assert run_cli("install", "--settings-dir", str(cdir), "--statusline-chain", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("--- ") and "statusline --chain" in out
    assert settings.read_text() == original

    assert run_cli("install", "--settings-dir", str(cdir), "--statusline-chain", "--telemetry") == 0
    out = capsys.readouterr().out
    assert "installed into" in out
    data = json.loads(settings.read_text())
    entries = st.installed_entries(data)
    assert set(entries.hooks) == set(st.HOOK_EVENTS) and entries.chained is not None
    assert data["env"]["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"

    installed = settings.read_bytes()
    assert run_cli("install", "--settings-dir", str(cdir)) == 0  # keeps chain + telemetry
    assert "nothing written" in capsys.readouterr().out
    assert settings.read_bytes() == installed

    assert run_cli("uninstall", "--settings-dir", str(cdir), "--dry-run") == 0
    assert capsys.readouterr().out.startswith("--- ")
    assert settings.read_bytes() == installed
    assert run_cli("uninstall", "--settings-dir", str(cdir)) == 0
    assert settings.read_text() == original


def test_cli_env_config_dir_and_scopes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{tmp_path / 'first' / 'projects'},{tmp_path / 'second'}")
    monkeypatch.chdir(tmp_path)
    assert run_cli("install") == 0
    assert (tmp_path / "first" / "settings.json").exists()
    assert not (tmp_path / "second").exists()
    assert run_cli("install", "--scope", "local") == 0
    captured = capsys.readouterr()
    assert "also installed in user scope" in captured.err
    assert (tmp_path / ".claude" / "settings.local.json").exists()
    assert run_cli("install", "--scope", "project", "--settings-dir", str(tmp_path)) == 1
    assert "--settings-dir only applies" in capsys.readouterr().err


def test_cli_malformed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "settings.json").write_text('{\n  "hooks": {\n    "Stop": [\n  }\n}\n')
    assert run_cli("install", "--settings-dir", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'settings.json'}:4:3: invalid JSON" in err
    assert run_cli("uninstall", "--settings-dir", str(tmp_path)) == 1


def test_python_dash_m_cchooks(tmp_path: Path) -> None:
    cdir = tmp_path / "cfg"
    out = subprocess.run(
        [sys.executable, "-m", "cchooks", "install", "--settings-dir", str(cdir), "--budget-guard"],
        capture_output=True,
        text=True,
        env=env_for_subprocess(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads((cdir / "settings.json").read_text())
    cmd = data["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert cmd.endswith(" hook PreToolUse")
    assert os.path.isabs(shlex.split(cmd)[0])
    assert cmd == st.hook_command(st.command_prefix(), "PreToolUse")  # the -S launcher form
    assert shlex.split(cmd)[1:3] == ["-S", ic.hot_script()]
