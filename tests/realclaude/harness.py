"""Run the real Claude Code CLI offline, against a scripted mock Anthropic API.

Adapted from shared/realclaude (see README.md beside this file). Claude Code, the
mock API (127.0.0.1:18080), the OTLP capture sink (127.0.0.1:14318) and
optionally a caller's background command (e.g. a cchooks OTLP receiver) run in a
private network namespace (``unshare --net``) that has only loopback. Each run
gets its own namespace, so concurrent runs don't collide on ports; each run uses
its own ``workdir`` (HOME and CLAUDE_CONFIG_DIR are inside it; the real
``~/.claude`` is never touched).

Layout of ``workdir``::

    home/            HOME for claude (and for settings_cmd / the extra command)
    home/.claude/    CLAUDE_CONFIG_DIR: settings.json, .claude.json, projects/<key>/<session>.jsonl
    proj/            cwd of claude (holds notes.txt, which the subagent reads)
    bin/             copies of the mock, the OTLP sink, the capture hook
    capture/<scn>/   per scenario: responses.jsonl (ground truth), requests.jsonl, otlp/,
                     hooks.jsonl, statusline.jsonl, claude-output.json (stdout),
                     claude-stderr.txt, claude-exit-code.txt, timing.json, pane-*.txt
    driver.log       the driver's stderr (one line per scenario, and problems)
    extra-inside.log stdout+stderr of extra_inside_cmd

Example::

    from tests.realclaude.harness import clean_env, keep_capture, run_scenarios

    def install(config_dir, home):
        subprocess.run([sys.executable, "-m", "cchooks", "install", "--settings-dir", str(config_dir)],
                       check=True, env=clean_env({"HOME": str(home), "CLAUDE_CONFIG_DIR": str(config_dir)}))
        keep_capture(config_dir)          # optional: capture hooks + statusLine tee stay in too

    # capture_statusline=False: cchooks install refuses a statusLine that is not its own
    res = run_scenarios(tmp_path / "cc", ["p-json"], settings_hook=install, capture_statusline=False,
                        env={"CCHOOKS_LEDGER": str(tmp_path / "ledger.db")})
    assert res.ok, res.describe()
    res["p-json"].responses          # the mock's answers with exact usage
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .make_config import EVENTS, write_config

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
CC_VERSION = "2.1.330"
# The newest release of the compatibility matrix (docs/versions.md); it runs live too, from
# its own prefix: install_deps.sh with CC_VERSION=<it> CCHOOKS_CLAUDE_PREFIX=<prefix_for(it)>.
LATEST_VERSION = "2.1.332"
DEFAULT_PREFIX = "/tmp/ccreal"
MOCK_PORT = 18080
OTLP_PORT = 14318
API_KEY = "dummy"

ALL_SCENARIOS = ["p-json", "p-protobuf", "p-resume", "p-continue", "p-fork", "p-slow", "interactive"]
# default OTLP protocol per scenario, as in the original harness
DEFAULT_PROTOCOL = {
    "p-json": "http/json", "p-protobuf": "http/protobuf", "p-resume": "http/json",
    "p-continue": "http/protobuf", "p-fork": "http/json", "p-slow": "http/protobuf",
    "interactive": "http/json",
}
# scenario digit added to every token number by the mock
DIGIT = {"p-json": 1, "p-protobuf": 2, "p-resume": 3, "p-continue": 4, "interactive": 5, "p-fork": 6, "p-slow": 7}
# scenario -> scenario that must have run before it (in the same run)
NEEDS = {"p-resume": "p-json", "p-fork": "p-protobuf"}
SCRIPTS = ["mock_anthropic.py", "otlp_capture.py", "capture_hook.py", "make_config.py", "run_inside.sh"]
# variables of the calling environment that never reach the run: they could point
# claude at a real API or telemetry endpoint, or the hooks at a real ledger
SCRUB_PREFIXES = ("ANTHROPIC_", "CLAUDE", "OTEL_", "CCHOOKS_", "CC_CAPTURE", "DISABLE_AUTOUPDATER")


class HarnessUnavailable(RuntimeError):
    """A tool the harness needs (unshare, ip, tmux, the claude install) is missing or unusable."""


# --------------------------------------------------------------------------- discovery
def claude_prefix(version: str = CC_VERSION) -> Path:
    if version != CC_VERSION:
        return Path(os.environ.get("CCHOOKS_CLAUDE_PREFIX_LATEST") or f"{DEFAULT_PREFIX}-{version}")
    return Path(os.environ.get("CCHOOKS_CLAUDE_PREFIX") or os.environ.get("CC_PREFIX") or DEFAULT_PREFIX)


def find_claude(prefix: Path | None = None, version: str = CC_VERSION) -> Path:
    """The installed claude executable, or HarnessUnavailable saying what is wrong."""
    prefix = prefix or claude_prefix(version)
    pkg = prefix / "node_modules/@anthropic-ai/claude-code/package.json"
    native = prefix / "node_modules/@anthropic-ai/claude-code-linux-x64/claude"
    exe = prefix / "node_modules/.bin/claude"
    if not pkg.is_file():
        raise HarnessUnavailable(f"Claude Code is not installed in {prefix} (run tests/realclaude/install_deps.sh)")
    found = json.loads(pkg.read_text()).get("version")
    if found != version:
        raise HarnessUnavailable(f"Claude Code in {prefix} is {found}, expected {version} "
                                 f"(run CC_VERSION={version} CCHOOKS_CLAUDE_PREFIX={prefix}"
                                 " tests/realclaude/install_deps.sh)")
    if not native.is_file():
        raise HarnessUnavailable(f"native package @anthropic-ai/claude-code-linux-x64 missing in {prefix}")
    # npm's postinstall copies the native binary over bin/claude.exe; without it the .bin
    # entry is a placeholder stub, so fall back to the native binary itself
    if exe.exists() and exe.resolve().read_bytes()[:4] == b"\x7fELF":
        return exe
    return native


def missing_tools(interactive: bool = False) -> list[str]:
    need = ["unshare", "ip", "bash", "timeout", "setsid"] + (["tmux"] if interactive else [])
    return [t for t in need if shutil.which(t) is None]


def unshare_argv() -> list[str]:
    return ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]


def requirements_problem(interactive: bool = False, version: str = CC_VERSION) -> str | None:
    """None when a run can start, else a one-line reason (for pytest.skip / pytest.fail)."""
    miss = missing_tools(interactive)
    if miss:
        return "missing tools: " + ", ".join(miss) + " (run tests/realclaude/install_deps.sh)"
    try:
        find_claude(version=version)
    except HarnessUnavailable as e:
        return str(e)
    p = run_in_namespace(["true"], timeout=30)
    if p.returncode != 0:
        return f"cannot create a network namespace ({' '.join(unshare_argv())}): {p.stderr.strip()}"
    return None


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUB_PREFIXES)}
    env.update(extra or {})
    return env


def run_in_namespace(argv: Sequence[str] | str, env: Mapping[str, str] | None = None,
                     timeout: float = 60, cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run one command inside a fresh loopback-only network namespace (lo up).

    ``argv`` may be a shell string. Handy to check that e.g. ``sys.executable -m cchooks``
    works in there (the namespace shares the filesystem, so it should).
    """
    cmd = argv if isinstance(argv, str) else " ".join(shlex.quote(a) for a in argv)
    return subprocess.run([*unshare_argv(), "bash", "-c", "ip link set lo up && " + cmd],
                          env=clean_env(env), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def ground_truth(scenario: str) -> list[dict[str, Any]]:
    """The fixture's mock answers for ``scenario`` (ground_truth.json, from
    shared/fixtures/claude-code-2.1.330): seq, step, subagent, stream, message_id,
    request_id, usage. A new run gives the same steps, ids and usage (the order of
    subagent vs. main-thread answers may differ); only session ids and times change."""
    data = json.loads((HERE / "ground_truth.json").read_text())
    return list(data["scenarios"][scenario])


# --------------------------------------------------------------------------- settings helpers
def read_settings(config_dir: Path) -> dict[str, Any]:
    s: dict[str, Any] = json.loads((Path(config_dir) / "settings.json").read_text())
    return s


def write_settings(config_dir: Path, settings: Mapping[str, Any]) -> None:
    (Path(config_dir) / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        elif v is None:
            base.pop(k, None)
        else:
            base[k] = v
    return base


def _bin_dir_for(config_dir: Path) -> Path:
    b = Path(config_dir).parent.parent / "bin"
    if not (b / "capture_hook.py").is_file():
        raise ValueError(f"{config_dir} is not a harness config dir (no {b}/capture_hook.py)")
    return b


def capture_command(config_dir: Path, *args: str, python: str | None = None) -> str:
    py = python or sys.executable
    return " ".join(shlex.quote(a) for a in (py, str(_bin_dir_for(config_dir) / "capture_hook.py"), *args))


def keep_capture(config_dir: Path, hooks: bool = True, statusline: bool = True,
                 events: Sequence[str] | None = None) -> None:
    """After e.g. ``cchooks install`` rewrote settings.json: put the capture back in, beside it.

    hooks: add a capture hook group for every event (of ``events``, default all that
    make_config knows) unless one is there already; Claude Code runs all of them.
    statusline: wrap the current statusLine command in ``capture_hook.py statusline-tee``,
    which records stdin to statusline.jsonl, runs the real command with the same stdin
    and passes its output and exit code through (its output also lands in
    statusline-tee.jsonl). Without a statusLine the capture statusLine is set.
    """
    s = read_settings(config_dir)
    if hooks:
        hk = s.setdefault("hooks", {})
        for ev in events or EVENTS:
            groups = hk.setdefault(ev, [])
            if not any("capture_hook.py" in h.get("command", "") for g in groups for h in g.get("hooks", [])):
                groups.append({"hooks": [{"type": "command", "command": capture_command(config_dir, "hook", ev)}]})
    if statusline:
        sl = s.get("statusLine") or {}
        cmd = sl.get("command", "")
        if not cmd:
            s["statusLine"] = {"type": "command", "command": capture_command(config_dir, "statusline"), "padding": 0}
        elif "capture_hook.py" not in cmd:
            sl["command"] = capture_command(config_dir, "statusline-tee", cmd)
    write_settings(config_dir, s)


# --------------------------------------------------------------------------- results
def _read_jsonl(p: Path) -> list[dict[str, Any]]:
    if not p.is_file():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


@dataclass
class ScenarioResult:
    name: str
    dir: Path
    otlp_protocol: str
    exit_code: int | None            # None: claude never finished (e.g. interactive timeout)
    stdout: str                      # -p: the --output-format json text; interactive: ""
    stderr: str
    seconds: float | None            # servers up .. servers down, incl. the settle time

    @property
    def output_json(self) -> dict[str, Any] | None:
        try:
            v = json.loads(self.stdout)
        except ValueError:
            return None
        return v if isinstance(v, dict) else None

    @property
    def session_id(self) -> str | None:
        o = self.output_json
        if o and o.get("session_id"):
            return str(o["session_id"])
        ids = [r.get("session_id") for r in self.responses if r.get("session_id")]
        return ids[0] if ids else None

    @property
    def responses_path(self) -> Path:
        """The mock's log of every answer with its exact usage: the ground truth."""
        return self.dir / "responses.jsonl"

    @property
    def responses(self) -> list[dict[str, Any]]:
        return _read_jsonl(self.responses_path)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return _read_jsonl(self.dir / "requests.jsonl")

    @property
    def hooks(self) -> list[dict[str, Any]]:
        """Capture hook calls {seq,time,event,stdin_raw,payload} (empty without capture hooks)."""
        return _read_jsonl(self.dir / "hooks.jsonl")

    @property
    def statusline(self) -> list[dict[str, Any]]:
        """Capture statusLine calls (interactive only; -p never runs the statusLine)."""
        return _read_jsonl(self.dir / "statusline.jsonl")

    @property
    def statusline_tee(self) -> list[dict[str, Any]]:
        """With keep_capture(): what the real statusLine command printed, per call."""
        return _read_jsonl(self.dir / "statusline-tee.jsonl")

    @property
    def otlp_dir(self) -> Path:
        return self.dir / "otlp"

    @property
    def otlp_index(self) -> list[dict[str, Any]]:
        """One entry per OTLP POST to the harness's sink (empty with otlp_endpoint set)."""
        return _read_jsonl(self.otlp_dir / "index.jsonl")

    def otlp_bodies(self, signal: str | None = None) -> list[tuple[dict[str, Any], bytes]]:
        """(index entry, raw body) per POST, optionally only 'metrics' / 'logs' / 'traces'."""
        out = []
        for e in self.otlp_index:
            if signal and not e["path"].split("?")[0].rstrip("/").endswith("/" + signal):
                continue
            out.append((e, (self.otlp_dir / e.get("decompressed_file", e["file"])).read_bytes()))
        return out

    @property
    def panes(self) -> dict[str, str]:
        """interactive: tmux screens by name (01-ready, 02-permission-prompt, ..., full-history)."""
        return {p.name[len("pane-"):-len(".txt")]: p.read_text(errors="replace")
                for p in sorted(self.dir.glob("pane-*.txt"))}

    def usage_totals(self) -> dict[str, int]:
        """Sum of the mock's answers: input, cache_creation, cache_read, output."""
        t = {"input": 0, "cache_creation": 0, "cache_read": 0, "output": 0}
        for r in self.responses:
            u = r.get("usage") or {}
            t["input"] += u.get("input_tokens", 0)
            t["cache_creation"] += u.get("cache_creation_input_tokens", 0)
            t["cache_read"] += u.get("cache_read_input_tokens", 0)
            t["output"] += u.get("output_tokens", 0)
        return t


@dataclass
class RunResult:
    workdir: Path
    home: Path
    config_dir: Path
    project_dir: Path
    capture_dir: Path
    scenarios: dict[str, ScenarioResult]
    driver_returncode: int
    driver_log: Path
    extra_inside_log: Path
    seconds: float
    settings_as_written: Path        # what the harness (+ settings, settings_hook, settings_cmd) left
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ScenarioResult:
        return self.scenarios[name]

    @property
    def ok(self) -> bool:
        return self.driver_returncode == 0 and all(s.exit_code == 0 for s in self.scenarios.values())

    @property
    def projects_dir(self) -> Path:
        return self.config_dir / "projects"

    @property
    def project_key(self) -> str:
        """Claude Code's folder name for proj/ under projects/ (every non-alphanumeric as -)."""
        return re.sub(r"[^A-Za-z0-9]", "-", str(self.project_dir))

    @property
    def transcripts(self) -> list[Path]:
        """Every transcript: main sessions and subagents' (…/<session>/subagents/agent-*.jsonl)."""
        return sorted(self.projects_dir.rglob("*.jsonl")) if self.projects_dir.is_dir() else []

    @property
    def main_transcripts(self) -> list[Path]:
        return [p for p in self.transcripts if p.parent.parent == self.projects_dir]

    @property
    def settings_after_run(self) -> dict[str, Any]:
        return read_settings(self.config_dir)

    def describe(self) -> str:
        lines = [f"workdir {self.workdir}, driver rc {self.driver_returncode}, {self.seconds:.1f}s"]
        for s in self.scenarios.values():
            lines.append(f"  {s.name}: exit {s.exit_code}, {s.seconds}s, {len(s.responses)} responses, "
                         f"stderr {s.stderr[-300:]!r}")
        if self.driver_log.is_file():
            lines.append("driver.log:\n" + self.driver_log.read_text(errors="replace")[-3000:])
        if self.extra_inside_log.is_file():
            lines.append("extra-inside.log:\n" + self.extra_inside_log.read_text(errors="replace")[-3000:])
        return "\n".join(lines)


# --------------------------------------------------------------------------- the run
def _check_scenarios(scenarios: Sequence[str]) -> None:
    seen: set[str] = set()
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            raise ValueError(f"unknown scenario {s!r}; known: {ALL_SCENARIOS}")
        if s in seen:
            raise ValueError(f"scenario {s!r} twice (its capture dir would be shared)")
        need = NEEDS.get(s)
        if need and need not in seen:
            raise ValueError(f"scenario {s!r} needs {need!r} earlier in the same run")
        if s == "p-continue" and not seen:
            raise ValueError("p-continue needs an earlier scenario (it continues the latest session)")
        seen.add(s)


def run_scenarios(
    workdir: Path | str,
    scenarios: Sequence[str] = ("p-json",),
    settings: Mapping[str, Any] | None = None,
    settings_hook: Callable[[Path, Path], None] | None = None,
    settings_cmd: str | Sequence[str] | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    extra_inside_cmd: str | None = None,
    extra_inside_ready: str | None = None,
    extra_stop_wait: float = 5,
    capture_hooks: bool = True,
    capture_statusline: bool = True,
    idle_wait: int = 0,
    interactive_waits: Mapping[str, float] | None = None,
    settle: float = 2,
    claude_timeout: int = 300,
    timeout: float | None = None,
    claude_bin: Path | str | None = None,
) -> RunResult:
    """Run ``scenarios`` in order with the real Claude Code, all sharing one config dir.

    workdir: scratch root (created; an existing one is wiped). Keep it short-ish and
        without spaces (it ends up in the project key and in hook commands).
    scenarios: from ALL_SCENARIOS; p-resume needs p-json before it, p-fork needs p-protobuf,
        p-continue continues the most recent session. "interactive" needs tmux.
    settings: deep-merged into settings.json after the harness wrote it (None values delete).
    settings_hook(config_dir, home): called next, e.g. to run ``cchooks install --settings-dir``.
    settings_cmd: then this command (shell string or argv), run outside the namespace with
        HOME=<home>, CLAUDE_CONFIG_DIR=<config_dir>, RC_CONFIG_DIR, RC_HOME, RC_BIN, RC_WORKDIR set
        plus ``env``; a non-zero exit raises CalledProcessError.
    otlp_endpoint: None = the harness's sink on 127.0.0.1:14318 (bodies in capture/<scn>/otlp);
        else claude exports there (start the receiver with extra_inside_cmd: only loopback
        inside the namespace) and no sink runs.
    otlp_protocol: one protocol for all scenarios or {scenario: protocol}; default per
        scenario as in the original harness (DEFAULT_PROTOCOL).
    env: passed to claude (and so to its hooks and statusLine) and to extra_inside_cmd, set
        after the harness's own claude environment (so it can override it), e.g.
        {"CCHOOKS_LEDGER": "/…/ledger.db"}. The calling environment's ANTHROPIC_*, CLAUDE*,
        OTEL_*, CCHOOKS_* variables are dropped first.
    extra_inside_cmd: shell command started in the namespace before the first scenario (cwd
        workdir, claude's environment incl. ``env``, own process group, output in
        extra-inside.log); SIGTERM to its group after the last scenario, SIGKILL after
        extra_stop_wait seconds. extra_inside_ready: shell condition polled up to 30 s
        before the first scenario (e.g. a port check); not ready -> driver exits 3.
    capture_hooks / capture_statusline: write the capture hook on every event / the capture
        statusLine (False: settings.json has only permissions & co.; see also keep_capture).
    idle_wait: interactive: seconds idle before /exit (the idle Notification needs >= 61).
    interactive_waits: {"perm": 8, "turn": 5, "compact": 8} settle times in interactive.
    settle: seconds after claude exits before each scenario's servers stop (OTLP flush).
    claude_timeout: per -p run; timeout: for the whole driver (default: generous per scenario).
    """
    t_start = time.monotonic()
    scenarios = list(scenarios)
    _check_scenarios(scenarios)
    interactive = "interactive" in scenarios
    miss = missing_tools(interactive)
    if miss:
        raise HarnessUnavailable("missing tools: " + ", ".join(miss))
    claude = Path(claude_bin) if claude_bin else find_claude()

    w = Path(workdir).resolve()
    if " " in str(w):
        raise ValueError("workdir must not contain spaces")
    home, config_dir, proj, bin_dir, cap = w / "home", w / "home/.claude", w / "proj", w / "bin", w / "capture"
    for d in (home, proj, bin_dir, cap):
        if d.exists():
            shutil.rmtree(d)
    for f in ("driver.log", "extra-inside.log", "extra-env.sh"):
        (w / f).unlink(missing_ok=True)
    for d in (config_dir, proj, bin_dir, cap):
        d.mkdir(parents=True, exist_ok=True)
    for s in SCRIPTS + ["settings.template.json"]:
        shutil.copy2(HERE / s, bin_dir / s)
    (proj / "notes.txt").write_text("hello from notes\nsecond line\n")

    write_config(str(config_dir), str(bin_dir), str(proj), API_KEY, str(bin_dir / "settings.template.json"),
                 sys.executable, None, capture_hooks, capture_statusline)
    shutil.copy2(config_dir / "settings.json", cap / "settings.json.as-written-by-harness")
    shutil.copy2(config_dir / ".claude.json", cap / "claude.json.as-written-by-harness")

    if settings:
        write_settings(config_dir, deep_merge(read_settings(config_dir), settings))
    if settings_hook:
        settings_hook(config_dir, home)
    if settings_cmd:
        cenv = clean_env({"HOME": str(home), "CLAUDE_CONFIG_DIR": str(config_dir), "RC_CONFIG_DIR": str(config_dir),
                          "RC_HOME": str(home), "RC_BIN": str(bin_dir), "RC_WORKDIR": str(w), **(env or {})})
        subprocess.run(settings_cmd, shell=isinstance(settings_cmd, str), env=cenv, check=True, cwd=w,
                       stdin=subprocess.DEVNULL, timeout=300)
    settings_final = cap / "settings.json.before-run"
    shutil.copy2(config_dir / "settings.json", settings_final)

    extra_env_file = w / "extra-env.sh"
    extra_env_file.write_text("".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in (env or {}).items()))

    if isinstance(otlp_protocol, str):
        protos = {s: otlp_protocol for s in ALL_SCENARIOS}
    else:
        protos = dict(otlp_protocol or {})
    waits = {"perm": 8, "turn": 5, "compact": 8, **(interactive_waits or {})}
    tmux_sock = Path(tempfile.mkdtemp(prefix="ccrc-", dir="/tmp")) / "tmux.sock"
    denv = clean_env({
        "W": str(w), "CLAUDE": str(claude), "PYTHON": sys.executable,
        "SCENARIOS": " ".join(scenarios), "PROTO_MAP": " ".join(f"{k}={v}" for k, v in protos.items()),
        "OTLP_ENDPOINT": otlp_endpoint or "", "EXTRA_ENV_FILE": str(extra_env_file),
        "EXTRA_INSIDE_CMD": extra_inside_cmd or "", "EXTRA_INSIDE_READY": extra_inside_ready or "",
        "EXTRA_STOP_WAIT": str(int(extra_stop_wait)), "IDLE_WAIT": str(int(idle_wait)),
        "PERM_WAIT": str(int(waits["perm"])), "TURN_WAIT": str(waits["turn"]),
        "COMPACT_WAIT": str(waits["compact"]), "SETTLE": str(settle),
        "CLAUDE_TIMEOUT": str(int(claude_timeout)), "TMUX_SOCK": str(tmux_sock),
    })
    if timeout is None:
        timeout = 120 + sum((idle_wait + 300) if s == "interactive" else claude_timeout + 30 for s in scenarios) \
            + (extra_stop_wait + 40 if extra_inside_cmd else 0)
    driver_log = w / "driver.log"
    with open(driver_log, "wb") as logf:
        proc = subprocess.Popen([*unshare_argv(), "bash", str(bin_dir / "run_inside.sh")], env=denv, cwd=w,
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            with open(driver_log, "a") as lf:
                lf.write(f"\n[harness] driver killed after {timeout}s\n")
            rc = -9
    shutil.rmtree(tmux_sock.parent, ignore_errors=True)

    results: dict[str, ScenarioResult] = {}
    for s in scenarios:
        d = cap / s
        if not d.is_dir():
            continue
        ec_txt = (d / "claude-exit-code.txt").read_text().strip() if (d / "claude-exit-code.txt").is_file() else ""
        timing = json.loads((d / "timing.json").read_text()) if (d / "timing.json").is_file() else {}
        proto_file = d / "otlp-protocol.txt"
        results[s] = ScenarioResult(
            name=s, dir=d,
            otlp_protocol=proto_file.read_text().strip() if proto_file.is_file() else "",
            exit_code=int(ec_txt) if ec_txt.lstrip("-").isdigit() else None,
            stdout=(d / "claude-output.json").read_text(errors="replace") if (d / "claude-output.json").is_file() else "",
            stderr=(d / "claude-stderr.txt").read_text(errors="replace") if (d / "claude-stderr.txt").is_file() else "",
            seconds=timing.get("seconds"),
        )
    if config_dir.is_dir() and (config_dir / "settings.json").is_file():
        shutil.copy2(config_dir / "settings.json", cap / "settings.json.after-run")
    return RunResult(workdir=w, home=home, config_dir=config_dir, project_dir=proj, capture_dir=cap,
                     scenarios=results, driver_returncode=rc, driver_log=driver_log,
                     extra_inside_log=w / "extra-inside.log", seconds=round(time.monotonic() - t_start, 2),
                     settings_as_written=settings_final)


# --------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the real Claude Code offline against the mock API.")
    ap.add_argument("workdir")
    ap.add_argument("--scenarios", default="p-json", help="space or comma separated (default p-json)")
    ap.add_argument("--idle-wait", type=int, default=0)
    ap.add_argument("--otlp-endpoint")
    ap.add_argument("--settings-cmd", help="shell command run after the config is written (see run_scenarios)")
    ap.add_argument("--extra-inside-cmd")
    ap.add_argument("--extra-inside-ready")
    ap.add_argument("--env", action="append", default=[], metavar="K=V")
    ap.add_argument("--no-capture-hooks", action="store_true")
    ap.add_argument("--no-capture-statusline", action="store_true")
    a = ap.parse_args(argv)
    res = run_scenarios(
        a.workdir, a.scenarios.replace(",", " ").split(), settings_cmd=a.settings_cmd,
        otlp_endpoint=a.otlp_endpoint, env=dict(kv.split("=", 1) for kv in a.env),
        extra_inside_cmd=a.extra_inside_cmd, extra_inside_ready=a.extra_inside_ready,
        capture_hooks=not a.no_capture_hooks, capture_statusline=not a.no_capture_statusline,
        idle_wait=a.idle_wait)
    print(res.describe())
    for s in res.scenarios.values():
        print(f"{s.name}: totals {s.usage_totals()} session {s.session_id}")
    print(f"transcripts: {len(res.transcripts)}")
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
