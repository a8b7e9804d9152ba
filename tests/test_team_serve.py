"""`cchooks serve` with a team ledger, all real: a PostgreSQL server (tests/pgserver.py), `cchooks
serve` processes syncing as the least-privilege role of `cchooks team init --grants`, a second
machine syncing with `cchooks team sync`, /api/team, /metrics checked by promtool, and the Team tab
in Debian's Chromium (as tests/test_dashboard_browser.py drives it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cchooks.ledger import Ledger
from cchooks.records import UsageRecord
from tests.conftest import CI
from tests.metrics_helpers import TOKEN_KEYS, need_tool, parse_exposition, select
from tests.pgserver import ADMIN_PASSWORD, PgServer
from tests.serve_process import Serve
from tests.transcript_factory import Resp, assistant_line

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(os.environ.get("CCHOOKS_ARTIFACTS") or ROOT / ".artifacts" / "dashboard")
ROLE_PASSWORD = "syncer-secret"


def wait_for(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Team:
    """A fresh team database (schema by the admin) and a syncing role with exactly the documented grants."""

    def __init__(self, server: PgServer) -> None:
        self.db = server.new_database()
        self.admin_url = server.url(self.db)
        self.role = "syncer_" + uuid.uuid4().hex[:8]
        admin_env = dict(os.environ, CCHOOKS_TEAM_URL=self.admin_url, PGPASSWORD=ADMIN_PASSWORD)
        r = subprocess.run([sys.executable, "-m", "cchooks", "team", "init", "--grants", self.role],
                           env=admin_env, capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
        assert r.returncode == 0, r.stderr
        grants = r.stdout.split("\n", 1)[1]
        with server.admin(self.db) as c:
            c.execute(f"CREATE ROLE {self.role} LOGIN PASSWORD '{ROLE_PASSWORD}'")
            c.execute(grants)
        self.url = server.url(self.db, user=self.role)
        self.env = {"CCHOOKS_TEAM_URL": self.url, "PGPASSWORD": ROLE_PASSWORD}

    def count(self, server: PgServer) -> int:
        with server.admin(self.db) as c:
            return int(c.execute("SELECT count(*) FROM cchooks.responses WHERE NOT deleted").fetchone()[0])


def config(path: Path, label: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[team]\nmachine_label = "{label}"\nuser = "u-{label.lower()}"\nsync_interval = 1\n')
    return path


def records(prefix: str, n: int, now_ms: int, model: str = "claude-opus-5-5") -> list[UsageRecord]:
    return [
        UsageRecord(
            message_id=f"msg-{prefix}-{i}", request_id=f"req-{prefix}-{i}", session_id=f"s-{prefix}",
            timestamp_ms=now_ms - i * 3 * 3_600_000, model=model if i % 3 else "claude-sonnet-4-5",
            input_tokens=100 + i, output_tokens=50 + 2 * i, cache_creation_5m_tokens=i * 10,
            cache_creation_1h_tokens=i, cache_read_tokens=1000 * i, project=f"/home/x/{prefix}",
        )  # fmt: skip
        for i in range(n)
    ]


def write(ledger: Path, recs: list[UsageRecord]) -> None:
    ledger.parent.mkdir(parents=True, exist_ok=True)
    with Ledger.open(ledger) as L, L.write():
        L.upsert_records(recs)


def local_total(ledger: Path) -> dict[str, Any]:
    r = subprocess.run([sys.executable, "-m", "cchooks", "report", "model", "--json", "--no-ingest", "--ledger",
                        str(ledger)], capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if k != "CCHOOKS_TEAM_URL"})  # fmt: skip
    assert r.returncode == 0, r.stderr
    totals: dict[str, Any] = json.loads(r.stdout)["totals"]
    return totals


# -- continuous sync ---------------------------------------------------------------------------------


def test_serve_syncs_continuously_and_shows_its_state(pg_server: PgServer, tmp_path: Path) -> None:
    """A transcript written after `cchooks serve` started reaches the team ledger; /healthz and
    /api/status carry the sync's state (last sync, pushed count, last error)."""
    team = Team(pg_server)
    cfg = config(tmp_path / "MAIN.toml", "MAIN")
    s = Serve(tmp_path, "--config", str(cfg), env=team.env)
    try:
        first = wait_for("a first sync", lambda: s.json("/healthz")["team_sync"]["last_sync_ms"])
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        resps = [Resp(n, "sess-1", 10 + n, 20 + n, 30, 0, 400, ts=now) for n in range(3)]
        path = s.claude / "projects" / "-tmp-p" / "sess-1.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text("".join(assistant_line(r) + "\n" for r in resps))
        wait_for("the transcript in the team ledger", lambda: team.count(pg_server) == 3)
        state = wait_for("the pushed count", lambda: (h := s.json("/healthz")["team_sync"])["pushed"] == 3 and h)
        assert state["team"] == team.url and "secret" not in json.dumps(state)
        assert state["last_error"] is None and state["last_sync_ms"] >= first and state["pending"] == 0
        assert state["failures"] == 0 and state["syncs"] >= 2
        assert s.json("/api/status")["team_sync"]["pushed"] == 3
    finally:
        s.stop()
    assert "Traceback" not in s.stderr, s.stderr[-3000:]


