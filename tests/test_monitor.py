"""`cchooks monitor` as a person sees it: in an 80x24 tmux pane, numbers move as transcripts grow,
Ctrl-C leaves a clean terminal. Plus `--once` for scripts."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_watch import Corpus, append

ROOT = Path(__file__).resolve().parent.parent


def _today_responses(screen: str) -> int | None:
    m = re.search(r"^Today\s+\S+\s+\S+ tok\s+([\d,]+) responses", screen, re.M)
    return int(m.group(1).replace(",", "")) if m else None


def _five_hour_tokens(screen: str) -> str | None:
    m = re.search(r"^5-hour.*\n\s+(\S+) (/|in\+out)", screen, re.M)
    return m.group(1) if m else None


class Tmux:
    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        p = subprocess.run(
            ["tmux", "-S", str(self.socket), *args], capture_output=True, text=True, timeout=30
        )
        if p.returncode != 0:
            raise AssertionError(f"tmux {args}: {p.stderr}")
        return p.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "mon")

    def wait(self, pred, what: str, timeout: float = 8.0) -> str:  # type: ignore[no-untyped-def]
        t0 = time.monotonic()
        screen = ""
        while time.monotonic() - t0 < timeout:
            screen = self.screen()
            if pred(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{what}: not seen after {timeout} s; screen:\n{screen}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux not installed")
    t = Tmux(tmp_path / "tmux.sock")
    yield t
    subprocess.run(["tmux", "-S", str(t.socket), "kill-server"], capture_output=True, timeout=30)


def _env_prefix() -> str:
    keep = ["HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "CCHOOKS_LOG_DIR",
            "PATH", "PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV"]  # fmt: skip
    pairs = [f"{k}={shlex.quote(os.environ[k])}" for k in keep if k in os.environ]
    return "env " + " ".join(pairs) + " TERM=xterm-256color"


def test_monitor_live_in_tmux(tmp_path: Path, tmux: Tmux) -> None:
    claude = tmp_path / "claude"
    ledger = tmp_path / "ledger.sqlite3"
    c = Corpus()
    session_a = "aaaa1111-session"
    append(claude / "projects" / "-tmp-proj" / f"{session_a}.jsonl", c.lines(session_a, 2))
    monitor = [sys.executable, "-m", "cchooks", "monitor", "--ledger", str(ledger), "--claude-dir", str(claude),
               "--refresh", "0.3", "--tz", "UTC"]  # fmt: skip
    script = f"cd {shlex.quote(str(ROOT))} && {_env_prefix()} {shlex.join(monitor)}; echo EXIT:$?; sleep 60"
    tmux("new-session", "-d", "-s", "mon", "-x", "80", "-y", "24", "bash", "-c", script)
    screen = tmux.wait(lambda s: _today_responses(s) == 2, "first frame with 2 responses today")
    lines = screen.splitlines()
    assert lines[0].startswith("cchooks monitor")
    assert "Ctrl-C quits" in screen  # the footer fits: nothing was cut at the bottom of 24 rows
    assert session_a[:8] in screen
    assert tmux("display", "-p", "-t", "mon", "#{alternate_on}").strip() == "1"
    tokens_before = _five_hour_tokens(screen)
    assert tokens_before

    # Claude Code writes three more responses: the monitor ingests them itself (no `watch` running).
    append(claude / "projects" / "-tmp-proj" / f"{session_a}.jsonl", c.lines(session_a, 3))
    screen = tmux.wait(lambda s: _today_responses(s) == 5, "numbers moved after appends")
    assert _five_hour_tokens(screen) != tokens_before

    # A second session in a new project shows up among the active sessions.
    session_b = "bbbb2222-session"
    append(claude / "projects" / "-tmp-other" / f"{session_b}.jsonl", c.lines(session_b, 1))
    screen = tmux.wait(lambda s: session_b[:8] in s and _today_responses(s) == 6, "new session listed")

    tmux("send-keys", "-t", "mon", "C-c")
    screen = tmux.wait(lambda s: "EXIT:" in s, "exit after Ctrl-C")
    assert "EXIT:0" in screen
    assert "Traceback" not in screen and "KeyboardInterrupt" not in screen
    assert tmux("display", "-p", "-t", "mon", "#{alternate_on}").strip() == "0"  # left the alternate screen
    assert tmux("display", "-p", "-t", "mon", "#{cursor_flag}").strip() == "1"  # cursor shown again


def test_monitor_once(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    c = Corpus()
    append(claude / "projects" / "-tmp-proj" / "s1.jsonl", c.lines("s1", 4))
    env = dict(os.environ, COLUMNS="80", LINES="24")
    p = subprocess.run(
        [sys.executable, "-m", "cchooks", "monitor", "--once", "--ledger", str(tmp_path / "l.db"),
         "--claude-dir", str(claude), "--plan", "pro"],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) <= 24 and max(len(x) for x in lines) <= 80, p.stdout
    assert "\x1b[" not in p.stdout  # not a terminal: no colour codes
    assert _today_responses(p.stdout) == 4
    assert re.search(r"^5-hour .* \d+\.\d% config", p.stdout, re.M)  # the pro preset's limit
    assert "/ 44.0K in+out tok (config)" in p.stdout
    assert "s1" in p.stdout and "watch not running" in p.stdout


def test_monitor_needs_a_terminal_without_once(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "cchooks", "monitor", "--ledger", str(tmp_path / "l.db"), "--no-ingest"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert p.returncode == 2 and "--once" in p.stderr


def test_frame_fits_small_and_large_screens(tmp_path: Path) -> None:
    from rich.console import Console

    from cchooks.ledger import Ledger
    from cchooks.monitor.data import ViewContext, load_window_data, monitor_frame
    from cchooks.monitor.view import render_frame
    from tests.test_limits_cmd import MIN, rec

    now = int(time.time() * 1000)
    with Ledger.open(tmp_path / "l.db") as led:
        with led.write():
            led.upsert_records(
                [rec(i, now - i * MIN, session=f"sess{i % 9}", model=f"model-{i % 5}") for i in range(40)]
            )
        ctx = ViewContext.load(led, plan="max5", tz="UTC")
        frame = monitor_frame(led, ctx, load_window_data(led, now), now)
    assert len(frame.sessions) == 9 and len(frame.models) == 5
    for width, height in ((80, 24), (120, 40)):
        console = Console(width=width, height=height, file=open(os.devnull, "w"), record=True)  # noqa: SIM115
        console.print(render_frame(frame, width, height))
        text = console.export_text()
        assert len(text.splitlines()) <= height - 1, text
        assert max(len(x) for x in text.splitlines()) <= width
        assert "Ctrl-C quits" in text
        if height == 24:
            assert "… and" in text and "more" in text  # sessions beyond the screen are counted, not drawn
