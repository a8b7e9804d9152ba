"""`cchooks.cli.console` ends the process without the interpreter's teardown, and loses nothing by it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.transcript_factory import Resp, assistant_line

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str, tmp_path: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CCHOOKS_LEDGER": str(tmp_path / "l.db")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, **kw)  # type: ignore[call-overload,no-any-return]


def test_exit_handlers_run_and_output_is_flushed(tmp_path: Path) -> None:
    marker = tmp_path / "atexit-ran"
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        "sys.stdout.write('unflushed, ')\n"  # still in the buffer when console() ends the process
        "sys.argv = ['cchooks', '--version']\n"
        "from cchooks.cli import console\n"
        "console()\n"
        "print('never reached')\n"
    )
    r = _run(code, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("unflushed, cchooks ") and "never reached" not in r.stdout
    assert marker.read_text() == "ran"


def test_exit_code_is_kept(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.argv = ['cchooks', 'report', 'daily', '--no-ingest', '--since', 'garbage']\n"
        "from cchooks.cli import console\n"
        "console()\n"
    )
    r = _run(code, tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("cchooks: 'garbage' is not a day") and "Traceback" not in r.stderr


def test_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    marker = tmp_path / "thread-done"
    code = (
        "import sys, threading, time\n"
        f"def work():\n    time.sleep(0.5)\n    open({str(marker)!r}, 'w').write('done')\n"
        "threading.Thread(target=work).start()\n"
        "sys.argv = ['cchooks', '--version']\n"
        "from cchooks.cli import console\n"
        "console()\n"
    )
    r = _run(code, tmp_path)
    assert r.returncode == 0, r.stderr
    assert marker.read_text() == "done"


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    """`cchooks report ... | head -c 1`: exit 0, nothing on stderr (a normal exit would print
    "Exception ignored ... BrokenPipeError" while flushing stdout)."""
    claude_dir = tmp_path / "claude"
    project = claude_dir / "projects" / "-p"
    project.mkdir(parents=True)
    for n in range(400):  # a report far larger than a pipe's buffer
        session = f"00000000-0000-0000-0000-{n:012d}"
        r = Resp(n + 1, session, 100, 10, 1, 2, 1000, ts=f"2026-11-{n % 28 + 1:02d}T10:00:00.000Z")
        (project / f"{session}.jsonl").write_text(assistant_line(r, block=0) + "\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cchooks", "report", "session", "--json", "--breakdown",
           "--ledger", str(tmp_path / "l.db"), "--claude-dir", str(claude_dir)]  # fmt: skip
    full = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    assert full.returncode == 0 and len(full.stdout) > 256 * 1024, full.stderr
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.read(1) == b"{"
    p.stdout.close()  # the reader goes away before the rest is written
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0
    assert "Exception" not in err and "Traceback" not in err, err


def test_a_profiler_still_gets_its_report(tmp_path: Path) -> None:
    out = tmp_path / "cchooks.prof"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "cchooks", "--version"],
                       capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0