def test_serve_without_a_team_imports_no_postgres_library(tmp_path: Path) -> None:
    s = Serve(tmp_path, python=("-X", "importtime"))
    try:
        doc = s.json("/api/team")
        assert doc == {"schema_version": 1, "team": None}
        assert s.json("/healthz")["team_sync"] is None
        metrics = s.get("/metrics")[1].decode()
        assert "cchooks_responses_total" in metrics or "cchooks_responses" in metrics
        assert "cchooks_team_" not in metrics and "cchooks_machine_info" not in metrics
    finally:
        s.stop()
    imported = {line.split("|")[-1].strip() for line in s.stderr.splitlines() if line.startswith("import time:")}
    assert "cchooks.server.dashboard" in imported  # importtime saw the daemon's imports
    bad = {m for m in imported if m.startswith("psycopg") or m in ("cchooks.team.sync", "cchooks.team.pg")}
    assert not bad, bad


def test_serve_with_an_unreachable_team_never_blocks(tmp_path: Path) -> None:
    """A team ledger that does not answer (a TEST-NET address: connecting hangs until the timeout)
    delays neither /metrics nor /api/team; the error shows in the sync's state."""
    cfg = config(tmp_path / "MAIN.toml", "MAIN")
    write(tmp_path / "ledger.sqlite3", records("a", 3, int(time.time() * 1000)))
    s = Serve(tmp_path, "--config", str(cfg), env={"CCHOOKS_TEAM_URL": "postgresql://nobody@192.0.2.1/x"})
    try:
        for _ in range(3):
            t0 = time.monotonic()
            _status, body = s.get("/metrics")
            assert time.monotonic() - t0 < 3.0
            series = parse_exposition(body.decode())
            info = select(series, "cchooks_machine_info", ("host",))
            assert info == {("MAIN",): 1.0}
            assert not select(series, "cchooks_team_responses_total", ("host",))
            t0 = time.monotonic()
            doc = s.json("/api/team")
            assert time.monotonic() - t0 < 3.0
            assert doc["pending"] is True and doc["this_machine"]["label"] == "MAIN"
        state = wait_for("the connect error", lambda: s.json("/healthz")["team_sync"]["last_error"], timeout=40)
        assert "cannot connect" in state and "192.0.2.1" in state
    finally:
        s.stop()


# -- two machines: /api/team, /metrics, the page ----------------------------------------------------


class TwoMachines:
    def __init__(self, server: PgServer, tmp: Path) -> None:
        self.server = server
        self.team = Team(server)
        now = int(time.time() * 1000)
        # Machine B (LXC115): its own ledger, synced once by `cchooks team sync` as the role.
        self.b_ledger = tmp / "b" / "ledger.sqlite3"
        write(self.b_ledger, records("b", 7, now - 60_000, model="claude-sonnet-4-5"))
        b_cfg = config(tmp / "b" / "LXC115.toml", "LXC115")
        env = dict(os.environ, **self.team.env)
        r = subprocess.run([sys.executable, "-m", "cchooks", "team", "sync", "--no-ingest", "--ledger",
                            str(self.b_ledger), "--config", str(b_cfg)], env=env, capture_output=True, text=True,
                           timeout=120, cwd=ROOT)  # fmt: skip
        assert r.returncode == 0, r.stderr
        # Machine A (MAIN): the serve process, syncing what its ledger holds.
        a_dir = tmp / "a"
        a_dir.mkdir()
        self.a_ledger = a_dir / "ledger.sqlite3"
        write(self.a_ledger, records("a", 12, now))
        self.a_cfg = config(a_dir / "MAIN.toml", "MAIN")
        self.serve = Serve(a_dir, "--config", str(self.a_cfg), env=self.team.env)
        self.doc = wait_for("both machines in /api/team", self._both)

    def _both(self) -> Any:
        doc = self.serve.json("/api/team")
        hosts = {h["label"]: h["responses"] for h in doc.get("hosts") or []}
        return doc if hosts == {"MAIN": 12, "LXC115": 7} else None


