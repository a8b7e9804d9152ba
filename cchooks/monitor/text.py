"""Plain-text tables for `cchooks limits` and `cchooks report blocks`, readable in 80 columns."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any

from cchooks.monitor import fmt
from cchooks.windows import Block, BurnRate, Projection

MEASURE_LABEL = {"input_output": "input+output", "all": "all tokens", "no_cache_read": "all but cache reads"}
PACE_KEY = {
    "input_output": "tokens_per_minute_input_output",
    "all": "tokens_per_minute",
    "no_cache_read": "tokens_per_minute_no_cache_read",
}
KIND_LABEL = {"five_hour": "5-hour", "week": "Week", "month": "Month"}


def table(
    rows: Sequence[Sequence[str]], right: Sequence[bool], gap: int = 2, max_width: int = 80
) -> list[str]:
    """Aligned columns; cells are cut (with …) when the table would exceed max_width."""
    ncol = max(len(r) for r in rows)
    cells = [list(r) + [""] * (ncol - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(ncol)]
    while sum(widths) + gap * (ncol - 1) > max_width and max(widths) > 4:
        i = widths.index(max(widths))
        widths[i] -= 1
    out = []
    for r in cells:
        parts = []
        for i, c in enumerate(r):
            if len(c) > widths[i]:
                c = c[: widths[i] - 1] + "…"
            parts.append(c.rjust(widths[i]) if right[i] else c.ljust(widths[i]))
        out.append((" " * gap).join(parts).rstrip())
    return out


def _with_source(value: str, src: str | None) -> str:
    return f"{value} ({fmt.source(src)})" if src and value != "—" else value


def _period(e: Mapping[str, Any], tz: tzinfo, now: int) -> str:
    if not e.get("active"):
        return "none active"
    if e["kind"] == "five_hour":
        return f"{fmt.clock(e['start_ms'], tz, now)}–{fmt.clock(e['end_ms'], tz, e['start_ms'])}"
    return f"{fmt.clock(e['start_ms'], tz)[:5]} – {fmt.clock(e['end_ms'], tz)[:5]}"


def limit_at_pace(e: Mapping[str, Any], tz: tzinfo, now: int) -> str:
    ttl = e.get("time_to_limit_ms")
    if ttl is not None:
        if ttl == 0:
            return "reached"
        return f"in {fmt.duration(ttl)} ({fmt.clock(now + ttl, tz, now)})"
    if e.get("token_limit") is None and e.get("cost_limit_usd") is None:
        return "—"
    return "not before reset" if e.get("active") else "—"


def render_limits(summary: Mapping[str, Any], tz: tzinfo, width: int = 80) -> str:
    now = int(summary["now_ms"])
    entries = [summary[k] for k in ("five_hour", "week", "month")]
    measure = entries[0].get("token_measure", "input_output")
    rows: list[list[str]] = [["", *(KIND_LABEL[e["kind"]] for e in entries)]]

    def row(label: str, f: Any) -> None:
        rows.append([label, *(f(e) for e in entries)])

    row("Period", lambda e: _period(e, tz, now))
    row("Period from", lambda e: fmt.source(e.get("window_source")) or "—")
    row(
        "Resets in",
        lambda e: (
            f"{fmt.duration(e['remaining_ms'])} ({fmt.clock(e['reset_at_ms'], tz, now)})"
            if e.get("active")
            else "—"
        ),
    )
    row("Tokens used", lambda e: fmt.tokens(e["used_tokens"]))
    row("Token limit", lambda e: _with_source(fmt.tokens(e.get("token_limit")), e.get("token_limit_source")))
    row("Cost used", lambda e: fmt.money(e["used_cost_usd"], e.get("unpriced_tokens", 0)))
    row("Cost limit", lambda e: _with_source(fmt.money(e.get("cost_limit_usd")), e.get("cost_limit_source")))
    row("Used", lambda e: _with_source(fmt.percent(e.get("percent")), e.get("percent_source")))
    row(
        "Pace",
        lambda e: (
            f"{fmt.tokens(e['burn'][PACE_KEY.get(measure, 'tokens_per_minute')])} tok/min"
            if e.get("burn")
            else "—"
        ),
    )
    row("Cost pace", lambda e: f"{fmt.money(e['burn']['cost_per_hour_usd'])}/h" if e.get("burn") else "—")
    row(
        "Projected",
        lambda e: (
            f"{fmt.tokens(e['projected_tokens'])} {fmt.money(e['projected_cost_usd'])}"
            if e.get("projected_tokens") is not None
            else "—"
        ),
    )
    row("Limit at pace", lambda e: limit_at_pace(e, tz, now))

    head = f"cchooks limits · plan {summary.get('plan')} · {fmt.tz_name(tz)} · {fmt.stamp(now, tz)}"
    out = [head, ""]
    out += table(rows, [False, False, False, False], max_width=width)
    notes = [
        f"Tokens count {MEASURE_LABEL.get(measure, measure)} (what the limits count). Used figures come from"
        " the ledger; pace, projection and time to limit are estimates at the window's pace so far.",
        "Sources: official = Claude Code's rate-limit figures; learned = derived from them and our counts;"
        " est. = heuristic (ccusage-style blocks, 90th percentile of past blocks); config = your config or"
        " a plan preset.",
    ]
    if all(e.get("token_limit") is None and e.get("cost_limit_usd") is None for e in entries):
        notes.append(
            "No limits known yet: set [limits] in the config file, or pass --plan pro|max5|max20 (community"
            " estimates)."
        )
    out.append("")
    for n in notes:
        out += textwrap.wrap(n, width=min(width, 80) - 2)
    return "\n".join(out)


# -- blocks ----------------------------------------------------------------------------------------------
def block_status(b: Block, now: int) -> str:
    if b.is_gap:
        return f"gap {fmt.duration(b.end_ms - b.start_ms)}"
    if b.is_active:  # with the time left
        return f"ACTIVE {fmt.duration(b.end_ms - now)}"
    if b.end_ms > now:
        return "idle"
    return "done"


def render_blocks(
    blocks: Sequence[Block],
    now: int,
    tz: tzinfo,
    burn: BurnRate | None = None,
    projection: Projection | None = None,
    width: int = 80,
) -> str:
    if not blocks:
        return "No 5-hour blocks in the ledger for this range."
    rows: list[list[str]] = [["Start", "End", "Source", "Status", "Resp", "Tokens", "Cost"]]
    extra: dict[int, list[str]] = {}
    for b in blocks:
        if b.is_gap:
            gap_end = fmt.clock(b.end_ms, tz, b.start_ms)
            rows.append([fmt.stamp(b.start_ms, tz), gap_end, "", block_status(b, now), "", "", ""])
            continue
        end = fmt.clock(b.end_ms, tz, b.start_ms)  # time only when on the start's local day
        rows.append(
            [
                fmt.stamp(b.start_ms, tz),
                end,
                fmt.source(b.source),
                block_status(b, now),
                f"{b.responses:,}",
                fmt.tokens(b.totals.total_tokens),
                fmt.money(b.cost_usd, b.unpriced_tokens),
            ]
        )
        if b.is_active:
            lines = []
            if burn is not None:
                lines.append(
                    f"  pace {fmt.tokens(burn.tokens_per_minute)} tok/min, {fmt.money(burn.cost_per_hour)}/h"
                    f" since {fmt.clock(burn.start_ms, tz, now)}"
                )
            if projection is not None:
                lines.append(
                    f"  projected {fmt.tokens(projection.tokens)} tokens, {fmt.money(projection.cost_usd)}"
                    f" by {fmt.clock(b.end_ms, tz, now)} (estimated)"
                )
            if b.models:
                lines.append("  models: " + ", ".join(b.models))
            extra[len(rows) - 1] = lines
    lines_out = table(rows, [False, False, False, False, True, True, True], max_width=width)
    out = [lines_out[0], "─" * min(width, max(len(x) for x in lines_out))]
    for i, line in enumerate(lines_out[1:], start=1):
        out.append(line)
        for x in extra.get(i, []):
            out.append(x[:width])
    real = [b for b in blocks if not b.is_gap]
    total_tokens = sum(b.totals.total_tokens for b in real)
    total_cost = sum(b.cost_usd for b in real)
    unpriced = sum(b.unpriced_tokens for b in real)
    out.append("─" * min(width, max(len(x) for x in lines_out)))
    out.append(
        f"{len(real)} block(s), {fmt.tokens(total_tokens)} tokens, {fmt.money(total_cost, unpriced)}"
        f" · times in {fmt.tz_name(tz)}"
    )
    out += textwrap.wrap(
        "Source: est. = ccusage-style heuristic (first response's hour + 5 h); official = from Claude Code's"
        " own reset time.",
        width=min(width, 80) - 2,
    )
    return "\n".join(out)
