"""Login services that run `cchooks serve`: a systemd user unit (Linux) or a launchd agent (macOS).

`cchooks serve` is the one long-running process: the transcript watcher, the OTLP receiver and the
dashboard. The unit keeps its old name (`cchooks-watch.service`, `dev.cchooks.watch`), so installing
over a service that ran `cchooks watch` replaces it rather than running both.

Linux: `~/.config/systemd/user/cchooks-watch.service` (`$XDG_CONFIG_HOME` honoured, as systemd does),
loaded with `systemctl --user daemon-reload` and `enable --now` when systemctl exists and the user's
service manager answers; otherwise the file is written and the commands to run are printed.
macOS: `~/Library/LaunchAgents/dev.cchooks.watch.plist`, loaded with `launchctl load -w`.

The service runs the absolute path of the current interpreter with `-m cchooks serve` (not the symlink's
target, so a virtualenv stays a virtualenv), and carries `CLAUDE_CONFIG_DIR` and `CCHOOKS_LEDGER` when
they are set at install time. Both generators are pure functions of a `ServiceSpec`, so either can be
produced (and tested) on any platform.

Like every installer, this never touches the ledger.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SYSTEMD_UNIT = "cchooks-watch.service"
LAUNCHD_LABEL = "dev.cchooks.watch"
CARRIED_ENV = ("CLAUDE_CONFIG_DIR", "CCHOOKS_LEDGER")
PLATFORMS = ("linux", "darwin")

# A command runner: argv -> (exit code, combined output). Tests pass a fake.
Runner = Callable[[list[str]], tuple[int, str]]


def default_runner(cmd: list[str]) -> tuple[int, str]:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return p.returncode, (p.stdout + p.stderr).strip()


def detect_platform(platform: str | None = None) -> str:
    p = platform or sys.platform
    if p.startswith("linux"):
        return "linux"
    if p == "darwin":
        return "darwin"
    raise ValueError(f"no login service support for platform {p!r} (supported: Linux systemd, macOS launchd)")


@dataclass(slots=True)
class ServiceSpec:
    """What the service runs."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None  # launchd's stdout/stderr files go here

    @classmethod
    def current(
        cls,
        *,
        ledger: str | None = None,
        claude_dir: str | None = None,
        environ: Mapping[str, str] | None = None,
        interpreter: str | None = None,
    ) -> ServiceSpec:
        """`<this python> -m cchooks serve [...]` with the relevant environment of this process."""
        from cchooks.paths import log_dir

        environ = os.environ if environ is None else environ
        python = interpreter or sys.executable or shutil.which("python3") or "python3"
        argv = [os.path.abspath(python), "-m", "cchooks", "serve"]
        if ledger:
            argv += ["--ledger", os.path.abspath(os.path.expanduser(ledger))]
        if claude_dir:
            dirs = [
                os.path.abspath(os.path.expanduser(d.strip())) for d in claude_dir.split(",") if d.strip()
            ]
            argv += ["--claude-dir", ",".join(dirs)]
        env = {k: environ[k] for k in CARRIED_ENV if environ.get(k)}
        return cls(argv, env, log_dir())


