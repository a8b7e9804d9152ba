"""What the hook and statusline benchmarks run on: a year ledger, the real statusline payload, a
transcript that grows by one response per run, and a clean environment for the processes
(`bench_statusline.py`, `bench_hot_ab.py`)."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FIXTURE_CONFIG = REPO / "fixtures" / "claude-code-2.1.330" / "config"
FIXTURE_PAYLOAD = REPO / "fixtures" / "statusline" / "0005-statusline.json"
CAPTURE_HOME = "/tmp/ccwork/home/.claude"

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from _measure import clean_env  # noqa: E402

MODELS = [  # (model, weight)
    ("claude-opus-4-5-20251101", 35),
    ("claude-sonnet-4-5-20250929", 35),
    ("claude-haiku-4-5-20251001", 10),
    ("claude-opus-5-5", 20),
]


# -- fixtures ---------------------------------------------------------------------------------------


def build_year_ledger(
    path: Path, responses: int, sessions: int, days: int, now_ms: int, seed: int = 7
) -> dict[str, Any]:
    from cchooks.ledger.store import Ledger
    from cchooks.records import UsageRecord

    rng = random.Random(seed)
    models = [m for m, w in MODELS for _ in range(w)]
    projects = [f"/home/dev/src/project-{i:02d}" for i in range(20)]
    per_session = max(1, responses // sessions)
    span = days * 86_400_000
    t0 = time.perf_counter()
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with Ledger.open(path) as led:
        batch: list[UsageRecord] = []
        for s in range(sessions):
            sid = f"{rng.getrandbits(128):032x}"
            sid = f"{sid[:8]}-{sid[8:12]}-{sid[12:16]}-{sid[16:20]}-{sid[20:]}"
            project = rng.choice(projects)
            model = rng.choice(models)
            gaps = [rng.randint(5_000, 60_000) for _ in range(per_session)]
            if s == sessions - 1:  # the live session: its last response a minute ago
                t = now_ms - 60_000 - sum(gaps)
            else:
                t = now_ms - span + int(span * s / sessions) + rng.randint(0, 3_600_000)
            for i in range(per_session):
                t += gaps[i]
                sub = rng.random() < 0.2
                batch.append(
                    UsageRecord(
                        message_id=f"msg_{sid}_{i}", request_id=f"req_{sid}_{i}", session_id=sid, timestamp_ms=t,
                        model=model if not sub else "claude-haiku-4-5-20251001",
                        input_tokens=rng.randint(1, 5000), output_tokens=rng.randint(50, 3000),
                        cache_creation_5m_tokens=rng.randint(0, 5000), cache_creation_1h_tokens=rng.randint(0, 2000),
                        cache_read_tokens=rng.randint(10_000, 150_000), service_tier="standard",
                        agent_id=f"a{rng.getrandbits(64):016x}" if sub else None,
                        agent_type="general-purpose" if sub else None, project=project,
                        project_dir=project.replace("/", "-"),
                    )
                )  # fmt: skip
            if len(batch) >= 20_000:
                with led.write():
                    written += led.upsert_records(batch)
                batch = []
        with led.write():
            written += led.upsert_records(batch)
        led.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "responses": written,
        "sessions": sessions,
        "days": days,
        "bytes": path.stat().st_size,
        "build_s": round(time.perf_counter() - t0, 2),
    }


def fixture_payload(claude_dir: Path, rate_limits: bool = False) -> bytes:
    data = json.loads(FIXTURE_PAYLOAD.read_bytes())
    data["transcript_path"] = data["transcript_path"].replace(CAPTURE_HOME, str(claude_dir))
    if rate_limits:
        now = int(time.time())
        data["rate_limits"] = {
            "five_hour": {"used_percentage": 62, "resets_at": now + 2 * 3600 + 13 * 60},
            "seven_day": {"used_percentage": 35, "resets_at": now + 3 * 86400},
        }
    return json.dumps(data).encode()


class Appender:
    """Appends one new assistant response (a real line with fresh ids and timestamp) per call."""

    def __init__(self, transcript: Path, tag: str = "bench") -> None:
        self.transcript = transcript
        self.tag = tag
        self.template = next(
            json.loads(line)
            for line in transcript.read_bytes().splitlines()
            if b'"type":"assistant"' in line and b'"usage"' in line
        )
        self.n = 0

    def __call__(self) -> None:
        self.n += 1
        line = json.loads(json.dumps(self.template))
        line["message"]["id"] = f"msg_{self.tag}_{self.n}"
        line["requestId"] = f"req_{self.tag}_{self.n}"
        line["uuid"] = f"00000000-0000-4000-{8000 + len(self.tag):04d}-{self.n:012d}"
        line["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        with open(self.transcript, "ab") as f:
            f.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")


def run_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """`_measure.clean_env` as the hot paths run: colour on, the caller's TZ, a log dir of their own."""
    env = clean_env(home, None, {"CCHOOKS_LOG_DIR": str(home / "logs"), "TZ": os.environ.get("TZ", "UTC")}, no_color=False)
    env.update(extra or {})
    return env
