"""5-hour blocks: ccusage's heuristic, corrected by Claude Code's official reset times where known.

The heuristic (ccusage's `identifySessionBlocks`, re-derived): a block starts at its first record's
timestamp floored to the UTC hour and lasts 5 hours; a record starts a new block when it is 5 hours or more
after the block's start, or 5 hours or more after the previous record (idle). Two deliberate differences from
ccusage, both only at exact boundaries or in gap bookkeeping:

- "5 hours or more" (ccusage: "more than"), so a block is the half-open interval [start, start + 5 h) and
  every record lies inside the block it belongs to;
- a gap block covers [previous block's end, next block's start) (ccusage: [last record + 5 h, next record)),
  so gaps never overlap real blocks. As in ccusage, a gap is only inserted after 5 idle hours.

Evidence beats the heuristic: a `five_hour` RateLimitSnapshot with `resets_at` says that the official window
[resets_at - 5 h, resets_at) exists. Records inside such a window belong to it (`source="official"`);
records elsewhere fall back to the heuristic (`source="estimated"`), with heuristic blocks clipped so that
they never overlap an official window. When snapshots disagree (overlapping windows with different reset
times), the window named by the most recently observed snapshot wins.

Records should come sorted by timestamp (the ledger returns them so); unsorted input is sorted first.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from cchooks.records import RateLimitSnapshot, UsageRecord

from ._common import FIVE_HOURS_MS, HOUR_MS, CostFn, Totals, WindowSource, iso, sorted_records


@dataclass(slots=True)
class OfficialWindow:
    """A window whose existence a rate-limit snapshot vouches for."""

    window: str  # five_hour | seven_day | ...
    start_ms: int  # resets_at - duration
    end_ms: int  # the official resets_at
    observed_ms: int  # the latest snapshot naming this reset time
    used_percentage: float  # as of observed_ms
    snapshots: int = 1  # how many snapshots named this reset time

    def to_dict(self, tz: tzinfo | None = None) -> dict[str, Any]:
        return {
            "window": self.window,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "resets_at": iso(self.end_ms, tz),
            "observed_ms": self.observed_ms,
            "observed": iso(self.observed_ms, tz),
            "used_percentage": self.used_percentage,
            "snapshots": self.snapshots,
        }


def official_windows(
    snapshots: Iterable[RateLimitSnapshot], window: str = "five_hour", duration_ms: int = FIVE_HOURS_MS
) -> list[OfficialWindow]:
    """The official windows of one kind, sorted and non-overlapping.

    Each distinct resets_at names the window [resets_at - duration, resets_at). Windows are applied in the
    order of their latest observation; one that overlaps windows applied before it replaces them, so the
    latest snapshot wins when official reset times move.
    """
    by_reset: dict[int, OfficialWindow] = {}
    for s in snapshots:
        if s.window != window or s.resets_at_ms is None:
            continue
        reset = s.resets_at_ms
        w = by_reset.get(reset)
        if w is None:
            by_reset[reset] = OfficialWindow(
                window, reset - duration_ms, reset, s.observed_ms, s.used_percentage
            )
            continue
        w.snapshots += 1
        if s.observed_ms > w.observed_ms or (
            s.observed_ms == w.observed_ms and s.used_percentage > w.used_percentage
        ):
            w.observed_ms = s.observed_ms
            w.used_percentage = s.used_percentage
    kept: list[OfficialWindow] = []  # sorted by start, non-overlapping
    for w in sorted(by_reset.values(), key=lambda w: (w.observed_ms, w.end_ms)):
        hi = bisect_left(kept, w.end_ms, key=lambda k: k.start_ms)  # kept[:hi] start before w ends
        lo = hi
        while lo > 0 and kept[lo - 1].end_ms > w.start_ms:
            lo -= 1
        kept[lo:hi] = [w]
    return kept


@dataclass(slots=True)
class Block:
    """One 5-hour block (or a gap between blocks)."""

    start_ms: int
    end_ms: int  # start + 5 h, clipped where an official window begins; for a gap, the next block's start
    source: WindowSource  # "official" or "estimated"
    totals: Totals = field(default_factory=Totals)
    is_active: bool = False
    is_gap: bool = False
    official: OfficialWindow | None = None

    @property
    def id(self) -> str:
        stamp = iso(self.start_ms) or ""
        return f"gap-{stamp}" if self.is_gap else stamp

    @property
    def actual_end_ms(self) -> int | None:
        """The last record's timestamp (None for a gap or an official window without local records)."""
        return self.totals.last_ms

    @property
    def first_ms(self) -> int | None:
        return self.totals.first_ms

    @property
    def responses(self) -> int:
        return self.totals.responses

    @property
    def cost_usd(self) -> float:
        return self.totals.cost_usd

    @property
    def unpriced_tokens(self) -> int:
        return self.totals.unpriced_tokens

    @property
    def models(self) -> list[str]:
        return self.totals.models

    def contains(self, t_ms: int) -> bool:
        return self.start_ms <= t_ms < self.end_ms

    def to_dict(self, tz: tzinfo | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "start": iso(self.start_ms, tz),
            "end": iso(self.end_ms, tz),
            "actual_end_ms": self.actual_end_ms,
            "actual_end": iso(self.actual_end_ms, tz),
            "is_active": self.is_active,
            "is_gap": self.is_gap,
            "source": self.source,
            "official": self.official.to_dict(tz) if self.official else None,
            **self.totals.to_json(),
        }