def unit_path(platform: str, home: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where the service file goes."""
    environ = os.environ if environ is None else environ
    home = home or Path(environ.get("HOME") or Path.home())
    if detect_platform(platform) == "linux":
        xdg = environ.get("XDG_CONFIG_HOME")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".config"
        return base / "systemd" / "user" / SYSTEMD_UNIT
    return home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


# -- systemd -------------------------------------------------------------------------------------------
def _check_value(value: str) -> str:
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError(f"cannot put a value with a newline or NUL into a service file: {value!r}")
    return value


def systemd_quote(arg: str, *, command_line: bool = True) -> str:
    """One word for a unit file, double-quoted: backslash and quote escaped, `%` doubled (specifiers),
    and on command lines `$` doubled (systemd expands $VAR there)."""
    s = _check_value(arg).replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if command_line:
        s = s.replace("$", "$$")
    return f'"{s}"'


def systemd_unit(spec: ServiceSpec) -> str:
    lines = [
        "# Written by `cchooks service install`; `cchooks service uninstall` removes it.",
        "[Unit]",
        "Description=cchooks serve: keep the Claude Code token ledger current; dashboard on 127.0.0.1:8889",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(systemd_quote(a) for a in spec.argv),
    ]
    for key, value in sorted(spec.env.items()):
        lines.append("Environment=" + systemd_quote(f"{key}={value}", command_line=False))
    lines += [
        "Restart=on-failure",
        "RestartSec=10",
        "# Exit code 1: the port is taken or the ledger cannot be opened; exit 2: bad arguments. Do not loop.",
        "RestartPreventExitStatus=1 2",
        "# SIGTERM makes cchooks serve answer what is in flight, ingest what is pending and exit 0.",
        "TimeoutStopSec=30",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


# -- launchd -------------------------------------------------------------------------------------------
def launchd_plist(spec: ServiceSpec) -> bytes:
    for a in spec.argv:
        _check_value(a)
    data: dict[str, object] = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(spec.argv),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},  # restart after a crash, not after a clean stop
        "ThrottleInterval": 10,
    }
    if spec.env:
        data["EnvironmentVariables"] = {k: _check_value(v) for k, v in sorted(spec.env.items())}
    if spec.log_dir is not None:
        data["StandardOutPath"] = str(spec.log_dir / "serve.launchd.out.log")
        data["StandardErrorPath"] = str(spec.log_dir / "serve.launchd.err.log")
    return plistlib.dumps(data, fmt=plistlib.FMT_XML, sort_keys=False)


def render(spec: ServiceSpec, platform: str | None = None) -> bytes:
    if detect_platform(platform) == "linux":
        return systemd_unit(spec).encode("utf-8")
    return launchd_plist(spec)


# -- install / uninstall / status -------------------------------------------------------------------------
@dataclass(slots=True)
class Outcome:
    """What was (or, with dry_run, would be) done, as lines for a person; `ok` False = exit 1."""

    ok: bool = True
    path: Path | None = None
    content: bytes | None = None
    changed: bool = False
    commands: list[list[str]] = field(default_factory=list)  # run, or to be run
    lines: list[str] = field(default_factory=list)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def systemd_user_available(runner: Runner) -> tuple[bool, str]:
    """(True, "") when `systemctl --user` can talk to the user's service manager, else (False, why)."""
    if shutil.which("systemctl") is None:
        return False, "systemctl is not installed"
    rc, out = runner(["systemctl", "--user", "show-environment"])
    if rc != 0:
        return (
            False,
            f"`systemctl --user` does not work here ({out.splitlines()[0] if out else f'exit {rc}'})",
        )
    return True, ""


def launchctl_available() -> tuple[bool, str]:
    if shutil.which("launchctl") is None:
        return False, "launchctl is not available"
    return True, ""


def _fmt(cmd: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(c) for c in cmd)


def install(
    spec: ServiceSpec,
    platform: str | None = None,
    *,
    dry_run: bool = False,
    runner: Runner | None = None,
    home: Path | None = None,
) -> Outcome:
    plat = detect_platform(platform)
    runner = runner or default_runner
    path = unit_path(plat, home)
    content = render(spec, plat)
    try:
        existing = path.read_bytes()
    except OSError:
        existing = None
    out = Outcome(path=path, content=content, changed=existing != content)
    if plat == "linux":
        reload = ["systemctl", "--user", "daemon-reload"]
        start = ["systemctl", "--user", "enable", "--now", SYSTEMD_UNIT]
        restart = ["systemctl", "--user", "restart", SYSTEMD_UNIT]
        usable, why = (True, "") if dry_run else systemd_user_available(runner)
        # A changed unit that was already running is restarted to pick up the change.
        planned = [reload, start] + ([restart] if out.changed and existing is not None else [])
    else:
        unload = ["launchctl", "unload", str(path)]
        load = ["launchctl", "load", "-w", str(path)]
        usable, why = (True, "") if dry_run else launchctl_available()
        planned = ([unload] if existing is not None else []) + [load]
    if dry_run:
        verb = "would write" if out.changed else "unchanged:"
        out.lines.append(f"{verb} {path}:")
        out.lines.append(content.decode("utf-8").rstrip("\n"))
        out.lines.append("would run:")
        out.lines += [f"  {_fmt(c)}" for c in planned]
        out.commands = planned
        return out
    if out.changed:
        _write_atomic(path, content)
        out.lines.append(f"wrote {path}")
    else:
        out.lines.append(f"{path} is up to date")
    if not usable:
        out.lines.append(f"not loaded: {why}.")
        out.lines.append("Load it yourself once a user session is available:")
        out.lines += [f"  {_fmt(c)}" for c in planned]
        if plat == "linux":
            out.lines.append(
                "(`loginctl enable-linger $USER` keeps user services running without a login;"
                " or simply run `cchooks serve` in a terminal.)"
            )
        out.commands = planned
        return out
    for cmd in planned:
        rc, text = runner(cmd)
        out.commands.append(cmd)
        if rc != 0 and cmd[:2] != ["launchctl", "unload"]:
            out.ok = False
            out.lines.append(f"`{_fmt(cmd)}` failed (exit {rc}): {text}")
            return out
    out.lines.append(
        "started: cchooks serve now runs at login (`cchooks service status` to check);"
        " the dashboard is http://127.0.0.1:8889/"
    )
    return out


def uninstall(
    platform: str | None = None,
    *,
    dry_run: bool = False,
    runner: Runner | None = None,
    home: Path | None = None,
) -> Outcome:
    plat = detect_platform(platform)
    runner = runner or default_runner
    path = unit_path(plat, home)
    out = Outcome(path=path)
    if not path.exists():
        out.lines.append(f"not installed ({path} does not exist)")
        return out
    if plat == "linux":
        before = [["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT]]
        after = [["systemctl", "--user", "daemon-reload"]]
        usable, why = (True, "") if dry_run else systemd_user_available(runner)
    else:
        before = [["launchctl", "unload", "-w", str(path)]]
        after = []
        usable, why = (True, "") if dry_run else launchctl_available()
    if dry_run:
        out.lines += [f"would run: {_fmt(c)}" for c in before]
        out.lines.append(f"would remove {path}")
        out.lines += [f"would run: {_fmt(c)}" for c in after]
        out.commands = before + after
        return out
    if usable:
        for cmd in before:
            rc, text = runner(cmd)
            out.commands.append(cmd)
            if rc != 0:
                out.lines.append(f"note: `{_fmt(cmd)}` exited {rc}: {text}")
    else:
        out.lines.append(f"not unloaded: {why}; stop any running `cchooks serve` yourself")
    path.unlink()
    out.changed = True
    out.lines.append(f"removed {path}")
    if usable:
        for cmd in after:
            runner(cmd)
            out.commands.append(cmd)
    return out


def status(
    spec: ServiceSpec,
    ledger_path: Path,
    platform: str | None = None,
    *,
    runner: Runner | None = None,
    home: Path | None = None,
) -> Outcome:
    """Is the service file there and current, what does the service manager say, is a watcher running?"""
    from cchooks.watch.lock import lock_holder

    plat = detect_platform(platform)
    runner = runner or default_runner
    path = unit_path(plat, home)
    out = Outcome(path=path)
    try:
        existing: bytes | None = path.read_bytes()
    except OSError:
        existing = None
    if existing is None:
        out.lines.append(f"service file: not installed ({path})")
    elif existing == render(spec, plat):
        out.lines.append(f"service file: {path} (up to date)")
    else:
        out.lines.append(f"service file: {path} (differs from what `cchooks service install` writes now)")
    if existing is not None:
        if plat == "linux":
            usable, why = systemd_user_available(runner)
            if usable:
                _, active = runner(["systemctl", "--user", "is-active", SYSTEMD_UNIT])
                _, enabled = runner(["systemctl", "--user", "is-enabled", SYSTEMD_UNIT])
                out.lines.append(f"systemd: {active or 'unknown'}, {enabled or 'unknown'}")
            else:
                out.lines.append(f"systemd: unknown ({why})")
        else:
            usable, why = launchctl_available()
            if usable:
                rc, _ = runner(["launchctl", "list", LAUNCHD_LABEL])
                out.lines.append("launchd: loaded" if rc == 0 else "launchd: not loaded")
            else:
                out.lines.append(f"launchd: unknown ({why})")
    pid = lock_holder(ledger_path)
    if pid is None:
        out.lines.append(f"watcher: not running for {ledger_path}")
    else:
        out.lines.append(f"watcher: running (pid {pid or '?'}) for {ledger_path}")
    return out
