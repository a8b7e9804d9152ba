"""Backfills into an empty ledger: loaded without the secondary indexes, which always come back
(also after a crash), and the same ledger whichever way the parse processes start."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchooks.ledger import bulk_load, ingest
from cchooks.ledger.derived import REBUILD_ROLLUP
from cchooks.ledger.store import Ledger
from tests.test_ledger_robustness import _ledger_totals, _write_corpus, kill_while_writing
from tests.transcript_factory import totals

INDEXES = {"responses_ts", "responses_session", "responses_request"}


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def _dump(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT * FROM responses ORDER BY rkey").fetchall()
        rollup = db.execute("SELECT * FROM rollup_15m ORDER BY 1, 2, 3").fetchall()
        rollup += db.execute("SELECT * FROM rollup_1h ORDER BY 1, 2, 3").fetchall()
        dims = db.execute("SELECT * FROM usage_dims WHERE responses > 0 ORDER BY 1, 2, 3, 4, 5").fetchall()
    assert dims
    return rows + rollup + dims


def _backfill(base: Path, ledger: Path, workers: int, method: str | None = None) -> None:
    with Ledger.open(ledger) as led:
        files = list(ingest.discover(base / "projects"))
        ingest.ingest_files(led, files, workers=workers, start_method=method)


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    # A small corpus taken as a bulk, parallel backfill (the thresholds are for real histories).
    monkeypatch.setattr(ingest, "BULK_BYTES", 0)
    monkeypatch.setattr(ingest, "TASK_BYTES", 64 << 10)
    resps = _write_corpus(tmp_path / "claude", 24, 30, seed=5)
    return tmp_path / "claude", totals(resps)


def test_cold_backfill_builds_the_indexes_it_skipped(tmp_path: Path, corpus: tuple[Path, dict[str, int]]) -> None:
    base, want = corpus
    _backfill(base, tmp_path / "cold.db", workers=1)
    assert _indexes(tmp_path / "cold.db") >= INDEXES
    assert _ledger_totals(tmp_path / "cold.db") == want
    # The same rows as a ledger that had the indexes all along (a warm one, file by file).
    with Ledger.open(tmp_path / "warm.db") as led:
        for tf in ingest.discover(base / "projects"):
            ingest.ingest_file(led, tf)
    assert _dump(tmp_path / "cold.db") == _dump(tmp_path / "warm.db")


def test_indexes_dropped_by_a_crashed_backfill_come_back(tmp_path: Path, corpus: tuple[Path, dict[str, int]]) -> None:
    base, want = corpus
    ledger = tmp_path / "l.db"
    with Ledger.open(ledger) as led:
        bulk_load.drop_indexes_if_empty(led)  # what a backfill killed before its end leaves behind
    assert not INDEXES & _indexes(ledger)
    _backfill(base, ledger, workers=1)
    assert _indexes(ledger) >= INDEXES
    assert _ledger_totals(ledger) == want
    with Ledger.open(ledger) as led:
        assert led.meta_get("indexes_dropped") is None
        bulk_load.drop_indexes_if_empty(led)  # not empty: the indexes stay
    assert _indexes(ledger) >= INDEXES


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_parallel_backfill_gives_the_same_ledger_however_workers_start(
    tmp_path: Path, corpus: tuple[Path, dict[str, int]], method: str
) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    base, want = corpus
    _backfill(base, tmp_path / "one.db", workers=1)
    _backfill(base, tmp_path / "par.db", workers=2, method=method)
    assert _ledger_totals(tmp_path / "par.db") == want
    assert _dump(tmp_path / "par.db") == _dump(tmp_path / "one.db")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_session_rollup_always_equals_the_responses_it_summarises(tmp_path: Path, data: st.DataObject) -> None:
    """Writes through the per-row triggers (inserts, better copies, re-credited sessions, folds)
    leave usage_dims as a rebuild from the responses makes it."""
    from cchooks.records import UsageRecord

    path = tmp_path / f"l{data.draw(st.integers(0, 10**9))}.db"
    with Ledger.open(path) as led:
        for _ in range(data.draw(st.integers(1, 6))):
            recs = [
                UsageRecord(
                    data.draw(st.sampled_from([f"m{k}", ""])), f"r{k}", data.draw(st.sampled_from(["s", "t"])),
                    data.draw(st.integers(0, 10**9)), data.draw(st.sampled_from(["a", "b"])),
                    data.draw(st.integers(0, 300_000)), data.draw(st.integers(0, 5000)), 0, 0,
                    data.draw(st.integers(0, 100_000)),
                    agent_id=data.draw(st.sampled_from([None, "x"])), project=data.draw(st.sampled_from([None, "p"])),
                    project_dir="d", source=data.draw(st.sampled_from(["transcript", "otlp"])),
                    credit=data.draw(st.integers(0, 3)),
                )
                for k in data.draw(st.lists(st.integers(0, 9), max_size=8))
            ]
            with led.write():
                led.upsert_records(recs)
        q = (
            "SELECT session_id, project, agent, model, long_context, responses, input_tokens, output_tokens,"
            " cache_read_tokens, first_ms, last_ms FROM usage_dims WHERE responses > 0 ORDER BY 1, 2, 3, 4, 5"
        )
        kept = led.conn.execute(q).fetchall()
        with led.write():
            for sql in REBUILD_ROLLUP:
                led.conn.execute(sql)
        assert kept == led.conn.execute(q).fetchall()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_blocks_from_the_rollup_equal_blocks_from_the_responses(tmp_path: Path, data: st.DataObject) -> None:
    from cchooks.api import price_table
    from cchooks.records import UsageRecord
    from cchooks.reports.query import _bucket_items
    from cchooks.windows import session_blocks

    path = tmp_path / f"b{data.draw(st.integers(0, 10**9))}.db"
    t = 1_760_000_000_000
    recs = []
    for k in range(data.draw(st.integers(1, 60))):
        # steps from seconds to days: same bucket, same block, the 5-hour edges, idle gaps
        t += data.draw(st.sampled_from([1, 60_000, 899_999, 900_000, 3_600_000, 17_999_999, 18_000_000, 86_400_000]))
        model = data.draw(st.sampled_from(["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "mystery"]))
        recs.append(UsageRecord(f"m{k}", f"r{k}", "s", t, model, data.draw(st.integers(0, 300_000)),
                                data.draw(st.integers(0, 5000)), 10, 0, data.draw(st.integers(0, 100_000))))
    with Ledger.open(path) as led:
        with led.write():
            led.upsert_records(recs)
        prices = price_table(led)
        items = _bucket_items(led, None, None, prices)
        records = list(led.records())
    assert items is not None
    now = t + data.draw(st.sampled_from([0, 3_600_000, 10 * 3_600_000]))
    got = session_blocks(items, now, prices.record_cost)
    want = session_blocks(records, now, prices.record_cost)

    def shape(b):  # type: ignore[no-untyped-def]
        tot = b.totals
        return (b.start_ms, b.end_ms, b.is_gap, b.is_active, tot.responses, tot.input_tokens, tot.output_tokens,
                tot.cache_read_tokens, tot.first_ms, tot.last_ms, sorted(tot.models), tot.unpriced_tokens)

    assert [shape(b) for b in got] == [shape(b) for b in want]
    assert [b.totals.cost_usd for b in got] == pytest.approx([b.totals.cost_usd for b in want], rel=1e-9)


VERSION_PROJECTS = sorted(p for p in (Path(__file__).resolve().parent.parent / "fixtures").glob("claude-code-*/**/projects"))


def _with_copies(src: Path, dst: Path) -> Path:
    """`src` (a projects/ dir) plus copies that make one response meet itself across files and
    tasks: every transcript again in a second project, and a truncated copy (its first half)."""
    import shutil

    shutil.copytree(src, dst / "projects")
    for f in sorted(src.rglob("*.jsonl")):
        rel = f.relative_to(src)
        again = dst / "projects" / ("copy-" + rel.parts[0]) / Path(*rel.parts[1:])
        again.parent.mkdir(parents=True, exist_ok=True)
        again.write_bytes(f.read_bytes())
        data = f.read_bytes()
        half = data[: data.rfind(b"\n", 0, len(data) // 2) + 1]
        if half:
            part = dst / "projects" / ("part-" + rel.parts[0]) / Path(*rel.parts[1:])
            part.parent.mkdir(parents=True, exist_ok=True)
            part.write_bytes(half)
    return dst


@pytest.mark.parametrize("projects", VERSION_PROJECTS, ids=lambda p: p.parts[-3] if p.parent.name == "config" else p.parts[-2])
def test_staged_merge_equals_the_in_memory_upsert_on_real_copies(
    tmp_path: Path, projects: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real transcripts of every version (forks, streaming partials, subagents) with each file
    also copied and half-copied elsewhere: the parallel backfill's set-based merge of stage files
    gives the ledger the one-process upsert gives, row for row."""
    from cchooks.ledger import staging

    monkeypatch.setattr(ingest, "BULK_BYTES", 0)
    monkeypatch.setattr(ingest, "TASK_BYTES", 16 << 10)  # many tasks, many stages per batch
    monkeypatch.setattr(ingest, "COMMIT_EVERY", 96 << 10)
    merged: list[int] = []
    real_merge = staging.merge_stages

    def counting_merge(ledger: Ledger, stages: list[staging.Stage], *args: object) -> None:
        merged.append(len(stages))
        real_merge(ledger, stages, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(staging, "merge_stages", counting_merge)
    base = _with_copies(projects, tmp_path / "claude")
    _backfill(base, tmp_path / "one.db", workers=1)
    _backfill(base, tmp_path / "par.db", workers=2)
    assert merged and max(merged) > 1  # the set-based path ran, several stages at a time
    assert _dump(tmp_path / "par.db") == _dump(tmp_path / "one.db")
    # This process's stage dirs only: another backfill on the machine may be mid-way through its own.
    assert not list(Path(tempfile_dir()).glob(f"cchooks-stage-{os.getpid()}-*/*.sqlite3"))


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


def test_staged_rows_that_need_aliasing_take_the_in_memory_way(
    tmp_path: Path, corpus: tuple[Path, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger holding a row known only by its request id and an OTLP-only call waiting for its
    transcript line: stage files are read back and upserted the in-memory way (which folds them)."""
    from cchooks.ledger import staging
    from cchooks.records import UsageRecord

    base, _want = corpus
    merged: list[int] = []
    real_merge = staging.merge_stages
    monkeypatch.setattr(staging, "merge_stages", lambda *a: (merged.append(1), real_merge(*a)))
    first = next(iter(sorted((base / "projects").rglob("*.jsonl"))))
    line = next(raw for raw in first.read_text().splitlines() if '"usage"' in raw)
    import json

    obj = json.loads(line)
    rid = obj.get("requestId") or "req-none"
    known = [
        UsageRecord("", rid, obj["sessionId"], 1795000000000, obj["message"]["model"], 1, 1, 0, 0, 0),
        UsageRecord("", "otlp:sess-x:1", "sess-x", 1795000000000, "claude-sonnet-4-5", 5, 5, 0, 0, 0,
                    source="otlp"),
    ]  # fmt: skip
    for name in ("one.db", "par.db"):
        with Ledger.open(tmp_path / name) as led, led.write():
            led.upsert_records(known)
    _backfill(base, tmp_path / "one.db", workers=1)
    _backfill(base, tmp_path / "par.db", workers=2)
    assert not merged
    assert _dump(tmp_path / "par.db") == _dump(tmp_path / "one.db")


def test_kill_9_of_a_parallel_backfill_loses_nothing_and_counts_nothing_twice(tmp_path: Path) -> None:
    """The real CLI on a corpus big enough for parse processes (stage files), killed at random
    moments mid-backfill; the run after counts every day exactly as expected.json, and the
    stage directories of the killed runs are gone."""
    import json
    import random
    import subprocess
    import sys
    import tempfile

    from cchooks.ledger import staging

    root = Path(__file__).resolve().parent.parent
    claude = tmp_path / "claude"
    subprocess.run(
        [sys.executable, str(root / "benchmarks" / "gen_corpus.py"), "--out", str(claude), "--size-mb",
         str(ingest.PARALLEL_BYTES // (1 << 20) + 8), "--seed", "4", "--end", "2026-11-22", "--density", "dense"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    expected = json.loads((claude / "expected.json").read_text())
    ledger = tmp_path / "l.db"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TZ": "UTC", "CCHOOKS_WORKERS": "2"}
    cmd = [sys.executable, "-m", "cchooks", "ingest", "--claude-dir", str(claude), "--ledger", str(ledger)]
    rnd = random.Random(9)
    kills = 0
    for _ in range(12):
        kills += kill_while_writing(cmd, ledger, rnd, env=env, wait_s=20, poll_s=0.002, max_delay_s=0.4)
        if kills >= 4:
            break
    assert kills >= 2
    done = subprocess.run(cmd, capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    with Ledger.open(ledger) as led:
        got = led.conn.execute("SELECT count(*), sum(output_tokens), sum(cache_read_tokens) FROM responses").fetchone()
    days = expected["by_day"].values()
    want = (sum(d["responses"] for d in days), sum(d["output_tokens"] for d in days),
            sum(d["cache_read_input_tokens"] for d in days))  # fmt: skip
    assert tuple(got) == want
    assert _indexes(ledger) >= INDEXES
    # What the killed runs left in the temp dir goes with the next parallel backfill.
    again = subprocess.run([*cmd[:-1], str(tmp_path / "fresh.db")], capture_output=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    leftovers = [n for n in Path(tempfile.gettempdir()).iterdir() if n.name.startswith(staging.STAGE_DIR_PREFIX)
                 and not staging._alive(int(n.name[len(staging.STAGE_DIR_PREFIX):].split("-", 1)[0]))]  # fmt: skip
    assert not leftovers


def test_stage_files_that_cannot_be_written_go_the_in_memory_way(
    tmp_path: Path, corpus: tuple[Path, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A temp dir the parse processes cannot write in (full, gone, not a directory): their rows
    come back to the writer as before, and nothing is lost; with no temp dir at all, the writer's
    process reads everything itself."""
    from cchooks.ledger import staging

    base, want = corpus
    not_a_dir = tmp_path / "not-a-dir"
    not_a_dir.write_text("x")
    monkeypatch.setattr(staging, "make_stage_dir", lambda: str(not_a_dir))
    _backfill(base, tmp_path / "one.db", workers=1)
    _backfill(base, tmp_path / "par.db", workers=2)
    assert _ledger_totals(tmp_path / "par.db") == want
    assert _dump(tmp_path / "par.db") == _dump(tmp_path / "one.db")

    def no_temp_dir() -> str:
        raise FileNotFoundError("no usable temporary directory found")

    monkeypatch.setattr(staging, "make_stage_dir", no_temp_dir)
    _backfill(base, tmp_path / "par2.db", workers=2)
    assert _dump(tmp_path / "par2.db") == _dump(tmp_path / "one.db")


def test_index_builds_at_the_end_of_a_backfill_get_the_usual_cache(
    tmp_path: Path, corpus: tuple[Path, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite sizes each index build's sort buffer by the page cache: the bulk-sized cache must be
    # given back before the end of the load, or a large backfill holds both at once.
    base, want = corpus
    monkeypatch.setattr(ingest, "MAX_BULK_CACHE", 32 << 20)
    seen: list[tuple[int, int]] = []
    finish = bulk_load.finish_bulk_load

    def spy(ledger: Ledger) -> None:
        seen.append((ledger.cache_kib(), usual))
        finish(ledger)

    monkeypatch.setattr(bulk_load, "finish_bulk_load", spy)
    with Ledger.open(tmp_path / "cold.db") as led:
        files = list(ingest.discover(base / "projects"))
        pending = sum(os.stat(tf.path).st_size for tf in files)
        # A small usual cache, so that this small corpus gets a larger one for its load (1/64 of it).
        led.set_cache_kib(max(1, (pending >> 16) // 4))
        usual = led.cache_kib()
        assert pending >> 16 > usual
        ingest.ingest_files(led, files, workers=2)
        assert led.cache_kib() == usual
    assert seen and all(kib == want_kib for kib, want_kib in seen)
    assert _ledger_totals(tmp_path / "cold.db") == want
