"""A sample statusLine payload for `cchooks statusline --preview`.

`SAMPLE_PAYLOAD` is, byte for byte, what the real Claude Code 2.1.330 sent on the fifth
statusline refresh of the fixture scenario `interactive` (fixtures/statusline/0005-statusline.json).
That capture used an API key, so it has no `rate_limits`; `sample_payload()` adds an
illustrative `rate_limits` block (five_hour 62 %, seven_day 35 %, reset times relative to
now) so the preview shows the official-figure segments and their colours too.
"""

from __future__ import annotations

import json
from typing import Any

SAMPLE_PAYLOAD = (
    '{"session_id":"bbe7d8d4-7b54-40f3-a9b2-45f3ad620b22","transcript_path":"/tmp/ccwork/home/.claude'
    '/projects/-tmp-ccwork-proj/bbe7d8d4-7b54-40f3-a9b2-45f3ad620b22.jsonl","cwd":"/tmp/ccwork/proj",'
    '"prompt_id":"c8852d89-4128-4aaa-a6ed-dd9b1cf3ea25","effort":{"level":"medium"},"model":{"id":"cl'
    'aude-opus-5-5","display_name":"Opus 5.5"},"workspace":{"current_dir":"/tmp/ccwork/proj","project'
    '_dir":"/tmp/ccwork/proj","added_dirs":[]},"version":"2.1.330","output_style":{"name":"default"},'
    '"cost":{"total_cost_usd":0.24480600000000002,"total_duration_ms":17496,"total_api_duration_ms":7'
    '78,"total_lines_added":0,"total_lines_removed":0},"context_window":{"total_input_tokens":41135,"'
    'total_output_tokens":125,"context_window_size":1000000,"current_usage":{"input_tokens":6125,"out'
    'put_tokens":125,"cache_creation_input_tokens":1005,"cache_read_input_tokens":34005},"used_percen'
    'tage":4,"remaining_percentage":96},"exceeds_200k_tokens":false,"prompt_cache":{"warm":true,"cach'
    'ing_observed":true,"ttl":"5m","expires_at":1795348251,"requests":4,"misses":3,"expected_rebuilds'
    '":0,"hit_ratio":0.8333552027293006,"cache_write_tokens":10020,"miss_recache_tokens":8015,"last_m'
    'iss_at":1795347950,"last_miss_cause":null,"miss_causes":{},"recache_tokens_if_cold":41135},"fast'
    '_mode":false,"thinking":{"enabled":true}}'
)


def sample_payload(now_s: float, with_rate_limits: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE_PAYLOAD)
    if with_rate_limits:
        data["rate_limits"] = {
            "five_hour": {"used_percentage": 62, "resets_at": int(now_s) + 2 * 3600 + 13 * 60 + 30},
            "seven_day": {"used_percentage": 35, "resets_at": int(now_s) + 3 * 86400 + 4 * 3600 + 30},
        }
    return data
