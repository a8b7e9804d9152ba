"""benchmarks/gen_corpus.py: its expected.json must agree with an independent read of the files."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT / "benchmarks" / "gen_corpus.py"
FIELDS = ("input_tokens", "output_tokens", "cache_creation_5m_input_tokens",
          "cache_creation_1h_input_tokens", "cache_read_input_tokens")


def generate(out: Path, seed: int = 7, size_mb: float = 1.0, *extra: str) -> dict:
    subprocess.run([sys.executable, str(GEN), "--out", str(out), "--size-mb", str(size_mb),
                    "--seed", str(seed), "--end", "2026-11-22", *extra],
                   check=True, capture_output=True, text=True, timeout=120)
    return json.loads((out / "expected.json").read_text())


def recount(corpus: Path) -> dict:
    """Dedup by (message.id, requestId), largest output_tokens wins, credit requestSessionId else
    sessionId, date = UTC day of the response's earliest line."""
    responses: dict[tuple[str, str], dict] = {}
    n_lines = 0
    stamps: list[str] = []
    files = sorted(glob.glob(str(corpus / "projects" / "**" / "*.jsonl"), recursive=True))
    assert files
    for path in files:
        with open(path, encoding="utf-8") as f:
            for raw in f:
                n_lines += 1
                d = json.loads(raw)  # every line must be valid JSON
                assert "type" in d
                if "timestamp" in d:
                    stamps.append(d["timestamp"])
                if d["type"] != "assistant":
                    continue
                msg = d["message"]
                if msg.get("model") == "<synthetic>" or d.get("isApiErrorMessage"):
                    continue
                u = msg["usage"]
                cc = u.get("cache_creation") or {}
                vals = (u["input_tokens"], u["output_tokens"], cc.get("ephemeral_5m_input_tokens", 0),
                        cc.get("ephemeral_1h_input_tokens", 0), u["cache_read_input_tokens"])
                assert u["cache_creation_input_tokens"] == vals[2] + vals[3]
                key = (msg["id"], d["requestId"])
                sess = d.get("requestSessionId") or d["sessionId"]
                r = responses.get(key)
                if r is None:
                    responses[key] = {"vals": vals, "ts": d["timestamp"], "sess": sess, "model": msg["model"],
                                      "lines": 1}
                    continue
                r["lines"] += 1
                # all lines of one response: identical input-side usage, same session credit
                assert r["vals"][0] == vals[0] and r["vals"][2:] == vals[2:], key
                assert r["sess"] == sess, key
                assert r["ts"][:10] == d["timestamp"][:10], key
                if vals[1] > r["vals"][1]:
                    r["vals"] = vals
                r["ts"] = min(r["ts"], d["timestamp"])
    by_day: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    by_session: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    by_model: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for r in responses.values():
        for acc in (by_day[r["ts"][:10]], by_session[r["sess"]], by_model[r["model"]]):
            acc[0] += 1
            for i, v in enumerate(r["vals"]):
                acc[i + 1] += v
    return {"by_day": by_day, "by_session": by_session, "by_model": by_model, "lines": n_lines,
            "first_ts": min(stamps), "last_ts": max(stamps),
            "multi_line": sum(1 for r in responses.values() if r["lines"] > 1)}


def as_list(d: dict) -> list[int]:
    return [d["responses"], *(d[k] for k in FIELDS)]


def check(corpus: Path, exp: dict) -> dict:
    got = recount(corpus)
    for key in ("by_day", "by_session", "by_model"):
        assert {k: as_list(v) for k, v in exp[key].items()} == dict(got[key]), key
    tot = [sum(v[i] for v in got["by_day"].values()) for i in range(6)]
    assert as_list(exp["totals"]) == tot
    t = exp["totals"]
    assert t["cache_creation_input_tokens"] == t["cache_creation_5m_input_tokens"] + t["cache_creation_1h_input_tokens"]
    return got


