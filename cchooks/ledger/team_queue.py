"""The local side of the team ledger: the offline queue of what PostgreSQL has not heard yet.

The SQLite ledger itself is the queue (cchooks.team.sync pushes from it):
- rows above the sync cursor (`meta.team_cursor`, a rowid of `responses`) are new to the team;
- before a batch is read its top rowid is *claimed* (`meta.team_claim`); from then on the
  persistent triggers of migration 6 queue in `team_outbox` every claimed row that changes,
  disappears, or reappears under a reused rowid, so nothing read for a batch can change unheard;
- after PostgreSQL commits a batch, `mark_pushed` moves the cursor and drops the outbox entries it
  covered. A sync killed in between pushes the same batch again: the team's upsert is idempotent.

Numbers and ids only leave through here: the columns of `TEAM_READ`, no prompts, no paths
(cchooks.team.sync reduces `project` to its name or a hash).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cchooks.ledger.schema import TEAM_COLUMNS, TEAM_TRIGGERS
from cchooks.ledger.store import Ledger

# rkey, ts_ms, then TEAM_COLUMNS in order.
TEAM_READ = ("rkey", "ts_ms", *TEAM_COLUMNS)
_SELECT = ", ".join(f"r.{c}" for c in TEAM_READ)


@dataclass(slots=True)
class OutboxBatch:
    """What one sync transaction pushes: `rows` (TEAM_READ tuples, one per key) and `deleted` keys."""

    rows: list[tuple[object, ...]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cursor_to: int = 0
    outbox_to: int = 0
    more: bool = False  # the batch was cut at its size: call again

    def __len__(self) -> int:
        return len(self.rows) + len(self.deleted)


def _meta_int(ledger: Ledger, key: str) -> int:
    value = ledger.meta_get(key)
    return int(value) if value else 0


def machine_id(ledger: Ledger) -> str:
    """This ledger's stable machine id (generated once, kept in `meta`)."""
    mid = ledger.meta_get("team_machine_id")
    if mid:
        return mid
    import uuid

    with ledger.write():
        mid = ledger.meta_get("team_machine_id")
        if not mid:
            mid = uuid.uuid4().hex
            ledger.meta_set("team_machine_id", mid)
    return mid


def select_target(ledger: Ledger, target: str) -> None:
    """Point the queue at a team ledger (`target`, its URL without password). Another target than
    last time starts over from the first response: the team's upsert makes that safe."""
    if ledger.meta_get("team_target") == target:
        return
    with ledger.write():
        if ledger.meta_get("team_target") != target:
            for key in ("team_cursor", "team_claim"):
                ledger.meta_set(key, "0")
            ledger.conn.execute("DELETE FROM team_outbox")
            ledger.meta_set("team_target", target)


def ensure_triggers(ledger: Ledger) -> None:
    """The team-outbox triggers (schema.TEAM_TRIGGERS), created on the first claim."""
    for sql in TEAM_TRIGGERS:
        ledger.conn.execute(sql)


def claim_batch(ledger: Ledger, limit: int) -> OutboxBatch:
    """The next batch to push (at most `limit` new rows plus `limit` queued changes)."""
    batch = OutboxBatch()
    conn = ledger.conn
    with ledger.write():
        cursor = _meta_int(ledger, "team_cursor")
        hi = conn.execute(
            "SELECT max(rowid), count(*) FROM (SELECT rowid FROM responses WHERE rowid > ? ORDER BY rowid LIMIT ?)",
            (cursor, limit),
        ).fetchone()
        top = int(hi[0]) if hi[0] is not None else cursor
        batch.more = int(hi[1]) >= limit
        if top > _meta_int(ledger, "team_claim"):
            ensure_triggers(ledger)  # in this transaction: no claimed row changes unheard
            ledger.meta_set("team_claim", str(top))
        out = conn.execute(
            "SELECT max(seq), count(*) FROM (SELECT seq FROM team_outbox ORDER BY seq LIMIT ?)", (limit,)
        ).fetchone()
        batch.outbox_to = int(out[0]) if out[0] is not None else 0
        batch.more = batch.more or int(out[1]) >= limit
        batch.cursor_to = top
        batch.rows = conn.execute(
            f"SELECT {_SELECT} FROM responses r WHERE r.rowid > ? AND r.rowid <= ?", (cursor, top)
        ).fetchall()
        if batch.outbox_to:
            seen = {str(r[0]) for r in batch.rows}
            for row in conn.execute(
                f"SELECT o.rkey, {_SELECT} FROM (SELECT DISTINCT rkey FROM team_outbox WHERE seq <= ?) o"
                " LEFT JOIN responses r ON r.rkey = o.rkey",
                (batch.outbox_to,),
            ):
                key = str(row[0])
                if key in seen:
                    continue
                seen.add(key)
                if row[1] is None:
                    batch.deleted.append(key)
                else:
                    batch.rows.append(tuple(row[1:]))
    return batch


def mark_pushed(ledger: Ledger, batch: OutboxBatch) -> None:
    """The team has committed `batch`: move the cursor past it and drop its queued changes."""
    with ledger.write():
        if batch.cursor_to > _meta_int(ledger, "team_cursor"):
            ledger.meta_set("team_cursor", str(batch.cursor_to))
        if batch.outbox_to:
            ledger.conn.execute("DELETE FROM team_outbox WHERE seq <= ?", (batch.outbox_to,))


def pending(ledger: Ledger) -> int:
    """Responses and queued changes the team has not heard yet."""
    cursor = _meta_int(ledger, "team_cursor")
    new = ledger.conn.execute("SELECT count(*) FROM responses WHERE rowid > ?", (cursor,)).fetchone()[0]
    queued = ledger.conn.execute("SELECT count(DISTINCT rkey) FROM team_outbox").fetchone()[0]
    return int(new) + int(queued)
