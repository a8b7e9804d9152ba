"""The real-Claude-Code harness itself: the real CLI runs offline against the mock API,
the mock's answers equal the fixture's ground truth, transcripts get written, hooks run
with the test's interpreter and environment inside the namespace.

Runs ~10 s (p-json, p-protobuf, p-fork), plus the interactive scenario (tmux, ~30 s with
IDLE_WAIT=0), which always runs.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.realclaude import harness
from tests.realclaude.fixtures import realclaude, realclaude_ready  # noqa: F401

pytestmark = pytest.mark.realclaude

PROBE = textwrap.dedent("""\
    import json, os, sys
    try:
        import cchooks
        ok, where = True, cchooks.__file__
    except Exception as e:
        ok, where = False, repr(e)
    payload = json.load(sys.stdin)
    with open(os.environ["CCHOOKS_LEDGER"], "a") as f:
        f.write(json.dumps({"exe": sys.executable, "import_ok": ok, "where": where,
                            "event": payload.get("hook_event_name"), "home": os.environ.get("HOME"),
                            "config": os.environ.get("CLAUDE_CONFIG_DIR")}) + "\\n")
""")


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    u = r["usage"]
    return (r["step"], bool(r.get("subagent", r.get("agent_id"))), r["message_id"], r["request_id"],
            json.dumps(u, sort_keys=True))


def assert_matches_ground_truth(scn: harness.ScenarioResult) -> None:
    got = scn.responses
    want = harness.ground_truth(scn.name)
    # same answers (steps, ids, exact usage); the order of subagent vs main-thread may vary
    assert Counter(map(_key, got)) == Counter(map(_key, want)), scn.name
    assert all(r["stream"] for r in got)
    # every answer belongs to the session that -p reports
    assert {r["session_id"] for r in got} == {scn.session_id}, scn.name
    assert scn.exit_code == 0 and scn.stderr == ""


def test_print_mode_matches_ground_truth(realclaude: Callable[..., harness.RunResult], tmp_path: Path) -> None:  # noqa: F811
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    ledger = tmp_path / "ledger-probe.jsonl"

    def add_probe(config_dir: Path, home: Path) -> None:
        s = harness.read_settings(config_dir)
        cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(probe))}"
        for ev in ("SessionStart", "Stop"):
            s["hooks"][ev].append({"hooks": [{"type": "command", "command": cmd}]})
        harness.write_settings(config_dir, s)

    res = realclaude(["p-json", "p-protobuf", "p-fork"], settings_hook=add_probe,
                     env={"CCHOOKS_LEDGER": str(ledger)}, settle=0.5)
    assert res.ok, res.describe()
    for name, scn in res.scenarios.items():
        print(f"{name}: {scn.seconds}s")
    assert list(res.scenarios) == ["p-json", "p-protobuf", "p-fork"]

    for scn in res.scenarios.values():
        assert_matches_ground_truth(scn)
    pj, pp, pf = res["p-json"], res["p-protobuf"], res["p-fork"]
    assert pj.usage_totals() == {"input": 23376, "cache_creation": 11506, "cache_read": 152006, "output": 2706}
    assert pf.session_id not in (pj.session_id, pp.session_id)

    # transcripts: one main file per session, one subagent file per full script
    main = {p.stem for p in res.main_transcripts}
    assert main == {pj.session_id, pp.session_id, pf.session_id}
    assert all(p.parent.name == res.project_key for p in res.main_transcripts)
    subs = [p for p in res.transcripts if p.parent.name == "subagents"]
    assert len(subs) == 2
    lines = [json.loads(x) for x in (res.projects_dir / res.project_key / f"{pj.session_id}.jsonl").read_text().splitlines()]
    ids = {(ln.get("message") or {}).get("id") for ln in lines if ln.get("type") == "assistant"}
    assert {r["message_id"] for r in pj.responses if not r["agent_id"]} <= ids

    # OTLP reached the harness's sink with the scenario's protocol
    assert pj.otlp_protocol == "http/json" and pp.otlp_protocol == "http/protobuf"
    assert {e["content_type"] for e in pp.otlp_index} == {"application/x-protobuf"}
    assert any(e["path"].startswith("/v1/metrics") for e in pj.otlp_index)

    # capture hooks saw what Claude Code ran
    assert [h["payload"]["source"] for h in pf.hooks if h["event"] == "SessionStart"] == ["fork"]
    assert Counter(h["event"] for h in pj.hooks)["SubagentStop"] == 1

    # extra hook commands run with this interpreter and the caller's env inside the namespace
    probes = [json.loads(x) for x in ledger.read_text().splitlines()]
    captured = Counter(h["event"] for scn in res.scenarios.values() for h in scn.hooks)
    assert Counter(p["event"] for p in probes) == {"SessionStart": 3, "Stop": captured["Stop"]}
    assert captured["Stop"] == 5  # 2 per SCRIPT:full run (turn 3, task-notification turn), 1 for the fork
    assert {p["exe"] for p in probes} == {sys.executable}
    assert {p["home"] for p in probes} == {str(res.home)}
    assert {p["config"] for p in probes} == {str(res.config_dir)}
    outside = subprocess.run([sys.executable, "-c", "import cchooks"], cwd=tmp_path, capture_output=True,
                             env=harness.clean_env()).returncode == 0
    assert {p["import_ok"] for p in probes} == {outside}, probes[0]["where"]


def test_external_otlp_receiver_inside_namespace(realclaude: Callable[..., harness.RunResult], tmp_path: Path) -> None:  # noqa: F811
    """otlp_endpoint + extra_inside_cmd: a receiver the caller starts inside the namespace gets
    the telemetry (here the harness's own sink script on another port), and is stopped after."""
    out = tmp_path / "receiver"
    cmd = (f"echo $$ > {out}.pid; exec {shlex.quote(sys.executable)} {harness.HERE / 'otlp_capture.py'} "
           f"--port 4318 --outdir {out} --port-file {out}.port")
    res = realclaude(["p-json"], otlp_endpoint="http://127.0.0.1:4318", extra_inside_cmd=cmd,
                     extra_inside_ready=f"test -s {out}.port", settle=1)
    assert res.ok, res.describe()
    print(f"p-json with external receiver: {res['p-json'].seconds}s")
    assert res["p-json"].otlp_index == []  # the harness's sink did not run
    index = [json.loads(x) for x in (out / "index.jsonl").read_text().splitlines()]
    assert {e["path"] for e in index} == {"/v1/metrics", "/v1/logs"}
    pid = int(Path(f"{out}.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# Once opt-in (CCHOOKS_REALCLAUDE_INTERACTIVE=1) only for its ~30 s; it needs nothing the other
# realclaude tests do not (scripts/test installs tmux with the CLI), so CI runs it every time.
def test_interactive_statusline_tee(realclaude: Callable[..., harness.RunResult], tmp_path: Path) -> None:  # noqa: F811
    """statusLine runs only interactively; a 'real' statusLine command wrapped by keep_capture."""
    real_sl = tmp_path / "real_statusline.py"
    real_sl.write_text("import json, sys\nd = json.load(sys.stdin)\n"
                       "print('REAL-SL cost=%s' % d['cost']['total_cost_usd'])\n")

    def install(config_dir: Path, home: Path) -> None:
        harness.write_settings(config_dir, {**harness.read_settings(config_dir), "statusLine": {
            "type": "command", "command": f"{shlex.quote(sys.executable)} {shlex.quote(str(real_sl))}",
            "padding": 0}})
        harness.keep_capture(config_dir)

    res = realclaude(["interactive"], settings_hook=install, idle_wait=0)
    assert res.ok, res.describe()
    scn = res["interactive"]
    print(f"interactive: {scn.seconds}s")
    assert_matches_ground_truth_interactive(scn)
    assert len(scn.statusline) >= 3
    tee = scn.statusline_tee
    # Claude Code abandons a statusline run still in flight (a newer one, or the exit): its tee
    # record may be missing, never more than that one.
    assert len(scn.statusline) - 1 <= len(tee) <= len(scn.statusline)
    assert all(t["wrapped_rc"] == 0 for t in tee)
    assert tee[-1]["wrapped_stdout"].startswith("REAL-SL cost=")
    assert "REAL-SL cost=" in scn.panes["04-after-compact"]
    assert "Notification" in {h["event"] for h in scn.hooks}


def assert_matches_ground_truth_interactive(scn: harness.ScenarioResult) -> None:
    got, want = scn.responses, harness.ground_truth("interactive")
    assert Counter(map(_key, got)) == Counter(map(_key, want))
    assert scn.exit_code == 0
