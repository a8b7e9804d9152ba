"""Prices learned from Claude Code's own `cost_usd` (OTLP `api_request` events).

Each event is one equation in the model's rates (USD per million tokens):

    cost = in*a + out*b + c5*w5 + c1*w1 + cr*r

With Anthropic's multipliers fixed (w5 = 1.25a, w1 = 2a, r = 0.1a) only a (input) and
b (output) are unknown, and two independent events determine them; least squares over
every event of the model gives the best pair and its residual tells whether the
multipliers hold. When they do not (Claude Code 2.1.330 bills claude-opus-5-5 cache reads
at 0.05x input, not 0.1x), richer fits are tried in order, each only when the events
determine it: the cache-read rate free (3 unknowns), then all five rates free. The
simplest fit that reproduces every cost within `EXACT` relative error wins; otherwise the
one with the smallest worst-case error, labelled with that error.

Requests over 200k input-side tokens are left out (1M-context requests bill at other
rates). This module only solves; the ledger stores the fits (`cchooks.ledger.learned`) and
offers them to reports for models the price table does not know.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cchooks.pricing import DEFAULT_LONG_CONTEXT_THRESHOLD, PER_MILLION, Price

LEARNED_SOURCE = "learned from Claude Code cost_usd"
EXACT = 1e-4  # worst relative residual accepted as an exact fit
_RANK_TOL = 1e-9

# One event: (input, output, cache 5m write, cache 1h write, cache read, cost in USD).
Sample = tuple[int, int, int, int, int, float]


@dataclass(frozen=True, slots=True)
class LearnedPrice:
    model: str
    input: float
    output: float
    cache_read: float
    cache_write_5m: float
    cache_write_1h: float
    fit: str  # which rates were solved for: "input,output" | "input,output,cache_read" | "all"
    events: int
    max_rel_error: float

    @property
    def exact(self) -> bool:
        return self.max_rel_error <= EXACT

    def describe(self) -> str:
        quality = "exact" if self.exact else f"approximate, worst error {self.max_rel_error:.2%}"
        return f"{self.events} events, fit {self.fit}, {quality}"

    def price(self, date: str | None = None) -> Price:
        """As a price table entry; `source` is exactly LEARNED_SOURCE (details: `describe()`)."""
        return Price(
            model=self.model,
            input=self.input,
            output=self.output,
            cache_read=self.cache_read,
            cache_write_5m=self.cache_write_5m,
            cache_write_1h=self.cache_write_1h,
            date=date,
            source=LEARNED_SOURCE,
        )


def _lstsq(rows: list[list[float]], y: list[float]) -> list[float] | None:
    """Least squares by Householder QR on scaled columns; None when rank deficient."""
    m = len(rows)
    n = len(rows[0]) if rows else 0
    if n == 0 or m < n:
        return None
    norms = [math.sqrt(math.fsum(r[j] * r[j] for r in rows)) for j in range(n)]
    if any(nrm == 0.0 for nrm in norms):
        return None
    a = [[r[j] / norms[j] for j in range(n)] for r in rows]
    b = list(y)
    for k in range(n):
        col = [a[i][k] for i in range(k, m)]
        alpha = math.sqrt(math.fsum(c * c for c in col))
        if alpha <= _RANK_TOL:
            return None
        if col[0] > 0:
            alpha = -alpha
        v = col
        v[0] -= alpha
        vv = math.fsum(c * c for c in v)
        if vv == 0.0:
            continue
        for j in range(k, n):
            s = math.fsum(v[i - k] * a[i][j] for i in range(k, m)) * 2.0 / vv
            for i in range(k, m):
                a[i][j] -= s * v[i - k]
        s = math.fsum(v[i - k] * b[i] for i in range(k, m)) * 2.0 / vv
        for i in range(k, m):
            b[i] -= s * v[i - k]
    for k in range(n):
        if abs(a[k][k]) <= _RANK_TOL:
            return None
    z = [0.0] * n
    for k in range(n - 1, -1, -1):
        z[k] = (b[k] - math.fsum(a[k][j] * z[j] for j in range(k + 1, n))) / a[k][k]
    return [z[j] / norms[j] for j in range(n)]


def _rates_2(x: list[float]) -> tuple[float, float, float, float, float]:
    a, b = x
    return a, b, 0.1 * a, 1.25 * a, 2.0 * a


def _rates_3(x: list[float]) -> tuple[float, float, float, float, float]:
    a, b, r = x
    return a, b, r, 1.25 * a, 2.0 * a


def _rates_5(x: list[float]) -> tuple[float, float, float, float, float]:
    a, b, w5, w1, r = x
    return a, b, r, w5, w1


_FITS = (
    ("input,output", lambda s: [s[0] + 1.25 * s[2] + 2.0 * s[3] + 0.1 * s[4], float(s[1])], _rates_2),
    (
        "input,output,cache_read",
        lambda s: [s[0] + 1.25 * s[2] + 2.0 * s[3], float(s[1]), float(s[4])],
        _rates_3,
    ),
    ("all", lambda s: [float(s[0]), float(s[1]), float(s[2]), float(s[3]), float(s[4])], _rates_5),
)


def _max_rel_error(samples: Sequence[Sample], rates: tuple[float, float, float, float, float]) -> float:
    a, b, r, w5, w1 = rates
    worst = 0.0
    for inp, out, c5, c1, cr, cost in samples:
        pred = (inp * a + out * b + c5 * w5 + c1 * w1 + cr * r) / PER_MILLION
        worst = max(worst, abs(pred - cost) / max(abs(cost), 1e-12))
    return worst


def _round(x: float) -> float:
    # Rates are quoted in cents per million at most; 1e-6 $/M absorbs float noise.
    return round(x, 6) + 0.0


def fit_rates(model: str, samples: Sequence[Sample]) -> LearnedPrice | None:
    """Solve a model's rates from (tokens…, cost) samples; None when undetermined (< 2 independent)."""
    usable = [
        s for s in samples
        if s[5] > 0 and math.isfinite(s[5]) and s[0] + s[2] + s[3] + s[4] <= DEFAULT_LONG_CONTEXT_THRESHOLD
    ]  # fmt: skip
    best: LearnedPrice | None = None
    for name, columns, to_rates in _FITS:
        rows = [columns(s) for s in usable]
        x = _lstsq(rows, [s[5] * PER_MILLION for s in usable]) if rows else None
        if x is None or any(not math.isfinite(v) or v < 0 for v in x):
            continue
        a, b, r, w5, w1 = (_round(v) for v in to_rates(x))
        err = _max_rel_error(usable, (a, b, r, w5, w1))
        candidate = LearnedPrice(model, a, b, r, w5, w1, fit=name, events=len(usable), max_rel_error=err)
        if best is None or err < best.max_rel_error * 0.5:
            best = candidate
        if err <= EXACT:
            return candidate
    return best


def learned_from_row(row: Sequence[object]) -> tuple[LearnedPrice, str]:
    """A stored fit (as `ledger.learned.learned_price_rows` returns it) and the UTC date it was updated."""
    r = row
    lp = LearnedPrice(
        str(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5]),  # type: ignore[arg-type]
        str(r[6]), int(r[7]), float(r[8]),  # type: ignore[call-overload, arg-type]
    )  # fmt: skip
    date = datetime.fromtimestamp(int(r[9]) / 1000, tz=UTC).date().isoformat()  # type: ignore[call-overload]
    return lp, date


def learned_to_row(f: LearnedPrice, updated_ms: int) -> tuple[object, ...]:
    return (f.model, f.input, f.output, f.cache_read, f.cache_write_5m, f.cache_write_1h, f.fit, f.events,
            f.max_rel_error, updated_ms)  # fmt: skip


def fit_all(samples_by_model: dict[str, list[Sample]]) -> list[LearnedPrice]:
    """A fit per model that its samples determine, by model name."""
    return [f for m, samples in sorted(samples_by_model.items()) if (f := fit_rates(m, samples)) is not None]


def now_ms() -> int:
    return int(time.time() * 1000)
