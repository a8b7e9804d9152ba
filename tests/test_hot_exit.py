"""What a statusline refresh that reads the ledger skips: `functools` (cchooks.ledger.driver),
the rollup triggers until a write (`Ledger.open(lazy_triggers=True)`), the ingest modules when
`<ledger>.seen` says every session file is read, and the interpreter's teardown
(`launch_hot.exit_now`). Each test checks the figures or the files are what the full path gives.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from cchooks.installers import commands as ic
from cchooks.ledger import Ledger
from cchooks.ledger.driver import lru_cache
from cchooks.records import UsageRecord
from tests.derived_tables import derived
from tests.test_hot_shortcuts import _append_response, _env, _payload
from tests.test_hot_shortcuts import _run as _modules_after

ROOT = Path(__file__).resolve().parent.parent
HOT = ROOT / "cchooks" / "hot.py"


def _hot(args: list[str], stdin: bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """The command exactly as `cchooks install` writes it (python -S hot.py --sys-path ...)."""
    sys_path = [w for d in ic.hot_sys_path() for w in ("--sys-path", d)]
    cmd = [sys.executable, "-S", str(HOT), *sys_path, *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=60)


def test_driver_loads_without_functools_and_caches_statements() -> None:
    code = (
        "import sys\n"
        f"sys.path.append({str(ROOT)!r})\n"
        "from cchooks.ledger.driver import sqlite3\n"
        "assert 'functools' not in sys.modules, 'functools loaded'\n"
        "c = sqlite3.connect(':memory:', cached_statements=4)\n"
        "c.execute('CREATE TABLE t (x)')\n"
        "for i in range(50):\n"
        "    c.execute(f'INSERT INTO t VALUES ({i % 7})')\n"
        "    c.execute('INSERT INTO t VALUES (?)', (i,))\n"
        "assert c.execute('SELECT count(*), sum(x) FROM t').fetchone() == (100, sum(i % 7 for i in range(50)) + sum(range(50)))\n"
        "c.close()\n"
        "import functools\n"
        "assert hasattr(functools, 'partial') and functools.lru_cache is not None\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == b"ok\n", r.stderr


def test_driver_loads_the_usual_way_when_the_stand_in_is_not_enough() -> None:
    # A future driver that asks functools for more than lru_cache: here, a stand-in without it.
    source = (ROOT / "cchooks" / "ledger" / "driver.py").read_text()
    crippled = source.replace("stand_in.lru_cache = lru_cache", "pass  #")
    assert crippled != source
    code = (
        "import sys\n"
        f"exec(compile({crippled!r}, 'driver', 'exec'), {{'__name__': 'driver'}})\n"
        "import _sqlite3, functools\n"
        "assert hasattr(functools, 'partial')\n"
        "c = _sqlite3.connect(':memory:')\n"
        "assert c.execute('SELECT 41 + 1').fetchone() == (42,)\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == b"ok\n", r.stderr


def test_stand_in_lru_cache_keeps_at_most_maxsize() -> None:
    calls: list[str] = []

    def make(sql: str) -> str:
        calls.append(sql)
        return sql.upper()

    cached = lru_cache(2)(make)
    assert [cached(s) for s in ("a", "a", "b", "a")] == ["A", "A", "B", "A"]
    assert calls == ["a", "b"]
    cached("c")  # evicts the oldest, "a"
    cached("a")
    assert calls == ["a", "b", "c", "a"]
    none_kept = lru_cache(0)(make)
    none_kept("z"), none_kept("z")
    assert calls[-2:] == ["z", "z"]


def _record(n: int, agent_id: str | None = None) -> UsageRecord:
    return UsageRecord(f"msg_{n}", f"req_{n}", "s1", 1_790_000_000_000 + n * 1000, "claude-sonnet-4-5",
                       10, 20 + n, 3, 0, 100, agent_id=agent_id)  # fmt: skip


def test_lazy_triggers_keep_the_rollup_exact(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as led:
        led.upsert_records([_record(1)])
    lazy = Ledger.open(path, lazy_triggers=True)
    try:
        # A first write that rolls back must not take the triggers with it.
        try:
            with lazy.write():
                lazy.upsert_records([_record(2)])
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        with lazy.write():
            lazy.upsert_records([_record(3, agent_id="a1"), _record(1)])
        from cchooks.ledger.live import set_agent_type

        assert set_agent_type(lazy, "s1", "a1", "Explore") == 1
        incremental = derived(lazy.conn)
        with lazy.write():
            lazy.conn.execute("INSERT OR REPLACE INTO meta VALUES ('rollup_stale', '1')")
        lazy.rebuild_rollup_if_stale()
        assert derived(lazy.conn) == incremental and incremental[0]
        assert lazy.conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 2
    finally:
        lazy.close()


def test_statusline_with_every_file_seen_reads_no_transcript(claude_dir: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    env = _env(tmp_path, ledger)
    payload = _payload(claude_dir)
    stdin = json.dumps(payload).encode()
    _modules_after(["statusline"], stdin, env)  # reads the session and records it in .seen
    # That refresh wrote, so it stored no render to reuse: this one reads the ledger.
    assert not os.path.exists(str(ledger) + ".statusline")
    line, modules = _modules_after(["statusline"], stdin, env)
    assert "_sqlite3" in modules and "functools" not in modules
    assert "cchooks.ledger.ingest" not in modules and "cchooks.ledger.reader" not in modules
    assert "$" in line
    # A new response is read by the next refresh (the .seen stat no longer matches).
    _append_response(Path(payload["transcript_path"]), 7, 424_242)
    line2, modules2 = _modules_after(["statusline"], stdin, env)
    assert "cchooks.ledger.ingest" in modules2 and line2 != line
    with Ledger.open(ledger) as led:
        assert led.conn.execute("SELECT output_tokens FROM responses WHERE message_id = 'msg_shortcut_7'").fetchone() == (
            424_242,
        )


def test_exit_now_flushes_output_and_log(claude_dir: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    env = _env(tmp_path, ledger)
    r = _hot(["statusline"], json.dumps(_payload(claude_dir)).encode(), env)
    assert r.returncode == 0 and b"$" in r.stdout and r.stdout.endswith(b"\n")
    # A hook with garbage stdin logs one line and exits 0: the log line must reach the file.
    r = _hot(["hook", "PostToolUse"], b"{not json", env)
    assert r.returncode == 0 and r.stderr == b""
    log = (tmp_path / "logs" / "cchooks.log").read_text()
    assert "hook PostToolUse" in log
    # The ledger the statusline wrote is complete and closed cleanly enough to open.
    with Ledger.open(ledger) as led:
        assert led.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert led.conn.execute("SELECT count(*) FROM responses").fetchone()[0] > 0


def test_statusline_with_stdout_closed_exits_0_silently(claude_dir: Path, tmp_path: Path) -> None:
    env = _env(tmp_path, tmp_path / "ledger.sqlite3")
    sys_path = [w for d in ic.hot_sys_path() for w in ("--sys-path", d)]
    cmd = [sys.executable, "-S", str(HOT), *sys_path, "statusline"]
    # stdout closed before the process starts: Python sets sys.stdout to None.
    r = subprocess.run(cmd, input=json.dumps(_payload(claude_dir)).encode(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env, timeout=60, pass_fds=(), close_fds=True,
                       preexec_fn=lambda: os.close(1))  # fmt: skip
    assert r.returncode == 0 and r.stderr == b""


def _hook_stdin(payload: dict[str, object]) -> bytes:
    return json.dumps({"session_id": payload["session_id"], "transcript_path": payload["transcript_path"],
                       "hook_event_name": "PostToolUse", "tool_name": "Bash"}).encode()  # fmt: skip


def _in_new_process(code: str, ledger: Path) -> str:
    """`code` run alone against `ledger` (`led` open read-only), its stdout."""
    prog = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from cchooks.ledger import Ledger\n"
        f"led = Ledger.open({str(ledger)!r}, readonly=True)\n" + code
    )
    r = subprocess.run([sys.executable, "-c", prog], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().strip()


def _first_refresh(claude_dir: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, str], dict[str, object]]:
    """(ledger, its log, env, payload) after a first statusline refresh: it makes the ledger and
    reads the session, a log longer than LEAVE_WAL_BYTES, checkpointed at close."""
    ledger = tmp_path / "ledger.sqlite3"
    env = _env(tmp_path, ledger)
    payload = _payload(claude_dir)
    assert _hot(["statusline"], json.dumps(payload).encode(), env).returncode == 0
    return ledger, Path(str(ledger) + "-wal"), env, payload


def test_hot_processes_leave_a_short_log_that_the_next_process_reads(claude_dir: Path, tmp_path: Path) -> None:
    from cchooks.ledger.store import LEAVE_WAL_BYTES

    ledger, wal, env, payload = _first_refresh(claude_dir, tmp_path)
    written = []
    for n in range(3):
        _append_response(Path(payload["transcript_path"]), 100 + n, 31_000 + n)
        before = wal.stat().st_size if n else 0
        assert _hot(["hook", "PostToolUse"], _hook_stdin(payload), env).returncode == 0
        # Each hook ended without checkpointing; the next appended to the log left behind.
        assert before < wal.stat().st_size <= LEAVE_WAL_BYTES
        written.append(31_000 + n)
    # Another process alone with the ledger (read-only, even) reads the log back: every response is there.
    got = _in_new_process(
        "print(sorted(r[0] for r in led.conn.execute(\"SELECT output_tokens FROM responses"
        " WHERE message_id LIKE 'msg_shortcut_%'\")))\n"
        "print(led.conn.execute('PRAGMA integrity_check').fetchone()[0])\n",
        ledger,
    )
    assert got.splitlines() == [repr(written), "ok"]
    # The next refresh shows them too (the render cache's key covers the log).
    line = _hot(["statusline"], json.dumps(payload).encode(), env)
    assert line.returncode == 0 and b"$" in line.stdout


def test_a_hot_process_that_finds_a_long_log_checkpoints_and_removes_it(claude_dir: Path, tmp_path: Path) -> None:
    from cchooks.ledger.store import LEAVE_WAL_BYTES

    ledger, wal, env, payload = _first_refresh(claude_dir, tmp_path)
    _append_response(Path(payload["transcript_path"]), 199, 42_419)
    assert _hot(["hook", "PostToolUse"], _hook_stdin(payload), env).returncode == 0
    assert wal.exists()
    # Grow the log past the limit in a process that ends without closing (as a killed one would).
    grow = (
        "import os, sqlite3\n"
        f"c = sqlite3.connect({str(ledger)!r}, isolation_level=None)\n"
        f"while os.path.getsize({str(wal)!r}) <= {LEAVE_WAL_BYTES}:\n"
        "    c.execute(\"INSERT OR REPLACE INTO meta VALUES ('test_padding', hex(randomblob(2000)))\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", grow], check=True, timeout=60)
    assert wal.stat().st_size > LEAVE_WAL_BYTES
    _append_response(Path(payload["transcript_path"]), 200, 42_420)
    assert _hot(["hook", "PostToolUse"], _hook_stdin(payload), env).returncode == 0
    # The hook was the only connection: its close checkpointed everything into the ledger file.
    assert not wal.exists()
    conn = sqlite3.connect(f"file:{ledger}?immutable=1", uri=True)  # the main file alone, no log
    try:
        assert conn.execute("SELECT output_tokens FROM responses WHERE message_id = 'msg_shortcut_200'").fetchone() == (
            42_420,
        )
    finally:
        conn.close()
