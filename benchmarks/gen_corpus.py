#!/usr/bin/env python3
# ruff: noqa: UP031  (%-templates on purpose: they are the fast path for writing lines)
"""Deterministic generator of a realistic Claude Code config dir, for benchmarks.

    python benchmarks/gen_corpus.py --out DIR --size-mb 500 --seed 1 [--end 2026-11-22]

Writes::

    DIR/settings.json
    DIR/projects/<encoded cwd>/<session id>.jsonl
    DIR/projects/<encoded cwd>/<session id>/subagents/agent-<id>.jsonl (+ .meta.json)
    DIR/expected.json          exact ground truth, from the generator's own bookkeeping

The line shapes follow the real Claude Code 2.1.330 transcripts in
shared/fixtures/claude-code-2.1.330 (see shared/docs/formats.md): one assistant line per content
block (thinking / text / tool_use), all lines of one API response with the same message.id,
requestId and identical usage (final output_tokens); user lines with big tool results and
``toolUseResult`` objects (old-style synchronous Task results carry a ``usage`` summary that is NOT
a response); attachments, system lines, ``cost-state`` running totals (not responses),
file-history-snapshot, queue-operation, api-request*, ...; a few ``--fork-session`` files that copy
earlier user/assistant lines of another session (same message.id/requestId/usage, new sessionId,
``requestSessionId`` = parent); a few ``<synthetic>`` and ``isApiErrorMessage`` lines (zero usage,
not billed). Lines from before version 2.1 use the older key order and usage layout, and
(older format) carry ``stop_reason: null`` on all but the last block of a response.

Ground truth rule (expected.json): one response per distinct (message.id, requestId) among
assistant lines whose model is not ``<synthetic>`` and that are not ``isApiErrorMessage``; its usage
is the largest output_tokens seen (all lines are identical unless ``--legacy-partial-frac`` > 0);
it is dated by the UTC day of its first line's timestamp (all lines of one response share a UTC
day) and credited to ``requestSessionId`` when present, else ``sessionId``. The /compact summary
call is, as in reality, on no line and so in no total.

"MB" means MiB (2**20 bytes). Sizes are approximate (the last turn of a file overshoots a bit,
fork copies come on top). Output is byte-identical for the same arguments.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import math
import os
import random
import shutil
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_lines import (  # noqa: E402
    A_NEW,
    A_OLD,
    A_SYN,
    ATT,
    COST_MODEL,
    COST_STATE,
    PROMPTS,
    SYS_COMPACT,
    SYS_STOP,
    SYS_TURN,
    TOOL_W,
    TOOLS,
    U_NEW,
    U_OLD,
    U_PROMPT,
    U_TOOL,
    U_ZERO_NEW,
    U_ZERO_OLD,
    UNICODE_BITS,
    WORDS,
    encode_cwd,
    esc,
)
from corpus_truth import PRICES, Totals, cost_of  # noqa: E402

MiB = 1 << 20
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000

SYNTHETIC = "<synthetic>"
CONTEXT_LIMIT = 185_000  # input + cache_creation + cache_read of one response stays below this

# ---------------------------------------------------------------------------------------------


class Stream:
    """One transcript file being written (a main session file or a subagent file)."""

    __slots__ = (
        "f", "bytes", "sid", "credit_sid", "tail", "side", "agent_prefix", "attribution",
        "model", "cache_mode", "ctx", "t", "last_uuid", "version", "new_era", "prompt_id",
        "cwd", "branch", "entry", "record", "lines", "seg_start", "last_resp_t", "out_prev",
        "pending", "agent_type", "n_resp", "last_usage",
    )

    def __init__(self) -> None:
        self.record: list[int] | None = None
        self.lines = 0


class Generator:
    def __init__(self, out: str, size_mb: float, seed: int, end: str, n_projects: int,
                 legacy_partial_frac: float, fork_frac: float, content_scale: float = 1.0) -> None:
        self.out = out
        self.content_scale = content_scale
        self.budget = int(size_mb * MiB)
        self.seed = seed
        self.rng = random.Random(seed)
        self.end_arg = end
        if "T" in end:  # an instant: the last timestamp written is at most this
            e = dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
            if e.tzinfo is None:
                e = e.replace(tzinfo=dt.UTC)
            self.t_limit = int(e.timestamp() * 1000)
        else:  # a day: never write a timestamp after 23:00 UTC of it
            d = dt.date.fromisoformat(end)
            self.t_limit = int(dt.datetime(d.year, d.month, d.day, 23, tzinfo=dt.UTC).timestamp() * 1000)
        self.end_ms = self.t_limit + HOUR_MS
        self.start_ms = self.end_ms - 365 * DAY_MS
        self.n_projects = n_projects
        self.legacy_partial_frac = legacy_partial_frac
        self.fork_frac = fork_frac
        self.day_str: dict[int, str] = {}
        # ground truth
        self.by_day_model: dict[tuple[str, str], list[int]] = {}
        self.by_session: dict[str, list[int]] = {}
        self.by_project: dict[str, list[int]] = {}
        self.trap = {
            "assistant_lines": 0,
            "naive_all_assistant_lines": Totals.new(),
            "fork_copied_assistant_lines": 0,
            "fork_copied_usage_naive": Totals.new(),
            "tool_use_result_usage_objects": 0,
            "tool_use_result_usage_sum": Totals.new(),
            "cost_state_lines": 0,
            "synthetic_lines": 0,
            "api_error_lines": 0,
            "legacy_partial_responses": 0,
            "compactions": 0,
        }
        self._t_created = time.monotonic()
        self.agent_eras: set[str] = set()
        self.files: list[dict[str, Any]] = []
        self.sessions: list[dict[str, Any]] = []
        self._build_pools()

    # -- pools of pre-escaped text -------------------------------------------------------------

    def _build_pools(self) -> None:
        rng = self.rng
        lines: list[str] = []
        idents = [
            "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))) for _ in range(3000)
        ]
        forms = [
            "def {a}({b}, {c}):",
            "    return {a}({b}) + {n}",
            "    {a} = {b}.get(\"{c}\", {n})",
            "class {A}({B}):",
            "        if not {a}:\n            raise ValueError(f\"bad {b}: {{{c}!r}}\")",
            "    # {a} {b} {c} — {u}",
            "import {a}.{b} as {c}",
            "{a}: int = {n}  # {u}",
            "        for {a} in {b}:",
            "            {a}.append({b}[{n}:{m}])",
            "\t{a} := {b}({c}, '{u}')",
            "    \"{a}\": \"{b}\\\\{c}\",",
            "SELECT {a}, sum({b}) FROM {c} WHERE day >= '2026-0{n}-01' GROUP BY {a};",
            "{A}Error: {a} {b} {c} at line {n}",
            "  File \"/home/dev/src/{a}/{b}.py\", line {m}, in {c}",
            "",
            "{a} {b} {c} {u} {a} {b}",
            "const {a} = await {b}.{c}({{ limit: {n} }});",
            "<div class=\"{a}\">{b} &amp; {c}</div>",
        ]
        for _ in range(20000):
            f = rng.choice(forms)
            a, b, c = rng.choice(idents), rng.choice(idents), rng.choice(idents)
            lines.append(f.format(
                a=a, b=b, c=c, A=a.title().replace("_", ""), B=b.title().replace("_", ""),
                n=rng.randint(0, 999), m=rng.randint(1, 5000), u=rng.choice(UNICODE_BITS),
            ))
        escaped = [esc(x) + "\\n" for x in lines]
        seq = rng.choices(range(len(escaped)), k=260_000)
        parts = [escaped[i] for i in seq]
        self.pool = "".join(parts)
        self.bounds = [0, *itertools.accumulate(len(p) for p in parts)]
        self.nb = len(self.bounds)
        b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        self.b64 = "".join(rng.choices(b64, k=1 << 16))
        self.idents = idents

    def chunk(self, n: int) -> str:
        """About n characters of pre-escaped text, cut on line boundaries (always valid JSON)."""
        n = max(1, min(int(n * self.content_scale), self.bounds[-1] - 1))
        i = self.rng.randrange(self.nb - 1)
        start = self.bounds[i]
        if start + n > self.bounds[-1]:
            i, start = 0, 0
        j = bisect.bisect_left(self.bounds, start + n, i + 1)
        return self.pool[start:self.bounds[j]]

    def logn(self, median: float, sigma: float, lo: int, hi: int) -> int:
        v = int(median * math.exp(self.rng.gauss(0.0, sigma)))
        return lo if v < lo else hi if v > hi else v

    # -- ids and time ----------------------------------------------------------------------------

    def uuid(self) -> str:
        h = "%032x" % self.rng.getrandbits(128)
        return "%s-%s-4%s-%x%s-%s" % (h[:8], h[8:12], h[13:16], 8 | (int(h[16], 16) & 3), h[17:20], h[20:32])

    _B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    _B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

    def msg_id(self) -> str:
        return "msg_01" + "".join(self.rng.choices(self._B62, k=22))

    def req_id(self) -> str:
        return "req_011C" + "".join(self.rng.choices(self._B58, k=22))

    def ts(self, ms: int) -> str:
        day, rem = divmod(ms, DAY_MS)
        ds = self.day_str.get(day)
        if ds is None:
            ds = (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
            self.day_str[day] = ds
        h, rem = divmod(rem, HOUR_MS)
        m, rem = divmod(rem, MIN_MS)
        s, msr = divmod(rem, 1000)
        return "%sT%02d:%02d:%02d.%03dZ" % (ds, h, m, s, msr)

    def day_of(self, ms: int) -> str:
        self.ts(ms)
        return self.day_str[ms // DAY_MS]

    def adv(self, st: Stream, ms: int) -> int:
        st.t = min(st.t + ms, self.t_limit)
        return st.t

    def version_at(self, ms: int) -> str:
        # 2.0.50 a year before --end, 2.1.330 at --end
        frac = (ms - self.start_ms) / (self.end_ms - self.start_ms)
        n = int(frac * 480)
        if n < 100:
            return "2.0.%d" % (50 + n // 2)
        return "2.1.%d" % min(330, int((n - 100) * 330 / 380))

    # -- ground truth ------------------------------------------------------------------------------

    def credit(self, day: str, model: str, sid: str, cwd: str, u: tuple[int, int, int, int, int]) -> None:
        for d, k in ((self.by_day_model, (day, model)), (self.by_session, sid), (self.by_project, cwd)):
            v = d.get(k)  # type: ignore[attr-defined]
            if v is None:
                v = d[k] = Totals.new()  # type: ignore[index]
            v[0] += 1
            v[1] += u[0]
            v[2] += u[1]
            v[3] += u[2]
            v[4] += u[3]
            v[5] += u[4]

    @staticmethod
    def add(v: list[int], u: tuple[int, int, int, int, int], n: int = 1) -> None:
        v[0] += n
        v[1] += u[0] * n
        v[2] += u[1] * n
        v[3] += u[2] * n
        v[4] += u[3] * n
        v[5] += u[4] * n

    # -- planning ----------------------------------------------------------------------------------

    def plan(self) -> None:
        rng = self.rng
        budget = self.budget
        # projects, Zipf-ish popularity
        roots = ["/home/dev/src", "/home/dev/work", "/Users/dev/code", "/home/dev/src/github.com/acme"]
        names = [
            "api-server", "web_app", "cchooks", "infra", "data.pipeline", "mobile-client", "docs",
            "ml-experiments", "billing", "auth-service", "cli-tools", "dotfiles", "game-engine",
            "scraper", "monorepo", "blog", "compiler", "etl_jobs", "search", "design-system",
            "payments", "notebook", "analytics", "kernel-mod", "chat-bot",
        ]
        self.projects = []
        for i in range(self.n_projects):
            base = names[i % len(names)] + ("" if i < len(names) else "-%d" % i)
            cwd = "%s/%s" % (roots[i % len(roots)], base)
            if i % 7 == 3:
                cwd += "/packages/core"
            self.projects.append({
                "cwd": cwd,
                "dir": encode_cwd(cwd),
                "branches": ["main", "feat/%s" % rng.choice(WORDS), "fix/%s-%d" % (rng.choice(WORDS), rng.randint(1, 999))],
                "w": 1.0 / (i + 1) ** 1.1,
            })
        pw = [p["w"] for p in self.projects]

        # sizes: a few huge sessions, then a log-normal body
        sizes: list[int] = []
        big_total = 0
        if budget >= 150 * MiB:
            for _ in range(max(1, budget // (160 * MiB))):
                s = rng.randint(50 * MiB, 72 * MiB)
                if big_total + s > budget * 0.45:
                    break
                sizes.append(s)
                big_total += s
        median = min(420_000, max(24_000, budget // 14))
        # subagents of the huge sessions come on top of them (~30%), and files overshoot a little
        rest = int((budget - big_total * 1.3) * 0.9)
        # the "live" session: the one being worked in right now (ends at --end), for statusline runs
        live_size = min(3 * MiB, max(20_000, budget // 10))
        rest -= live_size
        while rest > 0:
            # 12% short sessions (quick questions), the rest log-normal
            s = rng.randint(4_000, 40_000) if rng.random() < 0.12 else self.logn(median, 1.0, 40_000, 6 * MiB)
            s = min(s, max(rest, 4_000))
            sizes.append(s)
            rest -= s

        # day weights: weekdays, growth over the year, vacations, heavy days
        ndays = 365
        start_day = self.start_ms // DAY_MS
        w = []
        vac = {rng.randrange(ndays) for _ in range(3)}
        for d in range(ndays):
            wd = (start_day + d + 3) % 7  # 0 = Monday
            x = (1.0 if wd < 5 else 0.25) * (0.4 + 0.9 * d / ndays)
            if any(v <= d < v + 10 for v in vac):
                x *= 0.05
            if rng.random() < 0.1:
                x *= 3
            w.append(x)
        bursts = [[rng.uniform(13, 23) for _ in range(rng.randint(1, 3))] for _ in range(ndays)]

        self.plans = []
        for s in sizes:
            # rough span: ~9 KB and ~30 s per response, +1 day of pause per 5 h of work
            active = s / 9000 * 30_000
            span = active + (active / (5 * HOUR_MS)) * DAY_MS
            last_ok = max(1, ndays - int(span * 1.6 / DAY_MS) - 1)
            d = rng.choices(range(last_ok), weights=w[:last_ok])[0]
            hour = rng.choice(bursts[d]) + rng.gauss(0, 0.7)
            t0 = (start_day + d) * DAY_MS + int(min(max(hour, 0.0), 23.0) * HOUR_MS)
            t0 = min(t0, self.t_limit - int(span) - HOUR_MS)
            p = rng.choices(self.projects, weights=pw)[0]
            self.plans.append({"size": s, "t0": t0, "project": p, "sid": self.uuid()})
        self.live_sid = self.uuid()
        self.plans.append({"size": live_size, "t0": self.t_limit - 150 * MIN_MS,
                           "project": self.projects[0], "sid": self.live_sid})
        self.plans.sort(key=lambda x: x["t0"])
        n_forks = max(2 if budget >= MiB // 2 else 0, round(len(self.plans) * self.fork_frac))
        cands = [i for i, p in enumerate(self.plans) if 20_000 <= p["size"] <= 3 * MiB and p["sid"] != self.live_sid]
        self.fork_parents = set(rng.sample(cands, min(n_forks, len(cands))))

    def pick_model(self, ms: int) -> str:
        frac = (ms - self.start_ms) / (self.end_ms - self.start_ms)
        models = ["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-opus-4-5-20251101",
                  "claude-haiku-4-5-20251001", "claude-opus-5-5"]
        weights = [
            50,
            12 * max(0.0, 1.0 - 1.6 * frac),
            22 * min(1.0, 0.3 + frac),
            8,
            0 if frac < 0.7 else 30 * (frac - 0.6),
        ]
        return self.rng.choices(models, weights=weights)[0]

    # -- writing -----------------------------------------------------------------------------------

    def open_stream(self, path: str, sid: str, cwd: str, branch: str, model: str, t: int,
                    entry: str, agent_id: str | None = None, agent_type: str = "") -> Stream:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        st = Stream()
        st.f = open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20)  # noqa: SIM115 (closed by the caller)
        st.bytes = 0
        st.sid = sid
        st.cwd = cwd
        st.branch = branch
        st.model = model
        st.t = t
        st.version = self.version_at(t)
        st.new_era = st.version.startswith("2.1.")
        st.entry = entry
        st.tail = ',"userType":"external","entrypoint":"%s","cwd":"%s","sessionId":"%s","version":"%s","gitBranch":"%s"' % (
            entry, cwd, sid, st.version, branch)
        st.side = "true" if agent_id else "false"
        st.agent_prefix = '"agentId":"%s",' % agent_id if agent_id else ""
        st.attribution = '"attributionAgent":"%s",' % agent_type if agent_id else ""
        st.agent_type = agent_type
        st.cache_mode = "1h" if self.rng.random() < 0.2 else "5m"
        st.ctx = 0
        st.last_uuid = None
        st.prompt_id = self.uuid()
        st.seg_start = t
        st.last_resp_t = 0
        st.out_prev = 0
        st.pending = self.rng.randint(14_000, 30_000)  # system prompt, tools, CLAUDE.md
        st.n_resp = 0
        return st

    def emit(self, st: Stream, line: str) -> None:
        st.f.write(line)
        st.bytes += len(line)
        if st.record is not None:
            st.lines += 1

    def usage_for(self, st: Stream) -> tuple[int, int, int, int, int, int]:
        """(input, output, cc5m, cc1h, cache_read, thinking) for the next response of st."""
        rng = self.rng
        added = st.pending + st.out_prev
        st.pending = 0
        ttl = HOUR_MS if st.cache_mode == "1h" else 5 * MIN_MS
        if st.ctx == 0 or st.t - st.last_resp_t > ttl or rng.random() < 0.03:
            cr = rng.randint(0, 12_000) if st.ctx else 0  # a shared system-prompt prefix may still hit
            cc = st.ctx + added - cr
        else:
            cr = st.ctx
            cc = added
        cc = max(0, cc)
        inp = rng.randint(1, 12) if rng.random() < 0.93 else rng.randint(100, 6_000)
        if cr + cc + inp > CONTEXT_LIMIT:
            cc = max(0, CONTEXT_LIMIT - cr - inp - rng.randint(0, 2_000))
            # The cached prefix alone may be over (a large `inp` on a full context): Claude Code
            # compacts there, so less of it is read. Without this the context grew by `inp` each
            # response, past 200k, where long-context rates apply and `cost_of` is wrong. No
            # random draw here, so every other line of a corpus stays as it was.
            cr = min(cr, CONTEXT_LIMIT - inp - cc)
        if st.cache_mode == "1h":
            c1 = cc if rng.random() < 0.85 else cc // 2
        else:
            c1 = 0 if rng.random() < 0.85 else cc // 3
        c5 = cc - c1
        out = self.logn(160, 1.2, 1, 32_000)
        st.ctx = cr + cc + inp
        st.out_prev = out
        return inp, out, c5, c1, cr, 0

    def response(self, st: Stream, tools: list[str], final: bool) -> list[tuple[str, str, str]]:
        """Write one API response (one line per content block). Returns [(tool, tool_use_id, line uuid)]."""
        rng = self.rng
        inp, out, c5, c1, cr, _ = self.usage_for(st)
        model = st.model
        mid, rid = self.msg_id(), self.req_id()
        blocks: list[tuple[str, str, str]] = []  # (kind, json, tool)
        if rng.random() < 0.45:
            blocks.append(("thinking", '{"type":"thinking","thinking":"%s","signature":"%s"}' % (
                self.chunk(self.logn(900, 0.9, 40, 20_000)),
                self.b64[rng.randrange(40_000):][: max(16, int(rng.randint(200, 1200) * self.content_scale))]), ""))
        if final or rng.random() < 0.6:
            blocks.append(("text", '{"type":"text","text":"%s"}' % self.chunk(self.logn(500, 1.0, 10, 12_000)), ""))
        tool_ids = []
        for tool in tools:
            tid = "toolu_01" + "".join(rng.choices(self._B62, k=22))
            tool_ids.append(tid)
            blocks.append(("tool_use", '{"type":"tool_use","id":"%s","name":"%s","input":%s}' % (
                tid, tool, self.tool_input(st, tool)), tool))
        if not blocks:
            blocks.append(("text", '{"type":"text","text":"%s"}' % self.chunk(200), ""))
        stop = "end_turn" if not tools else "tool_use"
        # timestamps: first block after time-to-first-token; keep one response inside one UTC day
        self.adv(st, rng.randint(900, 9_000))
        deltas = [0] + [rng.randint(30, 4_000) for _ in blocks[1:]]
        t0 = st.t
        span = sum(deltas)
        if (t0 + span) // DAY_MS != t0 // DAY_MS:
            t0 = (t0 // DAY_MS + 1) * DAY_MS + 7
            if t0 + span > self.t_limit:
                t0 = (t0 // DAY_MS) * DAY_MS - span - 7
        day = self.day_of(t0)
        credit_sid = st.sid
        u5 = (inp, out, c5, c1, cr)
        partial = (not st.new_era and len(blocks) > 1 and self.legacy_partial_frac > 0
                   and rng.random() < self.legacy_partial_frac)
        if partial:
            self.trap["legacy_partial_responses"] += 1
        req_ref = self.uuid()
        t = t0
        res = []
        tr = self.trap
        n = len(blocks)
        for bi, (kind, bjson, tool) in enumerate(blocks):
            t += deltas[bi]
            line_uuid = self.uuid()
            o = out if (not partial or bi == n - 1) else max(1, out * (bi + 1) // (n + 1))
            parent = '"%s"' % st.last_uuid if st.last_uuid else "null"
            if st.new_era:
                usage = U_NEW % (inp, c5 + c1, cr, o, 0, 0, c1, c5)
                extra = ('"thinkingDurationMs":%d,"thinkingDisplay":"omitted",' % rng.randint(10, 9000)
                         if kind == "thinking" else '"toolInputStreamMs":%d,' % rng.randint(1, 900)
                         if kind == "tool_use" else "")
                line = A_NEW % (parent, st.side, st.agent_prefix, mid, model, bjson, stop, usage, extra,
                                bi, rid, req_ref, model, st.cache_mode, st.attribution, line_uuid,
                                self.ts(t), st.tail)
            else:
                usage = U_OLD % (inp, c5 + c1, cr, c5, c1, o)
                line = A_OLD % (parent, st.side, st.cwd, st.sid, st.version, st.branch, st.agent_prefix,
                                mid, model, bjson, ('"%s"' % stop) if bi == n - 1 else "null", usage,
                                rid, line_uuid, self.ts(t))
            if st.record is not None:
                st.record.append(st.lines)
            self.emit(st, line)
            st.last_uuid = line_uuid
            tr["assistant_lines"] += 1
            self.add(tr["naive_all_assistant_lines"], (inp, o, c5, c1, cr))
            if tool:
                res.append((tool, tool_ids[len(res)], line_uuid))
        st.t = max(st.t, t)
        st.last_resp_t = st.t
        st.n_resp += 1
        st.last_usage = u5
        self.credit(day, model, credit_sid, st.cwd, u5)
        self._cost_add(st, model, u5)
        return res

    def _cost_add(self, st: Stream, model: str, u: tuple[int, int, int, int, int]) -> None:
        cs = getattr(self, "_cost_target", None)
        if cs is None:
            return
        v = cs.setdefault(model, Totals.new())
        self.add(v, u)

    def tool_input(self, st: Stream, tool: str) -> str:
        rng = self.rng
        path = "%s/%s/%s.py" % (st.cwd, rng.choice(self.idents), rng.choice(self.idents))
        if tool == "Read":
            return '{"file_path":"%s"}' % path
        if tool == "Bash":
            return '{"command":"%s","description":"%s"}' % (
                rng.choice(["pytest -x -q", "git status", "ls -la", "npm test", "make build", "rg TODO", "python -m mypy ."]),
                esc(" ".join(rng.choices(WORDS, k=4))))
        if tool == "Edit":
            return '{"file_path":"%s","old_string":"%s","new_string":"%s","replace_all":false}' % (
                path, self.chunk(self.logn(300, 1.0, 10, 6000)), self.chunk(self.logn(400, 1.0, 10, 8000)))
        if tool == "Write":
            return '{"file_path":"%s","content":"%s"}' % (path, self.chunk(self.logn(5000, 1.0, 100, 60_000)))
        if tool in ("Grep", "Glob"):
            return '{"pattern":"%s","path":"%s"}' % (rng.choice(self.idents), st.cwd)
        if tool == "TodoWrite":
            return '{"todos":[%s]}' % ",".join(
                '{"content":"%s","status":"%s","activeForm":"%s"}' % (
                    esc(" ".join(rng.choices(WORDS, k=5))), rng.choice(["pending", "in_progress", "completed"]),
                    esc(" ".join(rng.choices(WORDS, k=4)))) for _ in range(rng.randint(2, 8)))
        if tool == "WebFetch":
            return '{"url":"https://docs.example.com/%s","prompt":"summarize"}' % rng.choice(self.idents)
        return '{"description":"%s","prompt":"%s","subagent_type":"general-purpose"}' % (
            esc(" ".join(rng.choices(WORDS, k=3))), self.chunk(self.logn(600, 0.7, 50, 5000)))

    def tool_result(self, st: Stream, tool: str, tid: str, src_uuid: str, sess: dict[str, Any] | None) -> None:
        """Write the user line answering one tool_use (for Agent also the subagent transcript)."""
        rng = self.rng
        is_err = "false"
        if tool == "Read":
            n = self.logn(2500, 1.1, 100, 250_000)
            c = self.chunk(n)
            content = '"%s"' % c
            tur = '{"type":"text","file":{"filePath":"%s/%s.py","content":"%s","numLines":%d,"startLine":1,"totalLines":%d}}' % (
                st.cwd, rng.choice(self.idents), c, len(c) // 40 + 1, len(c) // 40 + rng.randint(1, 400))
            tok = len(c) // 7
            self.adv(st, rng.randint(5, 200))
        elif tool == "Bash":
            c = self.chunk(self.logn(1200, 1.3, 5, 30_000))
            content = '"%s"' % c
            if rng.random() < 0.05:
                is_err = "true"
            tur = '{"stdout":"%s","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false}' % c
            tok = len(c) // 4
            self.adv(st, self.logn(2500, 1.5, 50, 600_000))
        elif tool == "Edit":
            snip = self.chunk(self.logn(1200, 0.8, 50, 8000))
            content = '"The file %s/x.py has been updated. Here\'s the result of running `cat -n` on a snippet of the edited file:\\n%s"' % (st.cwd, snip)
            tur = ('{"filePath":"%s/x.py","oldString":"%s","newString":"%s","originalFile":"%s",'
                   '"structuredPatch":[{"oldStart":%d,"oldLines":%d,"newStart":%d,"newLines":%d,"lines":["%s"]}],'
                   '"userModified":false,"replaceAll":false}') % (
                st.cwd, self.chunk(200), self.chunk(300), self.chunk(self.logn(4000, 1.0, 200, 200_000)),
                rng.randint(1, 900), rng.randint(1, 30), rng.randint(1, 900), rng.randint(1, 30), self.chunk(400))
            tok = len(snip) // 4
            self.adv(st, rng.randint(20, 3000))
        elif tool == "Write":
            fp = "%s/%s.py" % (st.cwd, rng.choice(self.idents))
            content = '"File created successfully at: %s"' % fp
            tur = '{"type":"create","filePath":"%s","content":"%s","structuredPatch":[]}' % (fp, self.chunk(self.logn(4000, 1.0, 100, 60_000)))
            tok = 20
            self.adv(st, rng.randint(20, 2000))
        elif tool in ("Grep", "Glob"):
            k = int(rng.randint(0, 120) * min(1.0, self.content_scale * 5))
            names = ['"%s/%s/%s.py"' % (st.cwd, rng.choice(self.idents), rng.choice(self.idents)) for _ in range(k)]
            content = '"%s"' % ("Found %d files\\n" % k + "\\n".join(x[1:-1] for x in names))
            tur = '{"mode":"files_with_matches","filenames":[%s],"numFiles":%d}' % (",".join(names), k)
            tok = 12 * k + 5
            self.adv(st, rng.randint(20, 1500))
        elif tool == "TodoWrite":
            content = '"Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress."'
            tur = '{"oldTodos":[],"newTodos":[{"content":"%s","status":"in_progress","activeForm":"%s"}]}' % (
                esc(" ".join(rng.choices(WORDS, k=5))), esc(" ".join(rng.choices(WORDS, k=4))))
            tok = 30
            self.adv(st, rng.randint(5, 100))
        elif tool == "WebFetch":
            c = self.chunk(self.logn(6000, 0.8, 300, 60_000))
            content = '"%s"' % c
            tur = '{"bytes":%d,"code":200,"codeText":"OK","result":"%s","durationMs":%d,"url":"https://docs.example.com/x"}' % (
                len(c) * 3, c, rng.randint(300, 9000))
            tok = len(c) // 4
            self.adv(st, rng.randint(500, 15_000))
        else:  # Agent / Task: a subagent transcript of its own
            content, tur, tok = self.subagent(st, tid, sess)
        line = U_TOOL % (src_uuid, st.side, st.agent_prefix, st.prompt_id, tid, content, is_err, self.uuid_set(st),
                         self.ts(st.t), tur, src_uuid, st.tail)
        if st.record is not None:
            st.record.append(st.lines)
        self.emit(st, line)
        st.pending += min(tok, 25_000)

    def uuid_set(self, st: Stream) -> str:
        u = self.uuid()
        st.last_uuid = u
        return u

    def subagent(self, st: Stream, tid: str, sess: dict[str, Any] | None) -> tuple[str, str, int]:
        rng = self.rng
        if sess is None or st.agent_prefix:  # no nesting in this generator
            c = self.chunk(600)
            return '"%s"' % c, '{"status":"completed","content":[{"type":"text","text":"%s"}]}' % c, 150
        aid = "a" + "%016x" % rng.getrandbits(64)
        atype = rng.choice(["general-purpose", "general-purpose", "Explore", "Plan"])
        model = "claude-haiku-4-5-20251001" if rng.random() < 0.4 else st.model
        base = os.path.join(sess["dir"], st.sid, "subagents")
        path = os.path.join(base, "agent-%s.jsonl" % aid)
        sub = self.open_stream(path, st.sid, st.cwd, st.branch, model, st.t + rng.randint(50, 400),
                               st.entry, agent_id=aid, agent_type=atype)
        sub.version, sub.new_era, sub.tail = st.version, st.new_era, st.tail
        target = min(self.logn(150_000, 0.9, 8_000, 2 * MiB), max(8_000, sess["remaining"] // 3))
        desc = esc(" ".join(rng.choices(WORDS, k=3)))
        u = self.uuid()
        self.emit(sub, U_PROMPT % ("null", "true", sub.agent_prefix, sub.prompt_id, self.chunk(500), u,
                                   self.ts(sub.t), "default", "agent", "agent", sub.tail))
        sub.last_uuid = u
        tool_uses = 0
        while True:
            final = sub.bytes >= target
            tools = [] if final else [rng.choices(TOOLS[:5], weights=TOOL_W[:5])[0]]
            for tool, ttid, src in self.response(sub, tools, final):
                tool_uses += 1
                self.tool_result(sub, tool, ttid, src, None)
            if final:
                break
        sub.f.close()
        self.note_file(path, sub, kind="subagent")
        with open(os.path.join(base, "agent-%s.meta.json" % aid), "w", encoding="utf-8") as mf:
            mf.write(json.dumps({
                "agentType": atype, "isBuiltIn": True, "launchedWithDefaults": True,
                "description": " ".join(rng.choices(WORDS, k=3)), "toolUseId": tid, "spawnDepth": 1,
                "requestShape": "background" if st.new_era else "foreground", "model": model, "finished": True,
            }, separators=(",", ":")))
        if not sess["big"]:  # huge sessions: the main file alone reaches its size
            sess["remaining"] -= sub.bytes
        last_u = sub.last_usage
        if st.new_era:
            self.adv(st, rng.randint(100, 600))
        else:
            st.t = max(st.t, sub.t)
        result_text = self.chunk(self.logn(1500, 0.8, 100, 12_000))
        if st.new_era:  # 2.1.x: async launch, completion arrives later as a task-notification
            content = '[{"type":"text","text":"Async agent launched successfully.\\nagentId: %s (internal ID - do not mention to user.)\\nThe agent is working in the background. You will be notified automatically when it completes."}]' % aid
            tur = '{"isAsync":true,"status":"async_launched","agentId":"%s","description":"%s","resolvedModel":"%s","prompt":"%s","canReadOutputFile":true,"canContinueAgent":true}' % (
                aid, desc, model, self.chunk(300))
            sess["notify"].append((aid, tid, sub.t, result_text, sum(last_u), tool_uses))
            return content, tur, 80
        # older versions: synchronous Task result with a usage summary. NOT a response.
        a_in, a_out, a_c5, a_c1, a_cr = last_u
        self.trap["tool_use_result_usage_objects"] += 1
        self.add(self.trap["tool_use_result_usage_sum"], last_u)
        usage = U_OLD % (a_in, a_c5 + a_c1, a_cr, a_c5, a_c1, a_out)
        content = '[{"type":"text","text":"%s"}]' % result_text
        tur = ('{"status":"completed","prompt":"%s","agentId":"%s","content":[{"type":"text","text":"%s"}],'
               '"totalDurationMs":%d,"totalTokens":%d,"totalToolUseCount":%d,"usage":%s}') % (
            self.chunk(300), aid, result_text, sub.t - sub.seg_start, sum(last_u), tool_uses, usage)
        return content, tur, len(result_text) // 4

    def note_file(self, path: str, st: Stream, kind: str) -> None:
        self.files.append({"path": os.path.relpath(path, self.out), "kind": kind})
        mt = st.t / 1000.0
        self._mtimes.append((path, mt))

    # -- sessions ----------------------------------------------------------------------------------

    def attachment(self, st: Stream) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.3:
            att = '{"type":"todo_reminder","content":[],"itemCount":%d}' % rng.randint(0, 9)
        elif r < 0.5:
            att = '{"type":"nested_memory","path":"%s/CLAUDE.md","content":{"path":"%s/CLAUDE.md","type":"Project","content":"%s"}}' % (
                st.cwd, st.cwd, self.chunk(self.logn(3000, 0.8, 100, 40_000)))
        elif r < 0.7:
            att = '{"type":"edited_text_file","filename":"%s/%s.py","snippet":"%s"}' % (
                st.cwd, rng.choice(self.idents), self.chunk(self.logn(800, 0.8, 50, 10_000)))
        elif r < 0.85:
            att = '{"type":"date","date":"%s"}' % self.day_of(st.t)
        else:
            att = '{"type":"deferred_tools_delta","addedNames":["WebFetch","WebSearch","NotebookEdit"],"addedLines":["WebFetch","WebSearch","NotebookEdit"],"removedNames":[],"wireHiddenNames":[],"readdedNames":[]}'
        u = self.uuid()
        self.emit(st, ATT % (st.last_uuid or u, st.side, st.agent_prefix, att, u, self.ts(st.t), st.tail))
        st.last_uuid = u
        st.pending += 50

    def session_start_lines(self, st: Stream) -> None:
        rng = self.rng
        sid = st.sid
        if st.entry == "cli":
            self.emit(st, '{"type":"mode","mode":"normal","sessionId":"%s"}\n' % sid)
            self.emit(st, '{"type":"permission-mode","permissionMode":"default","sessionId":"%s"}\n' % sid)
        if st.new_era:
            self.emit(st, '{"type":"atis-latch","atis":"","sessionId":"%s"}\n' % sid)
        if st.new_era and rng.random() < 0.7:
            h = "%064x" % rng.getrandbits(256)
            self.emit(st, '{"type":"api-request-shape","sessionId":"%s","shapeHash":"%s","timestamp":"%s","version":"%s","shape":{"system":[{"type":"text","text":"%s"}],"tools":[{"name":"Bash","description":"%s"}]}}\n' % (
                sid, h, self.ts(st.t), st.version, self.chunk(self.logn(30_000, 0.3, 8_000, 90_000)), self.chunk(6000)))
            self.emit(st, '{"type":"api-request-blob","sessionId":"%s","hash":"%064x","message":{"role":"system","content":[{"type":"text","text":"%s"}]}}\n' % (
                sid, rng.getrandbits(256), self.chunk(self.logn(9000, 0.3, 2000, 30_000))))

    def turn(self, st: Stream, sess: dict[str, Any]) -> None:
        rng = self.rng
        sid = st.sid
        interactive = st.entry == "cli"
        # user think time, and sometimes a pause of hours/days then --resume into the same file
        if st.n_resp:
            if st.t - st.seg_start > rng.uniform(2, 6) * HOUR_MS:
                self.adv(st, int(rng.uniform(6, 60) * HOUR_MS))
                st.seg_start = st.t
                if interactive:
                    self.emit(st, '{"type":"mode","mode":"normal","sessionId":"%s"}\n' % sid)
            else:
                self.adv(st, self.logn(90_000, 1.2, 3_000, 40 * MIN_MS))
        st.prompt_id = self.uuid()
        p = rng.choice(PROMPTS)
        prompt = esc(p % rng.choice(self.idents) if "%s" in p else p)
        if rng.random() < 0.35:
            self.emit(st, '{"type":"queue-operation","operation":"enqueue","timestamp":"%s","sessionId":"%s","content":"%s"}\n' % (
                self.ts(st.t), sid, prompt))
            self.emit(st, '{"type":"queue-operation","operation":"dequeue","timestamp":"%s","sessionId":"%s"}\n' % (self.ts(st.t), sid))
        u = self.uuid()
        if interactive:
            self.emit(st, '{"type":"file-history-snapshot","messageId":"%s","snapshot":{"messageId":"%s","trackedFileBackups":{%s},"timestamp":"%s"},"isSnapshotUpdate":false}\n' % (
                u, u, ",".join('"%s/%s.py":{"backupFileName":"%016x@v%d","version":%d,"backupTime":"%s"}' % (
                    st.cwd, rng.choice(self.idents), rng.getrandbits(64), k, k, self.ts(st.t)) for k in range(rng.randint(0, 6))),
                self.ts(st.t)))
        text = prompt
        if rng.random() < 0.06:  # pasted logs / code
            text += "\\n\\n" + self.chunk(self.logn(6000, 1.0, 200, 120_000))
        parent = '"%s"' % st.last_uuid if st.last_uuid else "null"
        if st.record is not None:
            st.record.append(st.lines)
        self.emit(st, U_PROMPT % (parent, "false", "", st.prompt_id, text, u, self.ts(st.t), "default",
                                  "user" if interactive else "sdk", "user" if interactive else "sdk", st.tail))
        st.last_uuid = u
        st.pending += len(text) // 4 + 20
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
            self.attachment(st)
        n_resp = min(80, 1 + int(rng.expovariate(1 / 7)))
        used: list[str] = []
        for r in range(n_resp):
            final = r == n_resp - 1 or st.bytes >= sess["remaining"]
            if rng.random() < 0.004 or not self.trap["api_error_lines"]:
                self.synthetic(st, api_error=True)
                self.adv(st, rng.randint(1000, 30_000))
            if st.new_era and rng.random() < 0.8:
                self.emit(st, '{"type":"api-request","sessionId":"%s","id":"%s","timestamp":"%s","version":"%s","querySource":"repl_main_thread","params":{"model":"%s","max_tokens":32000},"keep":0,"tail":["%064x"]}\n' % (
                    sid, self.uuid(), self.ts(st.t), st.version, st.model, rng.getrandbits(256)))
            tools: list[str] = []
            if not final:
                k = 1 if rng.random() < 0.8 else rng.randint(2, 4)
                tools = rng.choices(TOOLS, weights=TOOL_W, k=k)
                era = "new" if st.new_era else "old"
                if era not in self.agent_eras:  # make sure both kinds of Task/Agent result exist
                    self.agent_eras.add(era)
                    tools[0] = "Agent"
            for tool, tid, src in self.response(st, tools, final):
                used.append(tool)
                self.tool_result(st, tool, tid, src, sess)
            if final:
                break
        if rng.random() < 0.003 or not self.trap["synthetic_lines"]:
            self.synthetic(st, api_error=False)
        # task notifications of background subagents (2.1.x)
        for aid, tid, t_end, result_text, toks, nuse in sess["notify"]:
            st.t = max(st.t, min(t_end, self.t_limit))
            u = self.uuid()
            body = esc("<task-notification>\n<task-id>%s</task-id>\n<tool-use-id>%s</tool-use-id>\n<status>completed</status>\n<summary>Agent finished</summary>\n<result>" % (aid, tid)) + result_text + esc(
                "</result>\n<usage><subagent_tokens>%d</subagent_tokens><tool_uses>%d</tool_uses><duration_ms>%d</duration_ms></usage>\n</task-notification>" % (toks, nuse, rng.randint(1000, 600_000)))
            self.emit(st, U_PROMPT % ('"%s"' % st.last_uuid, "false", "", st.prompt_id, body, u, self.ts(st.t), "default", "system", "task_notification", st.tail))
            st.last_uuid = u
            st.pending += len(result_text) // 4
            self.response(st, [], True)
        sess["notify"].clear()
        # end-of-turn bookkeeping lines
        if rng.random() < 0.5:
            self.emit(st, SYS_STOP % (st.last_uuid, "python3 ~/.claude/hooks/stop.py", rng.randint(20, 400),
                                      self.ts(st.t), self.uuid(), self.uuid(), st.tail))
        if interactive and st.new_era:
            self.emit(st, SYS_TURN % (st.last_uuid, rng.randint(2000, 900_000), rng.randint(3, 400),
                                      self.ts(st.t), self.uuid(), st.tail))
        if st.new_era:
            self.emit(st, '{"type":"last-prompt","lastPrompt":"%s","leafUuid":"%s","sessionId":"%s"}\n' % (
                prompt, st.last_uuid, sid))
            if used:
                self.emit(st, '{"type":"tools-used","tools":[%s],"sessionId":"%s"}\n' % (
                    ",".join('"%s"' % x for x in sorted(set(used))), sid))
            self.cost_state(st, sess)
        # compaction when the context got big: the summary call's usage is on no line
        if st.ctx > 150_000 or (st.ctx > 100_000 and rng.random() < 0.15):
            self.trap["compactions"] += 1
            u = self.uuid()
            pre = st.ctx
            self.adv(st, rng.randint(5_000, 60_000))
            self.emit(st, SYS_COMPACT % (st.last_uuid, "auto" if pre > 150_000 else "manual", pre,
                                         rng.randint(2000, 9000), rng.randint(5000, 60000), u, self.ts(st.t), st.tail))
            st.last_uuid = u
            u2 = self.uuid()
            summ = "This session is being continued from a previous conversation that ran out of context. The summary below covers the earlier portion of the conversation.\\n\\nSummary:\\n" + self.chunk(self.logn(5000, 0.5, 800, 30_000))
            self.emit(st, U_PROMPT % ('"%s"' % u, "false", "", st.prompt_id, summ, u2, self.ts(st.t), "default",
                                      "system", "compact", st.tail))
            st.last_uuid = u2
            st.ctx = 0
            st.pending = rng.randint(9_000, 22_000) + len(summ) // 4

    def synthetic(self, st: Stream, api_error: bool) -> None:
        u = self.uuid()
        if api_error:
            text = self.rng.choice(["API Error: 529 {\\\"type\\\":\\\"error\\\",\\\"error\\\":{\\\"type\\\":\\\"overloaded_error\\\",\\\"message\\\":\\\"Overloaded\\\"}}",
                                    "API Error: Request was aborted.", "API Error: Connection error."])
            extra = ',"isApiErrorMessage":true'
            self.trap["api_error_lines"] += 1
        else:
            text = "No response requested."
            extra = ""
            self.trap["synthetic_lines"] += 1
        usage = U_ZERO_NEW if st.new_era else U_ZERO_OLD
        self.emit(st, A_SYN % (st.last_uuid or u, st.side, st.agent_prefix, self.uuid(), usage, text, u,
                               self.ts(st.t), extra, st.tail))
        st.last_uuid = u
        self.trap["assistant_lines"] += 1

    def cost_state(self, st: Stream, sess: dict[str, Any]) -> None:
        self.trap["cost_state_lines"] += 1
        cs = sess["cost"]
        parts = []
        total = 0.0
        for m in sorted(cs):
            v = cs[m]
            c = cost_of(m, v)
            total += c
            parts.append(COST_MODEL % (m, v[1], v[2], v[5], v[3] + v[4], v[3], v[4], c))
        self.emit(st, COST_STATE % (st.sid, total, sess["api_ms"], sess["api_ms"], sess["api_ms"] // 7, 0, 0,
                                    st.t - sess["t_start"], sess["t_start"], ",".join(parts)))

    def run_session(self, plan: dict[str, Any], record: bool, fork_of: dict[str, Any] | None = None) -> dict[str, Any]:
        rng = self.rng
        proj = plan["project"]
        sid = plan["sid"]
        d = os.path.join(self.out, "projects", proj["dir"])
        path = os.path.join(d, sid + ".jsonl")
        model = fork_of["model"] if fork_of else self.pick_model(plan["t0"])
        entry = "cli" if rng.random() < 0.85 else "sdk-cli"
        st = self.open_stream(path, sid, proj["cwd"], rng.choice(proj["branches"]), model, plan["t0"], entry)
        sess: dict[str, Any] = {
            "dir": d, "remaining": plan["size"], "big": plan["size"] >= 40 * MiB, "notify": [], "cost": {}, "api_ms": 0, "t_start": plan["t0"],
        }
        if fork_of:
            sess["cost"] = {m: v[:] for m, v in fork_of["cost"].items()}  # inherited from the parent
            self.copy_fork_lines(st, fork_of)
        if record:
            st.record = []
        self.session_start_lines(st)
        self._cost_target = sess["cost"]
        while True:
            self.turn(st, sess)
            self._cost_target = sess["cost"]
            sess["api_ms"] += rng.randint(2000, 60_000)
            if st.bytes >= sess["remaining"]:
                break
        st.f.close()
        self._cost_target = None
        self.note_file(path, st, kind="fork" if fork_of else "session")
        if sid == getattr(self, "live_sid", None):
            self.live_info = {"session_id": sid, "transcript_path": os.path.relpath(path, self.out),
                              "cwd": proj["cwd"], "model": model, "last_timestamp": self.ts(st.t)}
        info = {"sid": sid, "path": path, "model": model, "cost": sess["cost"], "record": st.record,
                "t_end": st.t, "cwd": proj["cwd"], "project": proj, "ctx": st.ctx}
        self.sessions.append({"session_id": sid, "project": proj["cwd"], "file": os.path.relpath(path, self.out),
                              "fork_of": fork_of["sid"] if fork_of else None, "bytes": st.bytes})
        return info

    def copy_fork_lines(self, st: Stream, parent: dict[str, Any]) -> None:
        """--fork-session: copy the parent's first user/assistant lines verbatim, new sessionId,
        requestSessionId=<parent> on the assistant lines."""
        rng = self.rng
        rec = parent["record"]
        want = set(rec[: max(1, int(len(rec) * rng.uniform(0.3, 1.0)))])
        psid = parent["sid"]
        old, new = '"sessionId":"%s"' % psid, '"sessionId":"%s"' % st.sid
        rs = ',"requestSessionId":"%s"}\n' % psid
        last_t = st.t
        with open(parent["path"], encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i not in want:
                    continue
                is_asst = '"type":"assistant","uuid"' in line
                line = line.replace(old, new)
                if is_asst:
                    line = line[:-2] + rs
                    self.trap["fork_copied_assistant_lines"] += 1
                    d = json.loads(line)
                    us = d["message"]["usage"]
                    cc = us.get("cache_creation") or {}
                    self.add(self.trap["fork_copied_usage_naive"], (
                        us["input_tokens"], us["output_tokens"], cc.get("ephemeral_5m_input_tokens", 0),
                        cc.get("ephemeral_1h_input_tokens", 0), us["cache_read_input_tokens"]))
                    self.add(self.trap["naive_all_assistant_lines"], (
                        us["input_tokens"], us["output_tokens"], cc.get("ephemeral_5m_input_tokens", 0),
                        cc.get("ephemeral_1h_input_tokens", 0), us["cache_read_input_tokens"]))
                    self.trap["assistant_lines"] += 1
                    st.last_uuid = d["uuid"]
                self.emit(st, line)
        st.t = last_t
        st.ctx = parent["ctx"]
        st.last_resp_t = 0  # cache is cold when the fork starts

    # -- main --------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        t_start = self._t_created
        self._mtimes: list[tuple[str, float]] = []
        self._cost_target = None
        with open(os.path.join(self.out, "settings.json"), "w", encoding="utf-8") as f:
            f.write('{"cleanupPeriodDays": 400}\n')
        self.plan()
        forks = []
        for i, p in enumerate(self.plans):
            info = self.run_session(p, record=i in self.fork_parents)
            if i in self.fork_parents:
                t0 = min(info["t_end"] + int(self.rng.uniform(0.2, 72) * HOUR_MS), self.t_limit - 6 * HOUR_MS)
                t0 = max(t0, info["t_end"])
                fp = {"size": self.logn(60_000, 0.8, 10_000, 400_000), "t0": t0, "project": info["project"],
                      "sid": self.uuid()}
                finfo = self.run_session(fp, record=False, fork_of=info)
                forks.append({"fork": finfo["sid"], "parent": info["sid"]})
        for path, mt in self._mtimes:
            os.utime(path, (mt, mt))
        return self.expected(forks, time.monotonic() - t_start)

    def expected(self, forks: list[dict[str, str]], secs: float) -> dict[str, Any]:
        by_day: dict[str, list[int]] = {}
        by_model: dict[str, list[int]] = {}
        day_models: dict[str, dict[str, list[int]]] = {}
        for (day, model), v in sorted(self.by_day_model.items()):
            for d, k in ((by_day, day), (by_model, model)):
                acc = d.setdefault(k, Totals.new())
                for i in range(6):
                    acc[i] += v[i]
            day_models.setdefault(day, {})[model] = v
        overall = Totals.new()
        for v in by_model.values():
            for i in range(6):
                overall[i] += v[i]
        total_bytes = 0
        n_files = {"session": 0, "subagent": 0, "fork": 0}
        sizes = []
        for f in self.files:
            sz = os.path.getsize(os.path.join(self.out, f["path"]))
            total_bytes += sz
            n_files[f["kind"]] += 1
            sizes.append(sz)
        sizes.sort()
        tr = dict(self.trap)
        for k in ("naive_all_assistant_lines", "fork_copied_usage_naive", "tool_use_result_usage_sum"):
            tr[k] = Totals.to_dict(tr[k])
        return {
            "generator": {
                "script": "benchmarks/gen_corpus.py", "seed": self.seed, "size_mb": self.budget / MiB, "content_scale": self.content_scale,
                "end": self.end_arg, "last_timestamp_limit": self.ts(self.t_limit),
                "range_start": self.day_of(self.start_ms),
                "legacy_partial_frac": self.legacy_partial_frac, "seconds": round(secs, 2),
            },
            "rules": ("one response per distinct (message.id, requestId) among assistant lines whose model is not "
                      "<synthetic> and without isApiErrorMessage; usage = the line with the largest output_tokens; "
                      "day = UTC date of the response's first line; session = requestSessionId if present else "
                      "sessionId; cost from the PRICES table in gen_corpus.py"),
            "corpus": {
                "bytes": total_bytes, "files": len(self.files), "session_files": n_files["session"],
                "subagent_files": n_files["subagent"], "fork_files": n_files["fork"],
                "projects": len({s["project"] for s in self.sessions}),
                "largest_file_bytes": sizes[-5:][::-1], "median_file_bytes": sizes[len(sizes) // 2] if sizes else 0,
                "files_over_50MB": sum(1 for s in sizes if s >= 50 * MiB),
                "first_day": min(by_day) if by_day else None, "last_day": max(by_day) if by_day else None,
                "active_days": len(by_day),
            },
            "totals": Totals.to_dict(overall, by_model),
            "by_model": {m: Totals.to_dict(v, {m: v}) for m, v in sorted(by_model.items())},
            "by_day": {d: Totals.to_dict(v, day_models[d]) for d, v in sorted(by_day.items())},
            "by_day_model": {d: {m: Totals.to_dict(v, {m: v}) for m, v in sorted(ms.items())}
                             for d, ms in sorted(day_models.items())},
            "by_project": {p: Totals.to_dict(v) for p, v in sorted(self.by_project.items())},
            "by_session": {s: Totals.to_dict(v) for s, v in sorted(self.by_session.items())},
            "forks": forks,
            "live_session": self.live_info,
            "traps": tr,
            "prices_per_mtok": {m: dict(zip(("input", "output", "cache_read", "cache_write_5m", "cache_write_1h"), p, strict=True))
                                for m, p in PRICES.items()},
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="config dir to create (gets projects/ and expected.json)")
    ap.add_argument("--size-mb", type=float, default=100.0, help="total transcript size in MiB (approximate)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", default="2026-11-22",
                    help="end of the 12-month range: a UTC day (YYYY-MM-DD; timestamps stop at 23:00) or an "
                         "instant (YYYY-MM-DDTHH:MM:SSZ, e.g. now, so that 'today' and the current 5-hour block "
                         "hold data); the live session ends there")
    ap.add_argument("--projects", type=int, default=20)
    ap.add_argument("--fork-frac", type=float, default=0.01, help="share of sessions that get a --fork-session copy")
    ap.add_argument("--legacy-partial-frac", type=float, default=0.0,
                    help="share of pre-2.1 multi-block responses whose earlier lines carry a smaller "
                         "(streaming partial) output_tokens; ground truth keeps the largest")
    ap.add_argument("--density", choices=("sparse", "dense"), default="sparse",
                    help="sparse: today's mix of large tool results (~70 responses per MiB); dense: compact "
                         "lines, text contents cut to a twentieth (~200 responses per MiB)")
    ap.add_argument("--content-scale", type=float, default=None,
                    help="scale every text content by this factor (overrides --density)")
    ap.add_argument("--force", action="store_true", help="replace an existing corpus in --out")
    a = ap.parse_args(argv)
    scale = a.content_scale if a.content_scale is not None else (0.05 if a.density == "dense" else 1.0)
    out = os.path.abspath(a.out)
    if os.path.exists(os.path.join(out, "projects")) or os.path.exists(os.path.join(out, "expected.json")):
        if not a.force:
            print("%s already holds a corpus; pass --force to replace it" % out, file=sys.stderr)
            return 2
        shutil.rmtree(os.path.join(out, "projects"), ignore_errors=True)
        for name in ("expected.json", "settings.json"):
            if os.path.exists(os.path.join(out, name)):
                os.remove(os.path.join(out, name))
    os.makedirs(out, exist_ok=True)
    g = Generator(out, a.size_mb, a.seed, a.end, a.projects, a.legacy_partial_frac, a.fork_frac, scale)
    exp = g.run()
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(exp, f, indent=1, sort_keys=False)
        f.write("\n")
    c, t = exp["corpus"], exp["totals"]
    print("wrote %s: %.1f MiB in %d files (%d sessions, %d subagents, %d forks), %d responses (%.0f per MiB), %s..%s, %.1fs" % (
        out, c["bytes"] / MiB, c["files"], c["session_files"], c["subagent_files"], c["fork_files"],
        t["responses"], t["responses"] / max(c["bytes"] / MiB, 1e-9), c["first_day"], c["last_day"], exp["generator"]["seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