def _official_block(w: OfficialWindow) -> Block:
    return Block(w.start_ms, w.end_ms, "official", official=w)


class BucketSums:
    """The responses of one model and long-context side within one 15-minute bucket of the
    ledger's rollup, priced. Blocks built from these equal blocks built from the responses
    when no official window is involved: a block starts on an hour and lasts a whole number
    of 15-minute steps, and responses within a bucket are never 5 hours apart, so every
    response of a bucket falls in the block its first one does."""

    __slots__ = ("timestamp_ms", "last_ms", "model", "sums", "cost")

    def __init__(self, first_ms: int, last_ms: int, model: str, sums: tuple[int, ...], cost: float | None) -> None:
        self.timestamp_ms = first_ms  # where the heuristic places it: its first response
        self.last_ms = last_ms
        self.model = model
        self.sums = sums  # responses, input, output, cache 5m, cache 1h, cache read, web searches
        self.cost = cost

    def add_to(self, t: Totals) -> None:
        n, inp, out, c5, c1, cr, web = self.sums
        t.add(self.model, n, inp, out, c5, c1, cr, self.cost, web_search_requests=web, first_ms=self.timestamp_ms,
              last_ms=self.last_ms)  # fmt: skip


def session_blocks(
    records: Iterable[UsageRecord | BucketSums],
    now_ms: int,
    cost_of: CostFn,
    snapshots: Iterable[RateLimitSnapshot] = (),
    *,
    duration_ms: int = FIVE_HOURS_MS,
    gaps: bool = True,
) -> list[Block]:
    """All blocks over the records, sorted by start and non-overlapping, gap blocks included (if `gaps`).

    Official windows from `five_hour` snapshots appear as blocks even when no local record falls in them
    (usage from another machine, say): they are evidence that the window existed.
    """
    recs = sorted_records(records)
    official = official_windows(snapshots, "five_hour", duration_ms)
    blocks: list[Block] = []
    cur: Block | None = None  # the block the previous record went into
    oi = 0  # official[oi] is the first official window not yet passed
    for r in recs:
        t = r.timestamp_ms
        while oi < len(official) and official[oi].end_ms <= t:
            w = official[oi]
            if cur is None or cur.official is not w:
                blocks.append(_official_block(w))
            oi += 1
        if oi < len(official) and official[oi].start_ms <= t:
            w = official[oi]
            if cur is None or cur.official is not w:
                cur = _official_block(w)
                blocks.append(cur)
        else:
            last = cur.totals.last_ms if cur is not None else None
            if (
                cur is None
                or last is None
                or cur.source != "estimated"
                or cur is not blocks[-1]
                or t - cur.start_ms >= duration_ms
                or t - last >= duration_ms
            ):
                start = t - t % HOUR_MS
                if blocks:
                    start = max(start, blocks[-1].end_ms)
                end = start + duration_ms
                if oi < len(official):
                    end = min(end, official[oi].start_ms)
                cur = Block(start, end, "estimated")
                blocks.append(cur)
        if isinstance(r, BucketSums):
            r.add_to(cur.totals)
        else:
            cur.totals.add_record(r, cost_of(r))
    for w in official[oi:]:
        if cur is None or cur.official is not w:
            blocks.append(_official_block(w))

    for b in blocks:
        if b.source == "official":
            b.is_active = b.start_ms <= now_ms < b.end_ms
        else:
            last = b.totals.last_ms
            b.is_active = b.start_ms <= now_ms < b.end_ms and last is not None and now_ms - last < duration_ms
    if not gaps:
        return blocks
    out: list[Block] = []
    for b in blocks:
        if out:
            a = out[-1]
            a_last = a.totals.last_ms if a.totals.last_ms is not None else a.start_ms
            b_first = b.totals.first_ms if b.totals.first_ms is not None else b.start_ms
            if b.start_ms > a.end_ms and b_first - a_last >= duration_ms:
                out.append(Block(a.end_ms, b.start_ms, "estimated", is_gap=True))
        out.append(b)
    return out


def active_block(blocks: Sequence[Block]) -> Block | None:
    """The active block (its end is after now and, for estimated blocks, its last record within 5 h)."""
    for b in reversed(blocks):
        if b.is_active:
            return b
    return None


def block_at(blocks: Sequence[Block], t_ms: int) -> Block | None:
    """The block (gaps included) whose [start, end) holds t_ms, if any."""
    i = bisect_left(blocks, t_ms + 1, key=lambda b: b.start_ms) - 1
    if i >= 0 and blocks[i].contains(t_ms):
        return blocks[i]
    return None
