"""`cchooks service`: the generated systemd unit and launchd plist, and install/uninstall/status flows."""

from __future__ import annotations

import plistlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cchooks.cli import main
from cchooks.installers import service as svc


def _unquote_systemd(words: str) -> list[str]:
    """systemd's reading of a double-quoted command line: C escapes, then %% and $$ specifiers."""
    out = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', words):
        w = re.sub(r"\\(.)", r"\1", m.group(1))
        out.append(w.replace("%%", "%").replace("$$", "$"))
    return out


def _unit_values(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


WEIRD = '/opt/my venv/bin/py$thon%i"q\\'


def test_systemd_unit_quotes_and_carries_env(tmp_path: Path) -> None:
    spec = svc.ServiceSpec.current(
        ledger=str(tmp_path / "led ger.db"),
        claude_dir=f"{tmp_path}/a,{tmp_path}/b",
        environ={"CLAUDE_CONFIG_DIR": "/x/claude dir%h", "CCHOOKS_LEDGER": "/y/l.db", "OTHER": "no"},
        interpreter=WEIRD,
    )
    unit = svc.systemd_unit(spec)
    [exec_start] = _unit_values(unit, "ExecStart")
    assert _unquote_systemd(exec_start) == [
        WEIRD, "-m", "cchooks", "serve", "--ledger", str(tmp_path / "led ger.db"),
        "--claude-dir", f"{tmp_path}/a,{tmp_path}/b",
    ]  # fmt: skip
    env = [_unquote_systemd(v)[0] for v in _unit_values(unit, "Environment")]
    # Environment= expands specifiers (%) but not $.
    assert env == ["CCHOOKS_LEDGER=/y/l.db", "CLAUDE_CONFIG_DIR=/x/claude dir%h"]
    assert "OTHER" not in unit
    assert "[Install]\nWantedBy=default.target" in unit
    assert "Restart=on-failure" in unit and "RestartPreventExitStatus=1" in unit


def test_systemd_unit_default_is_absolute_current_interpreter() -> None:
    spec = svc.ServiceSpec.current(environ={})
    assert spec.argv[0] == str(Path(sys.executable).absolute())
    assert spec.argv[1:] == ["-m", "cchooks", "serve"]
    assert spec.env == {}
    assert "Environment=" not in svc.systemd_unit(spec)


def test_values_with_newlines_are_refused() -> None:
    spec = svc.ServiceSpec(["/usr/bin/python3", "-m", "cchooks", "serve"], {"CLAUDE_CONFIG_DIR": "a\nb"})
    with pytest.raises(ValueError, match="newline"):
        svc.systemd_unit(spec)
    with pytest.raises(ValueError, match="newline"):
        svc.launchd_plist(spec)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_accepts_the_unit(tmp_path: Path) -> None:
    spec = svc.ServiceSpec.current(environ={"CLAUDE_CONFIG_DIR": "/x/a b"}, ledger=str(tmp_path / "l.db"))
    path = tmp_path / svc.SYSTEMD_UNIT
    path.write_text(svc.systemd_unit(spec))
    p = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    if "Failed to initialize manager" in p.stderr:
        pytest.skip("systemd-analyze cannot run here")
    assert p.returncode == 0, p.stderr


def test_launchd_plist(tmp_path: Path) -> None:
    spec = svc.ServiceSpec.current(
        environ={"CLAUDE_CONFIG_DIR": "/x/claude & <dir>", "CCHOOKS_LEDGER": "/y/l.db"}, interpreter=WEIRD
    )
    data = plistlib.loads(svc.launchd_plist(spec))
    assert data["Label"] == "dev.cchooks.watch"
    assert data["ProgramArguments"] == [WEIRD, "-m", "cchooks", "serve"]
    assert data["EnvironmentVariables"] == {
        "CLAUDE_CONFIG_DIR": "/x/claude & <dir>",
        "CCHOOKS_LEDGER": "/y/l.db",
    }
    assert data["RunAtLoad"] is True
    assert data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["StandardErrorPath"].endswith("serve.launchd.err.log")


def test_unit_paths(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert svc.unit_path("linux", environ=env) == tmp_path / ".config/systemd/user/cchooks-watch.service"
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    assert svc.unit_path("linux", environ=env) == tmp_path / "xdg/systemd/user/cchooks-watch.service"
    assert svc.unit_path("darwin", environ=env) == tmp_path / "Library/LaunchAgents/dev.cchooks.watch.plist"
    with pytest.raises(ValueError, match="win32"):
        svc.detect_platform("win32")


class FakeRunner:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail or set()

    def __call__(self, cmd: list[str]) -> tuple[int, str]:
        self.calls.append(cmd)
        key = " ".join(cmd[:3])
        if any(key.startswith(f) for f in self.fail):
            return 1, "Failed to connect to bus: No medium found"
        if cmd[-2:] == ["is-active", svc.SYSTEMD_UNIT]:
            return 0, "active"
        if cmd[-2:] == ["is-enabled", svc.SYSTEMD_UNIT]:
            return 0, "enabled"
        return 0, ""


@pytest.fixture
def with_systemctl(monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which
    monkeypatch.setattr(
        svc.shutil, "which", lambda n: f"/usr/bin/{n}" if n in ("systemctl", "launchctl") else real(n)
    )


def test_install_linux_loads_with_systemctl(tmp_path: Path, with_systemctl: None) -> None:
    spec = svc.ServiceSpec.current(environ={})
    run = FakeRunner()
    out = svc.install(spec, "linux", runner=run, home=tmp_path)
    assert out.ok and out.changed
    assert out.path is not None and out.path.read_text() == svc.systemd_unit(spec)
    assert run.calls == [
        ["systemctl", "--user", "show-environment"],
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", svc.SYSTEMD_UNIT],
    ]
    # Reinstalling the same thing changes nothing and restarts nothing.
    run2 = FakeRunner()
    again = svc.install(spec, "linux", runner=run2, home=tmp_path)
    assert not again.changed and ["systemctl", "--user", "restart", svc.SYSTEMD_UNIT] not in run2.calls
    # A changed unit (e.g. a new venv) is rewritten and restarted.
    spec2 = svc.ServiceSpec.current(environ={"CCHOOKS_LEDGER": "/l.db"})
    run3 = FakeRunner()
    assert svc.install(spec2, "linux", runner=run3, home=tmp_path).changed
    assert run3.calls[-1] == ["systemctl", "--user", "restart", svc.SYSTEMD_UNIT]
    status = svc.status(spec2, tmp_path / "l.db", "linux", runner=FakeRunner(), home=tmp_path)
    assert "(up to date)" in status.lines[0] and "systemd: active, enabled" in status.lines
    assert status.lines[-1].startswith("watcher: not running")
    out = svc.uninstall("linux", runner=(run4 := FakeRunner()), home=tmp_path)
    assert not out.path.exists()  # type: ignore[union-attr]
    assert ["systemctl", "--user", "disable", "--now", svc.SYSTEMD_UNIT] in run4.calls
    assert run4.calls[-1] == ["systemctl", "--user", "daemon-reload"]


def test_install_linux_without_user_bus_says_how(tmp_path: Path, with_systemctl: None) -> None:
    spec = svc.ServiceSpec.current(environ={})
    run = FakeRunner(fail={"systemctl --user show-environment"})
    out = svc.install(spec, "linux", runner=run, home=tmp_path)
    assert out.ok  # the file is written; loading is left to the user, with the commands to do it
    assert out.path is not None and out.path.exists()
    text = "\n".join(out.lines)
    assert "not loaded" in text and "No medium found" in text
    assert "systemctl --user enable --now cchooks-watch.service" in text
    assert run.calls == [["systemctl", "--user", "show-environment"]]


def test_install_reports_a_failing_command(tmp_path: Path, with_systemctl: None) -> None:
    run = FakeRunner(fail={"systemctl --user enable"})
    out = svc.install(svc.ServiceSpec.current(environ={}), "linux", runner=run, home=tmp_path)
    assert not out.ok and "failed" in out.lines[-1]


def test_install_darwin_with_launchctl(tmp_path: Path, with_systemctl: None) -> None:
    spec = svc.ServiceSpec.current(environ={"CLAUDE_CONFIG_DIR": "/c"})
    run = FakeRunner()
    out = svc.install(spec, "darwin", runner=run, home=tmp_path)
    plist = tmp_path / "Library/LaunchAgents/dev.cchooks.watch.plist"
    assert out.ok and plistlib.loads(plist.read_bytes())["EnvironmentVariables"] == {
        "CLAUDE_CONFIG_DIR": "/c"
    }
    assert run.calls == [["launchctl", "load", "-w", str(plist)]]
    run2 = FakeRunner()
    svc.install(svc.ServiceSpec.current(environ={}), "darwin", runner=run2, home=tmp_path)
    assert run2.calls == [["launchctl", "unload", str(plist)], ["launchctl", "load", "-w", str(plist)]]
    run3 = FakeRunner()
    svc.uninstall("darwin", runner=run3, home=tmp_path)
    assert run3.calls == [["launchctl", "unload", "-w", str(plist)]] and not plist.exists()


def test_dry_run_writes_and_runs_nothing(tmp_path: Path) -> None:
    run = FakeRunner()
    out = svc.install(svc.ServiceSpec.current(environ={}), "linux", dry_run=True, runner=run, home=tmp_path)
    assert run.calls == [] and not (tmp_path / ".config").exists()
    assert out.lines[0].startswith("would write") and "ExecStart=" in "\n".join(out.lines)
    assert (
        svc.uninstall("linux", dry_run=True, runner=run, home=tmp_path).lines[0].startswith("not installed")
    )


def test_cli_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "/some/claude")
    assert main(["service", "install", "--dry-run", "--platform", "linux"]) == 0
    out = capsys.readouterr().out
    assert "cchooks-watch.service" in out and 'Environment="CLAUDE_CONFIG_DIR=/some/claude"' in out
    assert main(["service", "install", "--dry-run", "--platform", "darwin"]) == 0
    out = capsys.readouterr().out
    assert "dev.cchooks.watch.plist" in out and "<string>/some/claude</string>" in out
    assert main(["service", "status", "--platform", "linux", "--ledger", str(tmp_path / "l.db")]) == 0
    out = capsys.readouterr().out
    assert "not installed" in out and "watcher: not running" in out
    # Install without a user bus (as in containers): written, not loaded, and the way to load it shown.
    monkeypatch.setattr(svc, "default_runner", FakeRunner(fail={"systemctl --user show-environment"}))
    monkeypatch.setattr(svc.shutil, "which", lambda n: f"/usr/bin/{n}")
    assert main(["service", "install", "--platform", "linux"]) == 0
    out = capsys.readouterr().out
    unit = Path(svc.unit_path("linux"))
    assert unit.exists() and str(unit) in out and "not loaded" in out
    assert main(["service", "uninstall", "--platform", "linux"]) == 0
    assert not unit.exists()
