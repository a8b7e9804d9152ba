"""One simulated machine for the team-ledger tests: `python -m tests.team_machine LEDGER LABEL SEED SECONDS`.

Writes responses into its own ledger while syncing to $CCHOOKS_TEAM_URL: its own new responses,
responses every machine sees (a shared pool, each copy more or less complete), replays of what it
already has, and retried batches (pushed, "acknowledgement lost", pushed again). Exits non-zero on
any error; prints its counts as JSON.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

from cchooks.ledger import Ledger, team_queue
from cchooks.records import UsageRecord
from cchooks.team.settings import TeamSettings
from cchooks.team.sync import SyncResult, TeamSync

BASE_MS = 1_790_000_000_000
SHARED_POOL = 3000
MODELS = ("claude-opus-5-5", "claude-sonnet-4-5")


def shared_record(k: int, completeness: int, session: str) -> UsageRecord:
    """The same response on every machine: same key and time, output growing with completeness."""
    big = k % 11 == 0  # some long-context requests (sonnet bills above 200k input at long rates)
    return UsageRecord(
        message_id=f"msg-shared-{k}", request_id=f"req-shared-{k}", session_id=session,
        timestamp_ms=BASE_MS + k * 61_000, model=MODELS[k % 2], input_tokens=150_000 if big else 100 + k % 50,
        output_tokens=10 + k % 90 + completeness * 7, cache_creation_5m_tokens=k % 300,
        cache_read_tokens=60_000 if big else 1000 + k, project=f"/home/someone/projects/p{k % 5}",
    )  # fmt: skip


def settings(label: str, batch: int) -> TeamSettings:
    return TeamSettings(
        url=os.environ["CCHOOKS_TEAM_URL"], sslmode=None, label=label, user=f"user-{label[-1]}",
        hash_project=False, sync_interval=1.0, batch_size=batch, statusline=False,
    )  # fmt: skip


def main(ledger_path: str, label: str, seed: int, seconds: float) -> int:
    rng = random.Random(seed)
    syncer = TeamSync(settings(label, 37), ledger_path)
    end = time.monotonic() + seconds
    own: list[UsageRecord] = []
    n = rounds = retried = 0
    total = SyncResult()
    with Ledger.open(ledger_path) as ledger:
        team_queue.select_target(ledger, syncer.settings.target)
        while time.monotonic() < end:
            batch: list[UsageRecord] = []
            for _ in range(rng.randint(5, 40)):
                roll = rng.random()
                if roll < 0.5 or not own:
                    r = UsageRecord(
                        message_id=f"msg-{label}-{n}", request_id=f"req-{label}-{n}", session_id=f"s-{label}-{n // 50}",
                        timestamp_ms=BASE_MS + rng.randrange(0, 40 * 86_400_000), model=MODELS[n % 2],
                        input_tokens=rng.randrange(1, 5000), output_tokens=rng.randrange(1, 3000),
                        cache_creation_1h_tokens=rng.randrange(0, 900), cache_read_tokens=rng.randrange(0, 90_000),
                        web_search_requests=rng.randrange(0, 2), project=f"/srv/{label}/repo",
                    )  # fmt: skip
                    n += 1
                    own.append(r)
                elif roll < 0.9:
                    k = rng.randrange(SHARED_POOL)
                    r = shared_record(k, rng.randrange(4), f"fork-{label}-{k % 7}")
                else:
                    r = rng.choice(own)  # a replay: the same response written again
                batch.append(r)
            with ledger.write():
                ledger.upsert_records(batch)
            if rounds % 5 == 4:
                # A retried batch: pushed, the acknowledgement lost (the cursor not moved), pushed again.
                claimed = team_queue.claim_batch(ledger, 37)
                if len(claimed):
                    syncer._push(syncer._connection(), claimed, team_queue.machine_id(ledger), total)
                    retried += 1
            r2 = syncer.sync_once(snapshot=False)
            total.pushed += r2.pushed
            total.retries += r2.retries
            rounds += 1
            time.sleep(rng.random() * 0.03)
    while True:
        r2 = syncer.sync_once(snapshot=False)
        total.retries += r2.retries
        if r2.pending == 0:
            break
    syncer.close()
    print(json.dumps({"label": label, "own": n, "rounds": rounds, "retried_batches": retried,
                      "pushed": total.pushed, "deadlock_retries": total.retries}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