def test_tiny_corpus_matches_independent_recount(tmp_path: Path) -> None:
    out = tmp_path / "c"
    exp = generate(out)
    got = check(out, exp)
    assert got["first_ts"][:10] >= "2025-11-22" and got["last_ts"] <= "2026-11-22T23:00:00.000Z"
    c = exp["corpus"]
    assert 0.5 * 2**20 < c["bytes"] < 3 * 2**20
    assert c["session_files"] >= 3 and c["fork_files"] >= 1
    assert got["multi_line"] > 0  # responses really are split over several lines
    tr = exp["traps"]
    # the traps are there: fork copies, cost-state lines, usage inside toolUseResult, synthetic and
    # API-error lines, more assistant lines than responses
    assert tr["fork_copied_assistant_lines"] > 0
    assert tr["cost_state_lines"] > 0 and tr["tool_use_result_usage_objects"] > 0
    assert tr["synthetic_lines"] > 0 and tr["api_error_lines"] > 0
    assert tr["assistant_lines"] > exp["totals"]["responses"]
    naive = tr["naive_all_assistant_lines"]
    assert naive["output_tokens"] > exp["totals"]["output_tokens"]
    # forks: copied lines keep crediting the parent session
    forks = exp["forks"]
    assert forks
    text = (out / "projects").rglob(f"{forks[0]['fork']}.jsonl")
    fork_file = next(text)
    copied = [json.loads(x) for x in fork_file.read_text().splitlines() if '"requestSessionId"' in x]
    assert copied and all(d["requestSessionId"] == forks[0]["parent"] for d in copied)
    assert all(d["sessionId"] == forks[0]["fork"] for d in copied)


def test_end_instant_bounds_timestamps(tmp_path: Path) -> None:
    exp = generate(tmp_path / "e", 5, 0.5, "--end", "2026-03-01T10:30:00Z")
    got = check(tmp_path / "e", exp)
    assert got["first_ts"] >= "2025-03-01T10:30" and got["last_ts"] <= "2026-03-01T10:30:00.000Z"
    live = exp["live_session"]
    assert live["last_timestamp"].startswith("2026-03-01T")  # the live session runs up to --end
    assert (tmp_path / "e" / live["transcript_path"]).exists()


def test_deterministic_and_traps(tmp_path: Path) -> None:
    def digest(root: Path) -> str:
        h = hashlib.sha256()
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.name != "expected.json":
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
        return h.hexdigest()

    a = generate(tmp_path / "a", 3, 0.6, "--legacy-partial-frac", "0.5")
    b = generate(tmp_path / "b", 3, 0.6, "--legacy-partial-frac", "0.5")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    a.pop("generator"), b.pop("generator")
    assert a == b
    check(tmp_path / "a", a)  # largest output_tokens wins over streaming partials


def test_medium_corpus(tmp_path: Path) -> None:
    # 8 MiB (was 40 behind CCHOOKS_BENCH_BIG): big enough for many files per project, and always run
    exp = generate(tmp_path / "m", 11, float(os.environ.get("CCHOOKS_BENCH_MB") or 8.0))
    check(tmp_path / "m", exp)


def test_prompts_stay_under_the_context_limit(tmp_path: Path) -> None:
    """A long session on a full context: no prompt (input + cache writes + reads) passes
    CONTEXT_LIMIT, so none reaches the 200k long-context tier that expected.json's cost_of
    does not price (before, the context grew by each response's input once the cached part
    alone was at the limit: the dense 500 MB corpus had 47 prompts of 200,001-216,158)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_corpus", GEN)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    sys.modules["gen_corpus"] = gen
    try:
        spec.loader.exec_module(gen)
        g = gen.Generator(str(tmp_path / "c"), 1.0, 3, "2026-11-22", 2, 0.0, 0.0)
        st = gen.Stream()
        st.cache_mode, st.t, st.last_resp_t, st.out_prev = "1h", 10**12, 10**12, 0
        st.ctx, st.pending = gen.CONTEXT_LIMIT - 10, 0
        biggest = 0
        for _ in range(3_000):
            inp, _out, c5, c1, cr, _ = g.usage_for(st)
            biggest = max(biggest, inp + c5 + c1 + cr)
            st.last_resp_t = st.t  # the next response follows at once: its cache is warm
        assert biggest <= gen.CONTEXT_LIMIT
        assert biggest > gen.CONTEXT_LIMIT - 3_000  # the context really was full
    finally:
        sys.modules.pop("gen_corpus", None)
