"""End to end with the real Claude Code 2.1.330, interactive (tmux): cchooks' statusline in a live session.

`cchooks install` puts cchooks' hooks and statusLine into the harness's config dir; the harness's
`statusline-tee` wraps that statusLine so each run's stdin (Claude Code's payload) and stdout (what
cchooks printed) are recorded. Claude Code exports OTLP (http/json, 1 s intervals) to `cchooks otlp
serve`, started inside the offline namespace and writing the same ledger as the hooks and the
statusline. The `interactive` scenario runs 6 API calls on transcripts (2 of them a subagent's) and
the /compact summary call, which is on no transcript line: only OTLP sees it.

Checked: the ledger is the mock's ground truth, call by call (transcript calls confirmed by OTLP,
the compact call OTLP-only); the statusline ran, exited 0 every time, printed the model and
Claude Code's own session cost, which equals the ledger's count with the bundled price table;
and once OTLP had arrived it marked the session's figures confirmed (`✓`), never before.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cchooks.ledger import live
from cchooks.ledger.store import Ledger
from cchooks.pricing import load_price_table
from tests.realclaude import harness
from tests.realclaude.fixtures import realclaude, realclaude_ready  # noqa: F401

pytestmark = pytest.mark.realclaude

ROOT = Path(__file__).resolve().parent.parent
# The namespace is private (loopback only, its own per run): any port but the mock's is free.
OTLP_PORT = 4318
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SESSION_COST = re.compile(r"(\$[0-9,]+\.[0-9]{2}|\$\?)([*✓]?)(?: \([0-9,.M]+ tok\))? session")
TOKENS = re.compile(r"\| ([0-9,]+)([*✓]) tok")


def _install(config_dir: Path, home: Path) -> None:
    env = harness.clean_env({"HOME": str(home), "CLAUDE_CONFIG_DIR": str(config_dir)})
    subprocess.run(
        [sys.executable, "-m", "cchooks", "install", "--settings-dir", str(config_dir)],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip
    harness.keep_capture(config_dir, hooks=False, statusline=True)


def _tokens(u: dict[str, Any]) -> tuple[int, int, int, int, int]:
    c = u["cache_creation"]
    return (u["input_tokens"], u["output_tokens"], c["ephemeral_5m_input_tokens"],
            c["ephemeral_1h_input_tokens"], u["cache_read_input_tokens"])  # fmt: skip


def _usd(text: str) -> float:
    return float(text.lstrip("$").replace(",", ""))


def test_statusline_in_a_real_interactive_session_with_otlp(
    realclaude: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    t0 = time.monotonic()
    ledger_path = tmp_path / "ledger.sqlite3"
    port_file = tmp_path / "otlp.port"
    serve = (
        f"exec {shlex.quote(sys.executable)} -m cchooks otlp serve --port {OTLP_PORT}"
        f" --ledger {shlex.quote(str(ledger_path))} --port-file {shlex.quote(str(port_file))}"
        f" 2>{shlex.quote(str(tmp_path / 'receiver.log'))}"
    )
    res = realclaude(
        ["interactive"],
        settings_hook=_install,
        capture_hooks=False,
        capture_statusline=False,  # `cchooks install` keeps a statusLine that is not its own
        otlp_endpoint=f"http://127.0.0.1:{OTLP_PORT}",
        extra_inside_cmd=serve,
        extra_inside_ready=f"test -s {shlex.quote(str(port_file))}",
        extra_stop_wait=20,
        env={
            "CCHOOKS_LEDGER": str(ledger_path),
            "CCHOOKS_LOG_DIR": str(tmp_path / "log"),
            "PYTHONPATH": str(ROOT),
        },
        idle_wait=0,
        interactive_waits={"perm": 1, "turn": 2, "compact": 3},
        settle=1,
    )
    seconds = time.monotonic() - t0
    print(f"\nrealclaude interactive run: {seconds:.1f} s (harness {res.seconds} s)")
    assert res.ok, res.describe()
    sc = res["interactive"]
    assert sc.otlp_protocol == "http/json"
    sid = sc.session_id
    assert sid
    settings = res.settings_as_written.read_text()
    # ours, as `cchooks install` writes it (`<python> -S …/cchooks/hot.py … statusline`), in the tee
    assert re.search(r"(cchooks|/cchooks/hot\.py( --sys-path \S+)*) statusline", settings), settings
    assert "statusline-tee" in settings

    # 1. The ledger is the ground truth: 7 calls, exact tokens, transcript calls confirmed by OTLP.
    truth = {r["request_id"]: r for r in sc.responses}
    assert len(truth) == 7, sorted(truth)
    compact = [rid for rid, r in truth.items() if r["step"] == "compact_summary"]
    assert len(compact) == 1
    with Ledger.open(ledger_path) as led:
        rows = {r.request_id: r for r in led.records()}
        session = live.session_spend(led, load_price_table(), sid)
        received = dict(led.conn.execute("SELECT request_id, received_ms FROM otlp_api_requests").fetchall())
    assert set(rows) == set(truth)
    for rid, t in truth.items():
        r = rows[rid]
        got = (r.input_tokens, r.output_tokens, r.cache_creation_5m_tokens, r.cache_creation_1h_tokens,
               r.cache_read_tokens)  # fmt: skip
        assert got == _tokens(t["usage"]), rid
        assert r.session_id == sid and r.model == "claude-opus-5-5", rid
        assert r.source == ("otlp" if rid in compact else "both"), (rid, r.source)
        assert r.otlp_cost_usd is not None and r.otlp_cost_usd > 0, rid
    assert set(received) == set(truth)
    assert session.responses == 7 and session.cost_known
    assert session.total_tokens == sum(sum(_tokens(t["usage"])) for t in truth.values())

    # 2. The statusline ran, exited 0 each time, printed the model and no traceback.
    calls = {c["seq"]: c for c in sc.statusline}
    tee = sorted(sc.statusline_tee, key=lambda t: t["seq"])
    assert tee, res.describe()
    shown: list[tuple[dict[str, Any], dict[str, Any], str]] = []  # (call record, tee record, output)
    for t in tee:
        out = ANSI.sub("", t["wrapped_stdout"]).strip()
        assert t["wrapped_rc"] == 0, t
        assert "Traceback" not in t["wrapped_stderr"] + t["wrapped_stdout"], t
        assert out.startswith("Opus 5.5 | "), out
        shown.append((calls[t["seq"]], t, out))
    for call, _t, out in shown:
        p = call["payload"]
        cost = p["cost"]["total_cost_usd"]
        # A session's cost is Claude Code's own figure (no mark). $0.00 only before the first call,
        # when Claude Code itself says 0 and the ledger holds nothing yet (a true zero, today's too).
        m = SESSION_COST.search(out)
        assert m is not None, out
        assert m.group(1) == f"${cost:,.2f}" and m.group(2) == "", (out, cost)
        if "$0.00" in out:
            assert cost == 0 and p["context_window"]["total_input_tokens"] == 0, out
            assert TOKENS.search(out) is None, out  # no ledger responses for the session yet
    # Nothing went wrong on the way either: cchooks logs its problems instead of printing them.
    log = tmp_path / "log" / "cchooks.log"
    errors = [ln for ln in log.read_text().splitlines() if " ERROR " in ln] if log.is_file() else []
    assert not [ln for ln in errors if " ERROR statusline" in ln], errors

    # The last run: Claude Code's final cost, after /compact, and cchooks' line for it.
    last_call, last_tee, last = shown[-1]
    print(f"last statusline: {last}")
    last_cost = last_call["payload"]["cost"]["total_cost_usd"]
    m = SESSION_COST.search(last)
    assert m is not None and m.group(1) == f"${last_cost:,.2f}" and m.group(2) == "", last
    # 3. Claude Code's own cost equals the ledger's count (bundled price table), /compact included.
    assert abs(last_cost - session.cost_usd) <= 0.01, (last_cost, session.cost_usd)
    assert abs(_usd(m.group(1)) - session.cost_usd) <= 0.005, (last, session.cost_usd)
    assert last_cost == pytest.approx(sum(r.otlp_cost_usd or 0 for r in rows.values()), abs=1e-9)
    # Its tokens: the session's in the ledger, with the compact call if its event had arrived.
    tm = TOKENS.search(last)
    assert tm is not None, last
    shown_tokens = int(tm.group(1).replace(",", ""))
    without_compact = session.total_tokens - sum(_tokens(truth[compact[0]]["usage"]))
    # The tee records the call, then times the statusline run: +100 ms covers the recording.
    started_ms, ended_ms = last_call["time"] * 1000, (last_call["time"] + last_tee["seconds"]) * 1000 + 100
    if received[compact[0]] < started_ms:
        assert shown_tokens == session.total_tokens, last
    elif received[compact[0]] > ended_ms:
        assert shown_tokens == without_compact, last
    else:
        assert shown_tokens in (session.total_tokens, without_compact), last

    # 4. Confirmation: never before OTLP reached the ledger; once it had, the line says so. The
    # last run comes after /compact, seconds after the last transcript call's event arrived (1 s
    # export interval), well within the 60 s freshness: its figures are confirmed.
    first_otlp_ms = min(received.values())
    for call, t, out in shown:
        if (call["time"] + t["seconds"]) * 1000 < first_otlp_ms:
            assert "✓" not in out, out
    after = [out for call, _t, out in shown if call["time"] * 1000 > first_otlp_ms]
    assert any("✓ tok" in out for out in after), after
    if max(ms for rid, ms in received.items() if rid not in compact) < started_ms:
        # Every transcript call was confirmed before the last run began: it must say so.
        assert tm.group(2) == "✓", last
    assert seconds < 90, f"took {seconds:.1f} s"