@pytest.fixture(scope="module")
def two(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoMachines]:
    t = TwoMachines(pg_server, tmp_path_factory.mktemp("two"))
    yield t
    t.serve.stop()


def _strip(h: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in h.items() if k not in ("last_seen_ms", "last_push_ms")}  # heartbeats move these


def test_api_team_is_what_team_hosts_shows(two: TwoMachines) -> None:
    doc = two.serve.json("/api/team")
    assert next(iter(doc)) == "schema_version" and doc["team"] == two.team.url and doc["pending"] is False
    hosts = two.serve.cli("team", "hosts", "--json", "--config", str(two.a_cfg))
    assert [_strip(h) for h in doc["hosts"]] == [_strip(h) for h in hosts["hosts"]]
    assert doc["totals"] == hosts["totals"]
    by_label = {h["label"]: h for h in doc["hosts"]}
    assert by_label["MAIN"]["this_machine"] and not by_label["LXC115"]["this_machine"]
    assert by_label["LXC115"]["user"] == "u-lxc115"
    assert doc["this_machine"]["machine_id"] == by_label["MAIN"]["machine_id"]
    # Each machine's synced totals are its own ledger's (disjoint data), priced the same way.
    for label, ledger in (("MAIN", two.a_ledger), ("LXC115", two.b_ledger)):
        local = local_total(ledger)
        for k in ("responses", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
                  "total_tokens", "cost_usd"):  # fmt: skip
            assert by_label[label][k] == local[k], (label, k)
    # The pool's windows: today / 5 hours / 7 days over both machines, = the sum of the by-host split.
    for w in ("today", "five_hour", "seven_day"):
        split = [h[w] for h in doc["by_host"]]
        assert doc["pool"][w]["responses"] == sum(x["responses"] for x in split)
        assert doc["pool"][w]["total_tokens"] == sum(x["total_tokens"] for x in split)
    assert doc["pool"]["seven_day"]["responses"] == 19  # everything is from the last 36 hours
    assert 0 < doc["pool"]["five_hour"]["responses"] < 19
    assert doc["sync"]["last_error"] is None and doc["sync"]["pushed"] == 12


def test_metrics_per_host_equal_what_each_synced(two: TwoMachines, tmp_path: Path) -> None:
    promtool = need_tool("promtool")
    _status, body = two.serve.get("/metrics")
    text = body.decode()
    (tmp_path / "m.prom").write_text(text)
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    series = parse_exposition(text)
    mid = two.doc["this_machine"]["machine_id"]
    assert select(series, "cchooks_machine_info", ("host", "machine_id")) == {("MAIN", mid): 1.0}
    assert select(series, "cchooks_team_responses_total", ("host",)) == {("MAIN",): 12.0, ("LXC115",): 7.0}
    tokens = select(series, "cchooks_team_tokens_total", ("host", "type"))
    cost = select(series, "cchooks_team_cost_usd_total", ("host",))
    seen = select(series, "cchooks_team_last_seen_timestamp_seconds", ("host",))
    for label, ledger in (("MAIN", two.a_ledger), ("LXC115", two.b_ledger)):
        local = local_total(ledger)
        for kind, key in TOKEN_KEYS.items():
            assert tokens[(label, kind)] == local[key], (label, kind)
        assert cost[(label,)] == pytest.approx(local["cost_usd"], abs=1e-6)
        assert time.time() - 600 < seen[(label,)] <= time.time() + 5


