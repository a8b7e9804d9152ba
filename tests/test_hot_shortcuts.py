"""The hot paths' two shortcuts: the hook's `<ledger>.seen` and the statusline's render cache.

Each must skip SQLite only when the full path would have printed and stored exactly the same,
and never hide data: every test here ends with the ledger's own figures.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from cchooks.ledger import Ledger
from cchooks.parsers.transcript import _canonical_iso_ms, parse_timestamp_ms
from cchooks.statusline import cache
from tests.test_hot_path import _modules_after as _run  # the command as hot.py runs it, and its modules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CAPTURE_HOME = "/tmp/ccwork/home/.claude"


def _payload(claude: Path) -> dict:
    data = json.loads((FIXTURES / "statusline" / "0005-statusline.json").read_bytes())
    data["transcript_path"] = data["transcript_path"].replace(CAPTURE_HOME, str(claude))
    return data


def _env(tmp_path: Path, ledger: Path) -> dict[str, str]:
    env = {**os.environ, "CCHOOKS_LEDGER": str(ledger), "CCHOOKS_LOG_DIR": str(tmp_path / "logs"),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "NO_COLOR": "1"}  # fmt: skip
    env.pop("PYTHONPATH", None)
    return env


def _append_response(transcript: Path, n: int, output_tokens: int, template: Path | None = None) -> None:
    """A copy of the first assistant line of `template` (default: the transcript), as a new response."""
    line = next(
        json.loads(raw)
        for raw in (template or transcript).read_bytes().splitlines()
        if b'"type":"assistant"' in raw and b'"usage"' in raw
    )
    line["message"]["id"] = f"msg_shortcut_{n}"
    line["requestId"] = f"req_shortcut_{n}"
    line["uuid"] = f"00000000-0000-4000-8000-{n:012d}"
    line["message"]["usage"]["output_tokens"] = output_tokens
    line["message"]["stop_reason"] = "end_turn"
    line["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    with open(transcript, "ab") as fh:
        fh.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")


def _output_total(ledger: Path) -> tuple[int, int]:
    with Ledger.open(ledger) as led:
        n, out = led.conn.execute("SELECT count(*), sum(output_tokens) FROM responses").fetchone()
    return int(n), int(out)


def test_hook_with_nothing_new_skips_sqlite_and_new_bytes_are_read(claude_dir: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    env = _env(tmp_path, ledger)
    event = {**_payload(claude_dir), "hook_event_name": "PostToolUse"}
    stdin = json.dumps(event).encode()
    _, first = _run(["hook", "PostToolUse"], stdin, env)
    assert "_sqlite3" in first  # the first read
    before = _output_total(ledger)
    _, second = _run(["hook", "PostToolUse"], stdin, env)
    assert "_sqlite3" not in second  # nothing new: stats only
    assert _output_total(ledger) == before

    transcript = Path(event["transcript_path"])
    _append_response(transcript, 1, 4321)
    _, third = _run(["hook", "PostToolUse"], stdin, env)
    assert "_sqlite3" in third
    assert _output_total(ledger) == (before[0] + 1, before[1] + 4321)

    # A new subagent transcript next to the session is new data too.
    sub = transcript.with_suffix("") / "subagents"
    sub.mkdir(parents=True, exist_ok=True)
    agent = sub / "agent-shortcut.jsonl"
    agent.write_bytes(b"")
    _append_response(agent, 2, 99, template=transcript)
    _, fourth = _run(["hook", "PostToolUse"], stdin, env)
    assert "_sqlite3" in fourth
    assert _output_total(ledger) == (before[0] + 2, before[1] + 4321 + 99)


def test_seen_is_ignored_for_another_ledger_file(claude_dir: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    env = _env(tmp_path, ledger)
    stdin = json.dumps({**_payload(claude_dir), "hook_event_name": "Stop"}).encode()
    _run(["hook", "Stop"], stdin, env)
    seen_file = Path(str(ledger) + ".seen")
    assert seen_file.exists()
    expected = _output_total(ledger)
    # The ledger is replaced (a new file at the same path): the record says nothing about it.
    for suffix in ("", "-wal", "-shm"):
        Path(str(ledger) + suffix).unlink(missing_ok=True)
    keep = tmp_path / "keep"  # hold an inode so the new ledger cannot reuse the old one's
    keep.write_bytes(b"x")
    _, modules = _run(["hook", "Stop"], stdin, env)
    assert "_sqlite3" in modules
    assert _output_total(ledger) == expected


def test_statusline_cache_prints_the_same_and_never_hides_a_write(claude_dir: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    env = _env(tmp_path, ledger)
    payload = _payload(claude_dir)
    stdin = json.dumps(payload).encode()
    _, m0 = _run(["statusline"], stdin, env)  # reads the session: a write, so nothing is reused
    # ... nor stored: the write changed the ledger's stats after the key was taken.
    assert not Path(str(ledger) + cache.SUFFIX).exists()
    # A render is reused within its minute only: keep the next two runs inside one.
    second = time.time() % 60
    if second > 55:
        time.sleep(60.5 - second)
    line1, m1 = _run(["statusline"], stdin, env)
    assert "_sqlite3" in m1
    line2, m2 = _run(["statusline"], stdin, env)
    assert line2 == line1 and "_sqlite3" not in m2  # the cached render
    assert "datetime" not in m1 | m2  # nothing new read: no timestamp parsed

    # Another process writes to the ledger (a hook reads a new response): the next refresh renders.
    transcript = Path(payload["transcript_path"])
    _append_response(transcript, 3, 777_777)
    _run(["hook", "Stop"], json.dumps({**payload, "hook_event_name": "Stop"}).encode(), env)
    line3, m3 = _run(["statusline"], stdin, env)
    assert "_sqlite3" in m3 and line3 != line1
    # Figures from the ledger now include the new response (its every token).
    with Ledger.open(ledger) as led:
        added = led.conn.execute(
            "SELECT input_tokens + output_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens"
            " FROM responses WHERE message_id = 'msg_shortcut_3'"
        ).fetchone()[0]
    assert added >= 777_777
    tokens = [w for w in line3.split("|") if "tok" in w and "/min" not in w][0]
    before = [w for w in line1.split("|") if "tok" in w and "/min" not in w][0]
    as_int = lambda s: int("".join(ch for ch in s if ch.isdigit()))  # noqa: E731
    assert as_int(tokens) - as_int(before) == added

    # A new transcript byte (not yet read by anyone) is a miss too: the statusline reads it itself.
    _append_response(transcript, 4, 5)
    line4, m4 = _run(["statusline"], stdin, env)
    assert "_sqlite3" in m4 and line4 != line3
    # Another payload (a new rate-limit figure) is another render.
    payload2 = {**payload, "rate_limits": {"five_hour": {"used_percentage": 12, "resets_at": int(time.time()) + 3600}}}
    line5, m5 = _run(["statusline"], json.dumps(payload2).encode(), env)
    assert "_sqlite3" in m5 and "12%" in line5


def test_cache_entry_ages_out(tmp_path: Path) -> None:
    led = str(tmp_path / "l.sqlite3")
    now = 1_796_000_000_000 - 1_796_000_000_000 % 60_000 + 10_000  # 10 s into a minute
    cache.store(led, "s1", "key", now, ["line"])
    assert cache.lookup(led, "s1", "key", now + 1_000) == ["line"]
    assert cache.lookup(led, "s1", "other key", now + 1_000) is None
    assert cache.lookup(led, "s2", "key", now + 1_000) is None
    assert cache.lookup(led, "s1", "key", now + cache.FRESH_MS) is None  # too old
    assert cache.lookup(led, "s1", "key", now + 50_000 + 1) is None  # the next minute
    assert cache.lookup(led, "s1", "key", now - 1) is None  # the clock went back
    Path(led + cache.SUFFIX).write_bytes(b"{not json")
    assert cache.lookup(led, "s1", "key", now) is None
    cache.store(led, "s1", "k\"ey\n\u00e9", now, ["a \"quoted\" line", "é ✓"])
    assert cache.lookup(led, "s1", "k\"ey\n\u00e9", now) == ["a \"quoted\" line", "é ✓"]
    for i in range(cache.MAX_SESSIONS + 5):
        cache.store(led, f"x{i}", "k", now, ["l"])
    assert len(json.loads(Path(led + cache.SUFFIX).read_text())) == cache.MAX_SESSIONS


@settings(max_examples=3000, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
def test_timestamp_fast_path_equals_datetime(dt: datetime) -> None:
    text = f"{dt.year:04d}-" + dt.strftime("%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    expected = (dt.replace(microsecond=dt.microsecond // 1000 * 1000, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC))
    assert parse_timestamp_ms(text) == expected // timedelta(milliseconds=1)
    assert _canonical_iso_ms(text) == expected // timedelta(milliseconds=1)  # the arithmetic reads it


@given(st.text(alphabet="0123456789-T:.Z+ ٢", min_size=20, max_size=26))
def test_timestamp_anything_else_is_what_datetime_says(text: str) -> None:
    fast = _canonical_iso_ms(text)  # None: left to datetime
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        assert parse_timestamp_ms(text) is None and fast is None
        return
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    expected = (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert parse_timestamp_ms(text) == expected
    assert fast is None or fast == expected


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(st.sampled_from([0, 1, 4, 100, 1600, 1700, 1900, 2000, 2024, 2100, 9999]), st.integers(0, 9999)),
    st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.integers(0, 60), st.integers(0, 61),
    st.integers(0, 999), st.sampled_from(["Z", "Z", "z", "+"]),
)
@example(1900, 2, 29, 12, 0, 0, 0, "Z")
@example(2000, 2, 29, 12, 0, 0, 0, "Z")
@example(2023, 2, 29, 12, 0, 0, 0, "Z")
@example(2024, 4, 31, 23, 59, 59, 999, "Z")
def test_timestamp_canonical_shapes_at_every_edge_are_what_datetime_says(
    year: int, month: int, day: int, hour: int, minute: int, second: int, ms: int, end: str
) -> None:
    # JavaScript's toISOString shape at the edges: month 13, April 31, Feb 29 of 1900 and 2000,
    # hour 24, second 60, year 0000: each as datetime says.
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}{end}"
    test_timestamp_anything_else_is_what_datetime_says.hypothesis.inner_test(text)  # type: ignore[attr-defined]


@given(st.text(alphabet="0123456789٢", min_size=17, max_size=17))
def test_timestamp_canonical_shapes_with_other_digits_are_what_datetime_says(d: str) -> None:
    text = f"{d[:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:14]}.{d[14:17]}Z"
    test_timestamp_anything_else_is_what_datetime_says.hypothesis.inner_test(text)  # type: ignore[attr-defined]


def test_fastjson_on_truncated_input_without_the_json_package_raises_a_decode_error() -> None:
    """The C scanner, called before `json` is imported, fails on '[1,2' with a SystemError;
    fastjson must answer as json.loads does (a ValueError), or a broken sidecar file breaks a refresh."""
    import subprocess
    import sys

    code = (
        f"import sys; sys.path.append({str(ROOT)!r})\n"
        "from cchooks.fastjson import loads\n"
        "for t in (b'[1,2', b'[1,2\\n', b'{\"a\":', b'garbage{'):\n"
        "    try:\n        loads(t)\n    except ValueError:\n        pass\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_broken_sidecar_files_change_nothing_the_user_sees(claude_dir: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    env = _env(tmp_path, ledger)
    stdin = json.dumps(_payload(claude_dir)).encode()
    _run(["statusline"], stdin, env)
    good, _ = _run(["statusline"], stdin, env)
    for content in (b"[1,2", b"garbage{", b"\xff\xfe", b"{\"s\": [1, \"k\", 5]}"):
        for suffix in (".seen", cache.SUFFIX):
            Path(str(ledger) + suffix).write_bytes(content)
        line, _ = _run(["statusline"], stdin, env)
        assert line == good, content
        hook = json.dumps({**_payload(claude_dir), "hook_event_name": "Stop"}).encode()
        out, _ = _run(["hook", "Stop"], hook, env)
        assert out == ""
    log = (tmp_path / "logs" / "cchooks.log")
    assert not log.exists() or "Traceback" not in log.read_text()


def test_a_directory_as_transcript_path_is_one_logged_line(claude_dir: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    env = _env(tmp_path, ledger)
    payload = {**_payload(claude_dir), "transcript_path": str(tmp_path)}
    line, _ = _run(["statusline"], json.dumps(payload).encode(), env)
    assert "Opus" in line
    text = (tmp_path / "logs" / "cchooks.log").read_text()
    assert "not a regular file" in text and "Traceback" not in text
