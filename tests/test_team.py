"""The team ledger against a real PostgreSQL (tests/pgserver.py): exactly once per response, exact
per-machine splits under concurrency, crash and outage recovery, one-line errors, light hot paths."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cchooks.ledger import Ledger, team_queue
from cchooks.records import UsageRecord
from cchooks.team.settings import TeamSettings
from tests.pgserver import ADMIN_PASSWORD, PgServer

ROOT = Path(__file__).resolve().parent.parent
STRESS_SECONDS = float(os.environ.get("CCHOOKS_TEAM_STRESS_SECONDS", "30"))
SUMS = ("input_tokens", "output_tokens", "cache_5m_tokens", "cache_1h_tokens", "cache_read_tokens",
        "web_search_requests")  # fmt: skip


@pytest.fixture
def team(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database with the team schema; CCHOOKS_TEAM_URL and PGPASSWORD point at it."""
    db = pg_server.new_database()
    url = pg_server.url(db)
    monkeypatch.setenv("PGPASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("CCHOOKS_TEAM_URL", url)
    assert cli("team", "init").returncode == 0
    return url


def cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cchooks", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env or dict(os.environ), input=input, timeout=300)  # fmt: skip


def settings(label: str, batch: int = 1000, hash_project: bool = False) -> TeamSettings:
    return TeamSettings(
        url=os.environ["CCHOOKS_TEAM_URL"], sslmode=None, label=label, user="u-" + label, hash_project=hash_project,
        sync_interval=1.0, batch_size=batch, statusline=False,
    )  # fmt: skip


def record(i: int, out: int = 100, ts: int | None = None, model: str = "claude-opus-5-5", **kw: Any) -> UsageRecord:
    return UsageRecord(
        message_id=f"msg{i}", request_id=f"req{i}", session_id=kw.pop("session_id", "s1"),
        timestamp_ms=ts if ts is not None else int(time.time() * 1000) - i * 7_000, model=model,
        input_tokens=10 + i % 7, output_tokens=out, cache_creation_5m_tokens=i % 13, cache_read_tokens=1000 + i,
        project=kw.pop("project", "/home/alice/work/secret-repo"), **kw,
    )  # fmt: skip


def write(ledger_path: Path | str, records: list[UsageRecord]) -> None:
    with Ledger.open(ledger_path) as ledger, ledger.write():
        ledger.upsert_records(records)


def pg(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def team_rows(url: str) -> dict[str, tuple[Any, ...]]:
    with pg(url) as c:
        rows = c.execute(f"SELECT rkey, machine_id, {', '.join(SUMS)} FROM cchooks.responses WHERE NOT deleted")
        return {r[0]: tuple(r[1:]) for r in rows}


def rollup_by_machine(url: str) -> dict[str, tuple[int, ...]]:
    with pg(url) as c:
        rows = c.execute(
            f"SELECT machine_id, sum(responses), {', '.join(f'sum({s})' for s in SUMS)} FROM cchooks.rollup"
            " GROUP BY machine_id HAVING sum(responses) > 0"
        )
        return {r[0]: tuple(int(x) for x in r[1:]) for r in rows}


def local_rows(ledger_path: Path | str) -> tuple[str, dict[str, tuple[Any, ...]]]:
    with Ledger.open(ledger_path) as ledger:
        mid = team_queue.machine_id(ledger)
        rows = ledger.conn.execute(f"SELECT rkey, {', '.join(SUMS)} FROM responses").fetchall()
    return mid, {r[0]: tuple(r[1:]) for r in rows}


def ground_truth(ledgers: list[Path]) -> dict[str, tuple[Any, ...]]:
    """The union of every machine's ledger, one copy per key: the most complete (output, then input
    side, then web searches), on a tie the lowest machine id."""
    best: dict[str, tuple[Any, ...]] = {}
    for path in ledgers:
        mid, rows = local_rows(path)
        for key, (inp, out, c5, c1, cr, web) in rows.items():
            cand = (mid, inp, out, c5, c1, cr, web)
            have = best.get(key)
            if have is None:
                best[key] = cand
                continue
            rank_c = (out, inp + c5 + c1 + cr, web)
            rank_h = (have[2], have[1] + have[3] + have[4] + have[5], have[6])
            if rank_c > rank_h or (rank_c == rank_h and mid < have[0]):
                best[key] = cand
    return best


def by_machine(rows: dict[str, tuple[Any, ...]]) -> dict[str, tuple[int, ...]]:
    out: dict[str, list[int]] = {}
    for mid, *sums in rows.values():
        acc = out.setdefault(mid, [0] * 7)
        acc[0] += 1
        for i, v in enumerate(sums):
            acc[i + 1] += int(v)
    return {k: tuple(v) for k, v in out.items()}


# -- configuration and light imports ----------------------------------------------------------------


def test_url_with_password_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[team]\nurl = "postgresql://bob:hunter2@db.example/cchooks"\n')
    r = cli("team", "sync", "--config", str(cfg))
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "[team] url" in r.stderr and "pgpass" in r.stderr
    assert "hunter2" not in r.stderr


def test_no_team_no_postgres_library(tmp_path: Path) -> None:
    """Without [team] nothing imports psycopg: reports, watch's setup, the statusline."""
    code = (
        "import sys, io\n"
        "from cchooks.cli import main\n"
        f"main(['report', 'daily', '--json', '--no-ingest', '--ledger', {str(tmp_path / 'l.db')!r}])\n"
        f"from cchooks.team.daemon import team_sync\nassert team_sync(None, {str(tmp_path / 'l.db')!r}) is None\n"
        "bad = [m for m in sys.modules if m.startswith('psycopg') or m in ('cchooks.team.pg', 'cchooks.team.sync')]\n"
        "assert not bad, bad\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CCHOOKS_TEAM_URL"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr


def test_statusline_with_a_team_stays_off_the_network(tmp_path: Path) -> None:
    """With a team configured the statusline reads the snapshot file only: no psycopg, no sync code,
    no socket module (measured with -X importtime)."""
    ledger = tmp_path / "l.db"
    write(ledger, [record(1)])
    Path(str(ledger) + ".team.json").write_text(json.dumps({
        "schema_version": 1, "updated_ms": int(time.time() * 1000), "machines": 3, "active_machines": 2,
        "today": {"responses": 5, "cost_usd": 12.5, "unpriced_tokens": 0},
        "five_hour": {"responses": 2, "cost_usd": 1.25, "unpriced_tokens": 0},
    }))  # fmt: skip
    env = dict(os.environ, CCHOOKS_TEAM_URL="postgresql://nobody@192.0.2.1/x", NO_COLOR="1")
    hot = ROOT / "cchooks" / "hot.py"
    r = subprocess.run([sys.executable, "-S", "-X", "importtime", str(hot), "statusline", "--ledger", str(ledger)],
                       input=json.dumps({"session_id": "s1"}), capture_output=True, text=True, env=env)  # fmt: skip
    assert r.returncode == 0
    assert "team $12.50* today / $1.25* 5h · 2/3 hosts" in r.stdout
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "cchooks.team.snapshot" in imported
    assert not {m for m in imported if m.startswith("psycopg") or m in ("socket", "cchooks.team.sync", "pydantic")}


# -- errors -----------------------------------------------------------------------------------------


def one_line_error(r: subprocess.CompletedProcess[str], *needles: str, code: int = 1) -> None:
    assert r.returncode == code, (r.stdout, r.stderr)
    assert r.stderr.startswith("cchooks: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in r.stderr, r.stderr


def test_bad_url_wrong_password_missing_schema_are_one_line(pg_server: PgServer, tmp_path: Path) -> None:
    ledger = str(tmp_path / "l.db")
    write(ledger, [record(1)])
    base = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "CCHOOKS_TEAM_URL")}
    db = pg_server.new_database()
    cases = [
        ({"CCHOOKS_TEAM_URL": "postgresql://x@127.0.0.1:1/nothing"}, "cannot connect"),
        ({"CCHOOKS_TEAM_URL": "postgresql://x@[::1/oops"}, "cannot connect"),
        ({"CCHOOKS_TEAM_URL": pg_server.url(db), "PGPASSWORD": "wrong"}, "password authentication failed"),
        ({"CCHOOKS_TEAM_URL": pg_server.url(db), "PGPASSWORD": ADMIN_PASSWORD}, "cchooks team init"),
    ]
    for extra, needle in cases:
        env = {**base, **extra}
        for argv in (["team", "sync", "--no-ingest"], ["report", "daily", "--team"], ["limits", "--team", "--no-ingest"],
                     ["team", "hosts"]):  # fmt: skip
            one_line_error(cli(*argv, "--ledger", ledger, env=env), needle)
            assert "wrong" not in cli(*argv, "--ledger", ledger, env=env).stderr
    # Local commands do not care about the team.
    r = cli("report", "daily", "--json", "--no-ingest", "--ledger", ledger, env={**base, **cases[0][0]})
    assert r.returncode == 0 and json.loads(r.stdout)["totals"]["responses"] == 1


# -- sync -------------------------------------------------------------------------------------------


def test_sync_exactly_once_keeps_the_most_complete_copy(team: str, tmp_path: Path) -> None:
    from cchooks.team.sync import TeamSync

    a, b = tmp_path / "a.db", tmp_path / "b.db"
    write(a, [record(i, out=100) for i in range(300)])
    write(b, [record(i, out=100) for i in range(200, 400)])  # 100 responses seen on both machines
    sa, sb = TeamSync(settings("A", batch=64), str(a)), TeamSync(settings("B", batch=64), str(b))
    assert sa.sync_once(snapshot=False).pushed == 300
    assert sb.sync_once(snapshot=False).pushed == 200
    assert sa.sync_once(snapshot=False).pushed == 0  # nothing new: nothing sent
    assert len(team_rows(team)) == 400
    # A more complete copy (streaming partials of older Claude Code) replaces the stored one; a
    # response folded away locally (an OTLP-only row) disappears from the team too.
    write(b, [record(250, out=900), record(399, out=5)])
    with Ledger.open(b) as ledger, ledger.write():
        ledger.conn.execute("DELETE FROM responses WHERE rkey = 'm:msg398'")
    r = sb.sync_once(snapshot=False)
    assert (r.pushed, r.deleted, r.pending) == (1, 1, 0)  # the unchanged 399 is not sent again
    rows = team_rows(team)
    assert rows["m:msg250"][2] == 900 and "m:msg398" not in rows and len(rows) == 399
    truth = ground_truth([a, b])
    assert rows == truth
    assert rollup_by_machine(team) == by_machine(truth)
    # The project leaves the machine as its name only; with hash_project as a hash.
    with pg(team) as c:
        assert {p for (p,) in c.execute("SELECT DISTINCT project FROM cchooks.responses")} == {"secret-repo"}
    sa.close()
    sb.close()
    c2 = tmp_path / "c.db"
    write(c2, [record(1000)])
    TeamSync(settings("C", hash_project=True), str(c2)).sync_once(snapshot=False)
    with pg(team) as c:
        (p,) = c.execute("SELECT project FROM cchooks.responses WHERE rkey = 'm:msg1000'").fetchone()
    assert len(p) == 16 and "secret" not in p


def test_machine_identity_is_stable_and_labelled(team: str, tmp_path: Path) -> None:
    ledger = tmp_path / "l.db"
    cfg = tmp_path / "c.toml"
    cfg.write_text('[team]\nmachine_label = "LXC115"\n')
    write(ledger, [record(1)])
    for _ in range(2):
        assert cli("team", "sync", "--no-ingest", "--ledger", str(ledger), "--config", str(cfg)).returncode == 0
    r = cli("team", "hosts", "--json", "--ledger", str(ledger), "--config", str(cfg))
    hosts = json.loads(r.stdout)["hosts"]
    assert len(hosts) == 1 and hosts[0]["label"] == "LXC115" and hosts[0]["this_machine"]
    assert hosts[0]["responses"] == 1 and hosts[0]["cost_usd"] > 0
    with Ledger.open(ledger) as L:
        assert team_queue.machine_id(L) == hosts[0]["machine_id"]


def test_eight_machines_concurrently(team: str, tmp_path: Path) -> None:
    """8 machines with overlapping data (shared responses, fork copies, replays, retried batches)
    sync concurrently: the team holds exactly the union, each response credited once, no deadlock."""
    ledgers = [tmp_path / f"m{i}.db" for i in range(8)]
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.team_machine", str(p), f"M{i}", str(i), str(STRESS_SECONDS)],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for i, p in enumerate(ledgers)
    ]
    outs = [p.communicate(timeout=STRESS_SECONDS + 240) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    stats = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    assert sum(s["retried_batches"] for s in stats) > 0
    truth = ground_truth(ledgers)
    rows = team_rows(team)
    assert len(rows) == len(truth) and rows == truth
    split = by_machine(truth)
    assert len(split) >= 2
    assert rollup_by_machine(team) == split
    # The team report prices the union like a local report of it would.
    r = cli("report", "monthly", "--team", "--json", "--tz", "UTC", "--ledger", str(ledgers[0]))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["responses"] == len(truth)


def test_kill_9_mid_batch_loses_and_doubles_nothing(team: str, tmp_path: Path) -> None:
    ledger = tmp_path / "l.db"
    base = 1_790_000_000_000
    write(ledger, [record(i, ts=base + i * 1000, out=1 + i % 500) for i in range(60_000)])
    cfg = tmp_path / "c.toml"
    cfg.write_text("[team]\nbatch_size = 700\nstatusline = false\n")
    for _attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "cchooks", "team", "sync", "--no-ingest", "--ledger",
                                 str(ledger), "--config", str(cfg)], cwd=ROOT)  # fmt: skip
        deadline = time.monotonic() + 120
        with pg(team) as c:
            while time.monotonic() < deadline:
                (n,) = c.execute("SELECT count(*) FROM cchooks.responses").fetchone()
                if n > 2000 * (_attempt + 1):
                    break
                time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with pg(team) as c:
        (n,) = c.execute("SELECT count(*) FROM cchooks.responses").fetchone()
    assert 0 < n < 60_000
    # Local commands work on a ledger a sync died in.
    r = cli("report", "daily", "--json", "--no-ingest", "--ledger", str(ledger))
    assert r.returncode == 0 and json.loads(r.stdout)["totals"]["responses"] == 60_000
    assert cli("team", "sync", "--no-ingest", "--ledger", str(ledger), "--config", str(cfg)).returncode == 0
    truth = ground_truth([ledger])
    assert team_rows(team) == truth
    assert rollup_by_machine(team) == by_machine(truth)


