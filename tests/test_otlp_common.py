"""Shared helpers for the OTLP tests: fixture locations and the ground truth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OTLP_FIXTURES = ROOT / "fixtures" / "otlp"
_CAPTURE_CANDIDATES = (ROOT / "fixtures" / "claude-code-2.1.330",)  # in the repo: no machine paths
SCENARIOS = ("interactive", "p-continue", "p-fork", "p-json", "p-protobuf", "p-resume", "p-slow")

# Sums of claude_code.token.usage per scenario (SUMMARY.md) = the mock's ground truth.
SCENARIO_TOKENS = {
    "interactive": {"input": 31295, "output": 3185, "cacheRead": 192035, "cacheCreation": 11530},
    "p-continue": {"input": 6784, "output": 894, "cacheRead": 33004, "cacheCreation": 1004},
    "p-fork": {"input": 6786, "output": 896, "cacheRead": 33006, "cacheCreation": 1006},
    "p-json": {"input": 23376, "output": 2706, "cacheRead": 152006, "cacheCreation": 11506},
    "p-protobuf": {"input": 23382, "output": 2712, "cacheRead": 152012, "cacheCreation": 11512},
    "p-resume": {"input": 6783, "output": 893, "cacheRead": 33003, "cacheCreation": 1003},
    "p-slow": {"input": 23412, "output": 2742, "cacheRead": 152042, "cacheCreation": 11542},
}
SCENARIO_API_REQUESTS = {"interactive": 7, "p-continue": 1, "p-fork": 1, "p-json": 6, "p-protobuf": 6,
                         "p-resume": 1, "p-slow": 6}  # fmt: skip
SCENARIO_COST = {"interactive": 0.293487, "p-continue": 0.0578368, "p-fork": 0.0578952, "p-json": 0.2441052,
                 "p-protobuf": 0.2442804, "p-resume": 0.0578076, "p-slow": 0.2451564}  # fmt: skip
TOTAL = {"responses": 28, "input": 121818, "output": 14028, "cache_read": 747108, "cache_creation": 49103}
COMPACT_REQUEST_ID = "req_mock_interactive_compact_summary_0"


def capture_dir() -> Path:
    for c in _CAPTURE_CANDIDATES:
        if (c / "config" / "projects").is_dir():
            return c
    raise FileNotFoundError("the claude-code-2.1.330 capture (config/projects) is missing")


def copy_config(tmp: Path) -> Path:
    """A private copy of the captured Claude config dir (transcripts), as the tests must not touch the original."""
    dest = tmp / "claude-config"
    shutil.copytree(capture_dir() / "config", dest)
    return dest


def ground_truth() -> dict[str, object]:
    data: dict[str, object] = json.loads((capture_dir() / "ground-truth.json").read_text())
    return data


def bodies(scenario: str) -> list[tuple[str, str, bytes]]:
    """(signal, encoding, raw body) of every POST of a scenario, in the order Claude Code sent them."""
    folder = OTLP_FIXTURES / scenario
    out = []
    for line in (folder / "index.jsonl").read_text().splitlines():
        entry = json.loads(line)
        signal = entry["path"].rstrip("/").rsplit("/", 1)[-1]
        encoding = "protobuf" if "protobuf" in entry["content_type"] else "json"
        out.append((signal, encoding, (folder / entry["file"]).read_bytes()))
    return out


def all_bodies() -> list[tuple[str, str, str, bytes]]:
    return [(s, sig, enc, raw) for s in SCENARIOS for sig, enc, raw in bodies(s)]
