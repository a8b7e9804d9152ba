#!/usr/bin/env python3
"""The team ledger's numbers, against a real PostgreSQL.

    python benchmarks/bench_team.py [--url postgresql://user@host/db] [--runs 15]

Without --url it starts a throwaway server like the tests do (tests/pgserver.py: Debian's
`postgresql` package, see tests/deps/postgres.sh; fsync off, as for any benchmark of a local disk).
Measured (targets from issue 14):

* **sync 100k**: `TeamSync.sync_once` of a ledger holding 100,000 new responses into an empty team
  ledger (COPY into the staging table, one set-based upsert, rollup recompute) -- target <= 3 s;
* **report 1M**: `cchooks report daily --team --json` (the whole process, as a user runs it, and the
  query + pricing alone) on a team ledger of 1,000,000 responses from 20 machines over 60 days
  -- target <= 300 ms;
* **steady sync CPU**: a busy machine (one response every 2 s) syncing every 30 s (the default
  `[team] sync_interval`), snapshot included: client CPU seconds per cycle / 30 s -- target <= 1 % of a core;
* **statusline**: `python -S cchooks/hot.py statusline` p50 with no team and with a team configured
  (the pool shown from the snapshot file) -- the same within noise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cchooks.ledger import Ledger  # noqa: E402
from cchooks.records import UsageRecord  # noqa: E402
from cchooks.team.settings import TeamSettings  # noqa: E402
from cchooks.team.sync import RECOMPUTE, RECOMPUTE_TEAM, TeamSync  # noqa: E402

MODELS = ("claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-4-5")


def records(n: int, start_ms: int, span_ms: int, seed: int, prefix: str) -> list[UsageRecord]:
    rng = random.Random(seed)
    return [
        UsageRecord(
            message_id=f"msg-{prefix}-{i}", request_id=f"req-{prefix}-{i}", session_id=f"s-{prefix}-{i // 200}",
            timestamp_ms=start_ms + rng.randrange(span_ms), model=MODELS[i % 3], input_tokens=rng.randrange(1, 4000),
            output_tokens=rng.randrange(1, 4000), cache_creation_5m_tokens=rng.randrange(0, 5000),
            cache_read_tokens=rng.randrange(0, 150_000), project=f"/home/dev/p{i % 9}",
        )  # fmt: skip
        for i in range(n)
    ]


def fill(ledger_path: Path, recs: list[UsageRecord]) -> None:
    with Ledger.open(ledger_path) as ledger, ledger.deferred_rollup(), ledger.write():
        ledger.upsert_records(recs)


def settings(url: str, label: str, interval: float = 30.0) -> TeamSettings:
    return TeamSettings(url=url, sslmode=None, label=label, user="bench", hash_project=False,
                        sync_interval=interval, batch_size=100_000, statusline=True)  # fmt: skip


def fresh_db(admin_url: str, password: str | None) -> str:
    import uuid

    import psycopg

    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin_url, password=password, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + "/" + name


def init(url: str) -> None:
    from cchooks.team.pg import connect
    from cchooks.team.schema import migrate

    s = settings(url, "init")
    conn = connect(s, check_schema=False)
    migrate(conn, s.target)
    conn.close()


def bench_sync(url: str, work: Path) -> float:
    ledger = work / "sync100k.sqlite3"
    fill(ledger, records(100_000, 1_790_000_000_000, 30 * 86_400_000, 1, "a"))
    syncer = TeamSync(settings(url, "A"), str(ledger))
    t0 = time.perf_counter()
    r = syncer.sync_once(snapshot=False)
    dt = time.perf_counter() - t0
    syncer.close()
    assert r.pushed == 100_000 and r.pending == 0, r
    return dt


def load_million(url: str) -> None:
    """1M responses from 20 machines over 60 days, generated in PostgreSQL, rollup computed once."""
    import psycopg

    with psycopg.connect(url) as c:
        c.execute(
            "INSERT INTO cchooks.machines SELECT 'machine-' || m, 'HOST' || m, 'user' || (m % 5), 0, 0, 0, 'bench'"
            " FROM generate_series(0, 19) m"
        )
        c.execute(
            """INSERT INTO cchooks.responses (rkey, message_id, request_id, session_id, ts_ms, model, input_tokens,
                output_tokens, cache_5m_tokens, cache_1h_tokens, cache_read_tokens, web_search_requests, project,
                source, machine_id, user_name, synced_ms)
            SELECT 'r' || i, 'm' || i, 'r' || i, 's' || (i / 300), 1790000000000 + (i::bigint * 5184) % 5184000000,
                (ARRAY['claude-opus-5-5','claude-sonnet-4-5','claude-haiku-4-5'])[1 + i % 3], 1 + i % 4000,
                1 + (i * 7) % 4000, i % 5000, 0, (i * 13) % 150000, 0, 'p' || (i % 9), 'transcript',
                'machine-' || (i % 20), 'user' || (i % 20 % 5), 0
            FROM generate_series(1, 1000000) i"""
        )
        buckets = [r[0] for r in c.execute("SELECT DISTINCT bucket FROM cchooks.responses ORDER BY 1")]
        c.execute(RECOMPUTE, {"b": buckets})
        c.execute(RECOMPUTE_TEAM, {"b": buckets})
        c.commit()
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("VACUUM ANALYZE cchooks.responses")
        c.execute("VACUUM ANALYZE cchooks.rollup")


def bench_report(url: str, work: Path, runs: int, env: dict[str, str]) -> tuple[float, float, int]:
    from cchooks.api import price_table
    from cchooks.reports.build import report_from_sums
    from cchooks.team.pg import connect
    from cchooks.team.queries import team_sums
    from cchooks.timezones import resolve_tz

    load_million(url)
    ledger = work / "reader.sqlite3"
    Ledger.open(ledger).close()
    cmd = [sys.executable, "-m", "cchooks", "report", "daily", "--team", "--json", "--tz", "Europe/Berlin",
           "--ledger", str(ledger)]  # fmt: skip
    walls = []
    out = ""
    for _ in range(runs + 2):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        walls.append(time.perf_counter() - t0)
    walls = walls[2:]
    n = json.loads(out)["totals"]["responses"]
    s = settings(url, "reader")
    conn = connect(s)
    tz = resolve_tz("Europe/Berlin")
    with Ledger.open(ledger) as L:
        prices = price_table(L)
    inner = []
    for _ in range(runs):
        t0 = time.perf_counter()
        report_from_sums("daily", team_sums(conn, "daily", tz, None, None, prices.long_context_threshold), prices)
        inner.append(time.perf_counter() - t0)
    conn.close()
    return statistics.median(walls), statistics.median(inner), n


def bench_steady(url: str, work: Path, cycles: int) -> tuple[float, float]:
    ledger = work / "busy.sqlite3"
    now = int(time.time() * 1000)
    fill(ledger, records(50_000, now - 40 * 86_400_000, 40 * 86_400_000, 3, "hist"))
    syncer = TeamSync(settings(url, "BUSY"), str(ledger))
    syncer.sync_once()
    cpu = []
    for c in range(cycles):
        # 30 s of a busy machine: 15 new responses (one every 2 s).
        with Ledger.open(ledger) as L, L.write():
            L.upsert_records(records(15, int(time.time() * 1000) - 30_000, 30_000, 100 + c, f"live{c}"))
        t0 = time.process_time()
        syncer.sync_once()
        cpu.append(time.process_time() - t0)
    syncer.close()
    per_cycle = statistics.median(cpu)
    return per_cycle, 100.0 * per_cycle / 30.0


def bench_statusline(url: str, work: Path, runs: int, env: dict[str, str]) -> tuple[float, float]:
    ledger = work / "busy.sqlite3"  # the busy machine's ledger and its snapshot, from bench_steady
    hot = REPO / "cchooks" / "hot.py"
    payload = json.dumps({"session_id": "s-live0-0", "model": {"id": "claude-opus-5-5"}})
    cmd = [sys.executable, "-S", str(hot), "statusline", "--ledger", str(ledger)]
    with_team = dict(env, CCHOOKS_TEAM_URL=url)
    solo = {k: v for k, v in env.items() if k != "CCHOOKS_TEAM_URL"}
    times: dict[str, list[float]] = {"solo": [], "team": []}
    for i in range(runs + 3):
        for name, e in (("solo", solo), ("team", with_team)):
            t0 = time.perf_counter()
            out = subprocess.run(cmd, env=e, input=payload, capture_output=True, text=True).stdout
            if i >= 3:
                times[name].append(time.perf_counter() - t0)
            if name == "team":
                assert "team $" in out, out
    return statistics.median(times["solo"]), statistics.median(times["team"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="an admin URL (password from PGPASSWORD / ~/.pgpass); default: a throwaway server")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cycles", type=int, default=20, help="steady-state sync cycles")
    args = ap.parse_args()
    server = None
    if args.url:
        admin, password = args.url, os.environ.get("PGPASSWORD")
    else:
        from tests.pgserver import ADMIN_PASSWORD, PgServer

        server = PgServer()
        admin, password = server.url(), ADMIN_PASSWORD
        os.environ["PGPASSWORD"] = password
    try:
        with tempfile.TemporaryDirectory(prefix="cchooks-bench-team-") as tmp:
            work = Path(tmp)
            env = dict(os.environ, HOME=str(work), XDG_CONFIG_HOME=str(work / ".config"),
                       XDG_CACHE_HOME=str(work / ".cache"), XDG_DATA_HOME=str(work / ".local/share"), NO_COLOR="1")  # fmt: skip
            # As installed (pip writes bytecode): without it every process recompiles cchooks (~50 ms).
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            results = {}
            url = fresh_db(admin, password)
            init(url)
            env["CCHOOKS_TEAM_URL"] = url
            results["sync_100k_s"] = round(bench_sync(url, work), 3)
            print(f"sync of 100,000 responses:            {results['sync_100k_s']:.2f} s   (target <= 3 s)", flush=True)
            url = fresh_db(admin, password)
            init(url)
            env["CCHOOKS_TEAM_URL"] = url
            os.environ["CCHOOKS_TEAM_URL"] = url
            wall, inner, n = bench_report(url, work, args.runs, env)
            results.update(report_1m_cli_s=round(wall, 3), report_1m_query_s=round(inner, 3), report_responses=n)
            print(f"report daily --team --json, {n:,} responses: {wall * 1000:.0f} ms CLI wall,"
                  f" {inner * 1000:.0f} ms query + pricing   (target <= 300 ms)", flush=True)  # fmt: skip
            url = fresh_db(admin, password)
            init(url)
            env["CCHOOKS_TEAM_URL"] = url
            per_cycle, pct = bench_steady(url, work, args.cycles)
            results.update(steady_cpu_s_per_cycle=round(per_cycle, 4), steady_cpu_percent=round(pct, 3))
            print(f"steady sync of a busy machine:        {per_cycle * 1000:.1f} ms CPU per 30 s cycle = {pct:.2f} %"
                  " of a core   (target <= 1 %)", flush=True)  # fmt: skip
            solo, team = bench_statusline(url, work, args.runs * 2, env)
            results.update(statusline_solo_p50_ms=round(solo * 1000, 1), statusline_team_p50_ms=round(team * 1000, 1))
            print(f"statusline p50:                        {solo * 1000:.1f} ms without a team,"
                  f" {team * 1000:.1f} ms with a team (pool from the snapshot)", flush=True)  # fmt: skip
            print(json.dumps(results))
    finally:
        if server is not None:
            server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
