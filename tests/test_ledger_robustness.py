"""Ledger under growth, concurrency, crashes, unknown models, time zones and config-dir discovery."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchooks.api import ingest, open_ledger, report
from cchooks.ledger import Ledger, LedgerError
from cchooks.paths import claude_config_dirs
from tests.transcript_factory import Resp, assistant_line, noise_lines, totals

ROOT = Path(__file__).resolve().parent.parent


def _write_corpus(base: Path, sessions: int, per_session: int, seed: int = 0) -> list[Resp]:
    """A config dir with `sessions` transcripts; returns the true responses."""
    rnd = random.Random(seed)
    resps: list[Resp] = []
    n = 0
    for s in range(sessions):
        proj = base / "projects" / f"-tmp-p{s % 3}"
        proj.mkdir(parents=True, exist_ok=True)
        sid = f"sess-{s:04d}"
        lines: list[str] = []
        for _ in range(per_session):
            n += 1
            r = Resp(n, sid, rnd.randint(1, 5000), rnd.randint(1, 3000), rnd.randint(0, 9000),
                     rnd.randint(0, 900), rnd.randint(0, 90000),
                     ts=f"2026-11-{rnd.randint(1, 20):02d}T{rnd.randint(0, 23):02d}:00:00Z")  # fmt: skip
            resps.append(r)
            for b in range(rnd.randint(1, 3)):
                lines.append(assistant_line(r, block=b))
            lines.extend(noise_lines(r)[:2])
            lines.append(json.dumps({"type": "user", "message": {"content": "x" * rnd.randint(100, 3000)}}))
        (proj / f"{sid}.jsonl").write_text("\n".join(lines) + "\n")
    return resps


def kill_while_writing(
    cmd: list[str], ledger: Path, rnd: random.Random, *, env: dict[str, str] | None = None,
    wait_s: float = 10.0, poll_s: float = 0.001, max_delay_s: float = 0.3,
) -> bool:
    """Run `cmd`, wait until it has started writing the ledger (its WAL changes), then SIGKILL it
    a random moment later: mid-ingest. True if it was killed (False: it finished first)."""
    wal = Path(str(ledger) + "-wal")
    before = wal.stat().st_mtime_ns if wal.exists() else 0
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + wait_s
    while p.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_mtime_ns != before:
            break
        time.sleep(poll_s)
    time.sleep(rnd.uniform(0, max_delay_s))
    killed = p.poll() is None
    if killed:
        p.send_signal(signal.SIGKILL)
    p.wait()
    return killed


def _ledger_totals(path: Path) -> dict[str, int]:
    with Ledger.open(path) as led:
        row = led.conn.execute(
            "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_5m_tokens),"
            " sum(cache_1h_tokens), sum(cache_read_tokens) FROM responses"
        ).fetchone()
        rolled = led.conn.execute(
            "SELECT sum(responses), sum(input_tokens), sum(output_tokens), sum(cache_5m_tokens),"
            " sum(cache_1h_tokens), sum(cache_read_tokens) FROM usage_rollup"
        ).fetchone()
        stale = led.rollup_stale()
    # The 15-minute rollup behind period reports always agrees with the responses (or is marked stale).
    assert stale or tuple(int(x or 0) for x in rolled) == tuple(int(x or 0) for x in row)
    return dict(zip(["responses", "input", "output", "c5", "c1", "cr"], [int(x or 0) for x in row], strict=True))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=12))
def test_growing_file_ingested_in_any_number_of_steps(tmp_path_factory: pytest.TempPathFactory,
                                                       cuts: list[int]) -> None:
    base = tmp_path_factory.mktemp("grow")
    src = base / "src"
    resps = _write_corpus(src, 1, 15)
    full = next(src.rglob("*.jsonl")).read_bytes()
    dst = base / "claude" / "projects" / "-tmp-p0" / "sess-0000.jsonl"
    dst.parent.mkdir(parents=True)
    ledger = base / "l.db"
    pos = 0
    with open_ledger(ledger) as led:
        for cut in [*cuts, len(full)]:
            nxt = min(len(full), pos + cut)
            with dst.open("ab") as fh:
                fh.write(full[pos:nxt])
            pos = nxt
            ingest(led, base / "claude")
            if pos == len(full):
                break
    assert _ledger_totals(ledger) == totals(resps)


@pytest.mark.parametrize("chunk", [64, 997, 8192])
@pytest.mark.parametrize(("bulk", "workers"), [(False, 1), (True, 1), (True, 2)])
def test_any_read_chunk_and_path_gives_the_same_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, bulk: bool, workers: int
) -> None:
    """Files read in chunks smaller than a line, by the hook path, the backfill decoder and the
    backfill workers, all end up as the same responses with every byte accounted for."""
    from cchooks.ledger import ingest as ingest_mod
    from cchooks.ledger import reader

    resps = _write_corpus(tmp_path / "claude", 4, 12, seed=chunk)
    # a last line still being written is left for later
    partial = next((tmp_path / "claude").rglob("*.jsonl"))
    with partial.open("ab") as fh:
        fh.write(assistant_line(Resp(999, "x", 1, 1, 1, 1, 1)).encode()[:50])
    size = sum(p.stat().st_size for p in (tmp_path / "claude").rglob("*.jsonl"))
    monkeypatch.setattr(reader, "READ_CHUNK", chunk)  # where files are read
    monkeypatch.setattr(ingest_mod, "BULK_BYTES", 0 if bulk else 1 << 40)
    monkeypatch.setattr(ingest_mod, "PARALLEL_BYTES", 0)
    files = list(ingest_mod.discover(tmp_path / "claude" / "projects"))
    ledger = tmp_path / "l.db"
    with open_ledger(ledger) as led:
        result = ingest_mod.ingest_files(led, files, workers=workers)
        offsets = dict(led.conn.execute("SELECT path, offset FROM files").fetchall())
    assert result.bytes_read == size
    assert offsets[str(partial)] == partial.stat().st_size - 50
    assert result.stats.malformed == result.stats.non_utf8 == 0
    assert _ledger_totals(ledger) == totals(resps)


def test_concurrent_ingest_processes_count_once(tmp_path: Path) -> None:
    resps = _write_corpus(tmp_path / "claude", 30, 40)
    ledger = tmp_path / "l.db"
    cmd = [sys.executable, "-m", "cchooks", "ingest", "--json", "--claude-dir", str(tmp_path / "claude"),
           "--ledger", str(ledger)]  # fmt: skip
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(6)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        assert b"locked" not in err
    assert _ledger_totals(ledger) == totals(resps)


def test_kill_9_at_random_points_loses_nothing_and_counts_nothing_twice(tmp_path: Path) -> None:
    resps = _write_corpus(tmp_path / "claude", 60, 60, seed=7)
    files = sorted((tmp_path / "claude").rglob("*.jsonl"))
    ledger = tmp_path / "l.db"
    cmd = [sys.executable, "-m", "cchooks", "ingest", "--claude-dir", str(tmp_path / "claude"),
           "--ledger", str(ledger)]  # fmt: skip
    rnd = random.Random(3)
    kills = 0
    n = 100_000
    runs = 0
    while kills < 10 and runs < 100:
        runs += 1
        kills += kill_while_writing(cmd, ledger, rnd)
        # Every file keeps growing between crashes, so every run has work to be killed in.
        for f in files:
            batch = []
            for _ in range(20):
                n += 1
                extra = Resp(n, f.stem, 1, 2, 3, 4, 5)
                resps.append(extra)
                batch.append(assistant_line(extra))
                batch.append(json.dumps({"type": "user", "message": {"content": "y" * 2000}}))
            with f.open("a") as fh:
                fh.write("\n".join(batch) + "\n")
    assert kills >= 5, (kills, runs)
    subprocess.run(cmd, check=True, capture_output=True)
    assert _ledger_totals(ledger) == totals(resps)


def test_unknown_model_is_flagged_not_zero(tmp_path: Path) -> None:
    proj = tmp_path / "claude" / "projects" / "-x"
    proj.mkdir(parents=True)
    known = Resp(1, "s", 1000, 100, 0, 0, 0)
    unknown = Resp(2, "s", 500, 50, 0, 0, 0, model="claude-nova-9")
    (proj / "s.jsonl").write_text(assistant_line(known) + "\n" + assistant_line(unknown) + "\n")
    with open_ledger(tmp_path / "l.db") as led:
        ingest(led, tmp_path / "claude")
        rep = report(led, "daily", tz="UTC", prices=None)
    assert rep.unpriced_models == ["claude-nova-9"]
    assert rep.totals.unpriced_tokens == 550
    assert rep.totals.cost_usd == pytest.approx((1000 * 4 + 100 * 20) / 1e6)
    data = rep.to_json(breakdown=True)
    row = data["rows"][0]
    unknown_row = next(b for b in row["breakdown"] if b["model"] == "claude-nova-9")
    assert unknown_row["cost_usd"] is None and unknown_row["unpriced_tokens"] == 550
    from cchooks.reports.render import render_table

    text = render_table(rep, width=80)
    assert "+?" in text and "claude-nova-9" in text


def test_dated_and_provider_model_ids_resolve() -> None:
    from cchooks.pricing import load_price_table

    t = load_price_table()
    for mid, inp in [("claude-sonnet-4-5-20250929", 3.0), ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.0),
                     ("claude-opus-4-1@20250805", 15.0), ("claude-3-5-haiku-latest", 0.8),
                     ("claude-opus-4-6[1m]", 5.0), ("claude-haiku-4-5-20251001", 1.0)]:  # fmt: skip
        p = t.lookup(mid)
        assert p is not None and p.input == inp, mid
    assert t.lookup("claude-opus-4") is not t.lookup("claude-opus-4-1")
    assert t.lookup("gpt-4") is None


def test_long_context_requests_use_long_rates(tmp_path: Path) -> None:
    proj = tmp_path / "claude" / "projects" / "-x"
    proj.mkdir(parents=True)
    big = Resp(1, "s", 150_000, 1000, 0, 0, 100_000, model="claude-sonnet-4-5-20250929")
    small = Resp(2, "s", 1000, 1000, 0, 0, 0, model="claude-sonnet-4-5-20250929")
    (proj / "s.jsonl").write_text(assistant_line(big) + "\n" + assistant_line(small) + "\n")
    with open_ledger(tmp_path / "l.db") as led:
        ingest(led, tmp_path / "claude")
        cost = report(led, "daily", tz="UTC").totals.cost_usd
    expected = (150_000 * 6 + 1000 * 22.5 + 100_000 * 0.6) / 1e6 + (1000 * 3 + 1000 * 15) / 1e6
    assert cost == pytest.approx(expected)


def test_price_override_from_config_fixes_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[prices."claude-nova-9"]\ninput = 2.0\noutput = 10.0\n')
    monkeypatch.setenv("CCHOOKS_CONFIG", str(cfg))
    proj = tmp_path / "claude" / "projects" / "-x"
    proj.mkdir(parents=True)
    (proj / "s.jsonl").write_text(assistant_line(Resp(1, "s", 1000, 100, 0, 0, 1000, model="claude-nova-9")) + "\n")
    with open_ledger(tmp_path / "l.db") as led:
        ingest(led, tmp_path / "claude")
        rep = report(led, "model", tz="UTC")
    assert rep.unpriced_models == []
    assert rep.totals.cost_usd == pytest.approx((1000 * 2 + 100 * 10 + 1000 * 0.2) / 1e6)


def test_day_boundaries_follow_the_time_zone_across_dst(tmp_path: Path) -> None:
    proj = tmp_path / "claude" / "projects" / "-x"
    proj.mkdir(parents=True)
    # Europe/Berlin: DST ends 2026-10-25 03:00 CEST -> 02:00 CET.
    stamps = ["2026-10-24T21:59:00Z",  # 23:59 CEST on the 24th
              "2026-10-24T22:01:00Z",  # 00:01 CEST on the 25th
              "2026-10-25T22:59:00Z",  # 23:59 CET on the 25th
              "2026-10-25T23:01:00Z"]  # 00:01 CET on the 26th
    lines = [assistant_line(Resp(i, "s", 10, 1, 0, 0, 0, ts=t)) for i, t in enumerate(stamps)]
    (proj / "s.jsonl").write_text("\n".join(lines) + "\n")
    with open_ledger(tmp_path / "l.db") as led:
        ingest(led, tmp_path / "claude")
        berlin = {r.key: r.totals.responses for r in report(led, "daily", tz="Europe/Berlin").rows}
        utc = {r.key: r.totals.responses for r in report(led, "daily", tz="UTC").rows}
        weekly = {r.key: r.totals.responses for r in report(led, "weekly", tz="Europe/Berlin").rows}
        monthly = {r.key: r.totals.responses for r in report(led, "monthly", tz="Europe/Berlin").rows}
        ranged = report(led, "daily", tz="Europe/Berlin", since="2026-10-25", until="2026-10-25").totals
    assert berlin == {"2026-10-24": 1, "2026-10-25": 2, "2026-10-26": 1}
    assert utc == {"2026-10-24": 2, "2026-10-25": 2}
    assert weekly == {"2026-10-19": 3, "2026-10-26": 1}
    assert monthly == {"2026-10": 4}
    assert ranged.responses == 2


def test_config_dir_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{a},{b}/projects, {a}")
    assert claude_config_dirs() == [a, b]
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert claude_config_dirs() == [tmp_path / "xdg" / "claude", Path.home() / ".claude"]
    assert claude_config_dirs(str(b)) == [b]


def test_both_default_config_dirs_are_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    r1 = _write_corpus(tmp_path / "xdg" / "claude", 2, 3, seed=1)
    r2 = _write_corpus(Path.home() / ".claude", 2, 3, seed=2)
    for r in r2:
        r.n += 1000
    # re-write the second dir with distinct ids
    for f in (Path.home() / ".claude").rglob("*.jsonl"):
        f.write_text(f.read_text().replace('"msg_', '"msg_b').replace('"req_', '"req_b'))
    ledger = tmp_path / "l.db"
    out = subprocess.run([sys.executable, "-m", "cchooks", "report", "daily", "--json", "--ledger", str(ledger)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(out.stdout)["totals"]["responses"] == len(r1) + len(r2)


def test_ledger_file_is_private_and_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "l.db"
    Ledger.open(path).close()
    assert (os.stat(path).st_mode & 0o777) == 0o600
    import sqlite3

    c = sqlite3.connect(path)
    c.execute("PRAGMA user_version = 999")
    c.close()
    with pytest.raises(LedgerError, match="Upgrade cchooks"):
        Ledger.open(path)


def test_ingest_verbose_reports_malformed_lines(tmp_path: Path) -> None:
    proj = tmp_path / "claude" / "projects" / "-x"
    proj.mkdir(parents=True)
    (proj / "s.jsonl").write_bytes(b'{"type":"assistant","usage": broken\n{"type":"assistant","usage": "\xff\xfe"}\n' + assistant_line(Resp(1, "s", 1, 1, 1, 1, 1)).encode() + b"\n")
    out = subprocess.run([sys.executable, "-m", "cchooks", "ingest", "-v", "--claude-dir", str(tmp_path / "claude"),
                          "--ledger", str(tmp_path / "l.db")], capture_output=True, text=True, check=True)  # fmt: skip
    assert "1 malformed" in out.stdout and "1 not UTF-8" in out.stdout
    assert "1 responses" in out.stdout


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rollup_always_equals_the_responses_it_summarises(tmp_path_factory: pytest.TempPathFactory,
                                                          data: st.DataObject) -> None:
    from cchooks.records import UsageRecord

    base = tmp_path_factory.mktemp("rollup")
    with open_ledger(base / "l.db") as led:
        for _ in range(data.draw(st.integers(1, 6))):
            recs = [
                UsageRecord(f"m{k}", f"r{k}", "s", data.draw(st.integers(0, 10**9)),
                            data.draw(st.sampled_from(["a", "b"])), data.draw(st.integers(0, 300_000)),
                            data.draw(st.integers(0, 5000)), data.draw(st.integers(0, 9)), 0,
                            data.draw(st.integers(0, 100_000)),
                            source=data.draw(st.sampled_from(["transcript", "otlp"])))
                for k in data.draw(st.lists(st.integers(0, 15), max_size=10))
            ]  # fmt: skip
            with led.write():
                led.upsert_records(recs)
        direct = led.conn.execute(
            "SELECT ts_ms / 900000, model, count(*), sum(input_tokens), sum(output_tokens), sum(cache_5m_tokens),"
            " sum(cache_read_tokens) FROM responses GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        rolled = led.conn.execute(
            "SELECT bucket, model, sum(responses), sum(input_tokens), sum(output_tokens), sum(cache_5m_tokens),"
            " sum(cache_read_tokens) FROM usage_rollup GROUP BY 1, 2 HAVING sum(responses) > 0 ORDER BY 1, 2"
        ).fetchall()
    assert direct == rolled


def test_bundled_price_json_is_the_toml() -> None:
    import json

    from cchooks.pricing import BUNDLED_JSON, read_bundled_toml

    assert json.loads(BUNDLED_JSON.read_text()) == read_bundled_toml(), "run: python -m cchooks.pricing"