def test_metrics_cap_host_labels(two: TwoMachines, tmp_path: Path) -> None:
    """With [metrics] max_label_values = 1 the machine seen first keeps its label, the other is `other`."""
    from cchooks.server.metrics import team_families

    doc = two.serve.json("/api/team")
    from cchooks.config.model import MetricsConfig

    fams = {f.name: f for f in team_families(doc, MetricsConfig(max_label_values=1))}
    hosts = {s.labels["host"]: s.value for s in fams["cchooks_team_responses"].samples}
    assert hosts == {"LXC115": 7.0, "other": 12.0}  # LXC115 synced first


def test_dashboard_team_tab_in_chromium(two: TwoMachines, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        msg = "Debian's chromium is not installed (tests/deps/chromium.sh)"
        if CI:
            pytest.fail(msg)
        pytest.skip(msg)
    doc = two.serve.json("/api/team")
    solo = Serve(tmp_path)  # no team: no tab
    pw = sync_api.sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{two.serve.base}/#team?preset=all&tz=UTC")
        page.wait_for_selector("body[data-ready]:not([data-loading])", timeout=15_000)
        page.wait_for_selector("#team-tab:not([hidden])", timeout=10_000)
        assert page.is_visible("#view-team") and not page.is_visible("#view-overview")
        rows = page.query_selector_all("#team-hosts tbody tr")
        assert sorted(r.get_attribute("data-label") for r in rows) == ["LXC115", "MAIN"]
        for h in doc["hosts"]:
            row = f'#team-hosts tr[data-host="{h["machine_id"]}"]'
            assert page.text_content(f"{row} td[data-col=responses]") == f"{h['responses']:,}"
            assert page.text_content(f"{row} td[data-col=total_tokens]") == f"{h['total_tokens']:,}"
            assert page.text_content(f"{row} td[data-col=cost_usd]") == f"${h['cost_usd']:.2f}"
            assert ("this machine" in page.text_content(row)) == h["this_machine"]
        for h in doc["by_host"]:
            for w in ("today", "five_hour", "seven_day"):
                cell = f'#team-by-host tr[data-host="{h["machine_id"]}"] td[data-window={w}][data-col=tokens]'
                assert page.text_content(cell) == f"{h[w]['total_tokens']:,}"
        pool = page.get_attribute("#team-pool .card[data-key=seven_day]", "data-value")
        assert float(pool) == pytest.approx(doc["pool"]["seven_day"]["cost_usd"])
        assert "LXC115" in page.text_content("#team-by-host") and two.team.url in page.text_content("#team-note")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "team.png"), full_page=True)
        # The tabs work both ways, and a page without a team has no Team tab (even asked for it).
        page.click("#tabs a[data-view=overview]")
        page.wait_for_selector("body[data-ready]:not([data-loading])")
        assert page.is_visible("#view-overview") and not page.is_visible("#view-team")
        page2 = ctx.new_page()
        page2.goto(f"{solo.base}/#team")
        page2.wait_for_selector("body[data-ready]:not([data-loading])", timeout=15_000)
        page2.wait_for_timeout(300)
        assert page2.is_hidden("#team-tab") and page2.is_visible("#view-overview")
        assert not errors, errors
    finally:
        browser.close()
        pw.stop()
        solo.stop()


def test_metrics_command_reads_the_team_once(two: TwoMachines, tmp_path: Path) -> None:
    """`cchooks metrics` (no daemon) reads the team view once; an unreachable team is one warning line."""
    env = {k: v for k, v in os.environ.items() if k not in ("CCHOOKS_TEAM_URL", "PGPASSWORD")}
    argv = [sys.executable, "-m", "cchooks", "metrics", "--no-ingest", "--ledger", str(two.a_ledger),
            "--config", str(two.a_cfg)]  # fmt: skip
    r = subprocess.run(argv, env={**env, **two.team.env}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and not r.stderr, r.stderr
    series = parse_exposition(r.stdout)
    assert select(series, "cchooks_team_responses_total", ("host",)) == {("MAIN",): 12.0, ("LXC115",): 7.0}
    r = subprocess.run(argv, env={**env, "CCHOOKS_TEAM_URL": "postgresql://x@127.0.0.1:1/none"}, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0 and r.stderr.count("\n") == 1 and "cannot connect" in r.stderr, r.stderr
    series = parse_exposition(r.stdout)
    assert select(series, "cchooks_machine_info", ("host",)) == {("MAIN",): 1.0}
    assert not select(series, "cchooks_team_responses_total", ("host",))
    assert select(series, "cchooks_responses_total", ())[()] == 12.0