def test_postgres_down_and_back_mid_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync loop runs while responses arrive; PostgreSQL stops mid-sync and comes back. The local
    ledger keeps the queue and keeps working; afterwards the team has everything once."""
    from cchooks.team.pg import connect
    from cchooks.team.schema import migrate
    from cchooks.team.sync import TeamSync

    server = PgServer()  # its own server: this test stops it
    try:
        db = server.new_database()
        monkeypatch.setenv("PGPASSWORD", ADMIN_PASSWORD)
        monkeypatch.setenv("CCHOOKS_TEAM_URL", server.url(db))
        s = settings("A", batch=500)
        conn = connect(s, check_schema=False)
        migrate(conn, s.target)
        conn.close()
        ledger = tmp_path / "l.db"
        stop = threading.Event()
        syncer = TeamSync(s, str(ledger))
        write(ledger, [record(i, ts=1_790_000_000_000 + i) for i in range(20_000)])
        loop = threading.Thread(target=syncer.run, args=(stop, 0.05))
        loop.start()
        i = 20_000
        with pg(server.url(db)) as c:
            while c.execute("SELECT count(*) FROM cchooks.responses").fetchone()[0] < 1000:
                time.sleep(0.01)
        server.stop("immediate")  # mid-sync: batches of 500 are in flight
        for _ in range(20):  # the machine keeps working while the team ledger is away
            write(ledger, [record(i + j, ts=1_790_000_000_000 + i + j) for j in range(100)])
            i += 100
            time.sleep(0.02)
        r = cli("report", "daily", "--json", "--no-ingest", "--ledger", str(ledger))
        assert r.returncode == 0 and json.loads(r.stdout)["totals"]["responses"] == i
        one_line_error(cli("team", "sync", "--no-ingest", "--ledger", str(ledger)), "cannot connect")
        server.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Ledger.open(ledger) as L:
                if team_queue.pending(L) == 0:
                    break
            time.sleep(0.1)
        stop.set()
        loop.join(60)
        assert not loop.is_alive()
        monkeypatch.setenv("CCHOOKS_TEAM_URL", server.url(db))
        url = server.url(db)
        truth = ground_truth([ledger])
        assert len(truth) == i
        assert team_rows(url) == truth
        assert rollup_by_machine(url) == by_machine(truth)
    finally:
        server.close()


# -- reading ----------------------------------------------------------------------------------------


def test_team_report_of_one_machine_equals_its_local_report(team: str, tmp_path: Path) -> None:
    ledger = tmp_path / "l.db"
    base = 1_790_000_000_000
    recs = [record(i, ts=base + i * 400_000, out=50 + i, model=("claude-opus-5-5", "claude-sonnet-4-5")[i % 2])
            for i in range(500)]  # fmt: skip
    # A long-context request (sonnet's long rates) and a model without a price.
    recs.append(UsageRecord("mbig", "rbig", "s2", base + 5, "claude-sonnet-4-5", input_tokens=250_000, output_tokens=10))
    recs.append(UsageRecord("mx", "rx", "s3", base + 9, "claude-unknown-model", input_tokens=5, output_tokens=5))
    write(ledger, recs)
    assert cli("team", "sync", "--no-ingest", "--ledger", str(ledger)).returncode == 0
    for kind in ("daily", "weekly", "monthly", "model", "session", "agent", "project"):
        for extra in ([], ["--breakdown"], ["--since", "2026-09-23", "--until", "2026-09-25"]):
            args = ["report", kind, "--json", "--tz", "Asia/Kolkata", "--ledger", str(ledger), *extra]
            local = json.loads(cli(*args, "--no-ingest").stdout)
            remote = cli(*args, "--team")
            assert remote.returncode == 0, remote.stderr
            theirs = json.loads(remote.stdout)
            if kind == "project":  # the team knows the project's name, not its path
                for row in local["rows"]:
                    row["project"] = row["project"].rsplit("/", 1)[-1]
            if kind == "session":
                for row in local["rows"]:
                    row.pop("project")
            assert theirs == local, (kind, extra)
    by_host = json.loads(cli("report", "daily", "--team", "--by", "host", "--json", "--ledger", str(ledger)).stdout)
    assert {r["host"] for r in by_host["rows"]} == {os.uname().nodename}
    one_line_error(cli("report", "daily", "--by", "host", "--ledger", str(ledger)), "--team", code=2)


def test_two_machines_show_the_same_pool(team: str, tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    write(a, [record(i, ts=now - i * 60_000) for i in range(50)])
    write(b, [record(i, ts=now - i * 60_000) for i in range(30, 120)])
    for path, label in ((a, "MAIN"), (b, "LXC115")):
        cfg = tmp_path / f"{label}.toml"
        cfg.write_text(f'[team]\nmachine_label = "{label}"\n')
        assert cli("team", "sync", "--no-ingest", "--ledger", str(path), "--config", str(cfg)).returncode == 0
    # The first machine's snapshot is older than the second's sync: refresh it the way the daemon would.
    assert cli("team", "sync", "--no-ingest", "--ledger", str(a), "--config", str(tmp_path / "MAIN.toml")).returncode == 0
    limits = [json.loads(cli("limits", "--team", "--json", "--no-ingest", "--ledger", str(p)).stdout) for p in (a, b)]
    for key in ("five_hour", "week", "month"):
        assert limits[0][key]["total_tokens"] == limits[1][key]["total_tokens"]
    assert limits[0]["week"]["responses"] == 120
    lines = []
    for p in (a, b):
        r = cli("statusline", "--no-ingest", "--ledger", str(p), input='{"session_id": "s1"}',
                env=dict(os.environ, NO_COLOR="1"))  # fmt: skip
        lines.append(r.stdout.strip().rsplit(" | ", 1)[-1])
    assert lines[0] == lines[1] and lines[0].startswith("team $") and "2/2 hosts" in lines[0]
