"""Types and checked readers shared by the usage-file parsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from cchooks.records import SlotRecord
from cchooks.totals import Totals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The largest token count (or request count) a file may state: far above any real usage, and
# low enough that sums over millions of entries stay inside SQLite's 64-bit integers.
MAX_COUNT = 10**15


class FormatError(ValueError):
    """A file that is not what its format says; the message is one line saying what is wrong."""


class ImportedEntry(SlotRecord):
    """Usage one file states for one period, session, agent or model.

    `usage` holds the token kinds the file names (`responses` = requests, when it counts them);
    `unsplit_tokens` is what the file counts without saying of which kind. Cache writes without a
    5-minute / 1-hour split are 5-minute writes (the API's default TTL).
    """

    __slots__ = (
        "key", "scope", "label", "start_ms", "end_ms", "session_id", "agent_type", "model", "usage",
        "unsplit_tokens", "stated_total", "stated_cost_usd", "note", "detail", "path_scoped",
    )  # fmt: skip

    def __init__(
        self,
        key: str,
        scope: str,
        label: str,
        usage: Totals,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        session_id: str | None = None,
        agent_type: str | None = None,
        model: str | None = None,
        unsplit_tokens: int = 0,
        stated_total: int | None = None,
        stated_cost_usd: float | None = None,
        note: str | None = None,
        detail: bool = False,
        path_scoped: bool = False,
    ) -> None:
        self.key = key  # unique within the format (within the file when path_scoped)
        self.scope = scope  # day | week | month | session | window | entry | lifetime | snapshot
        self.label = label  # the date, month, session id, agent or server name the file uses
        self.start_ms = start_ms  # the period the figures cover, [start, end); None = not stated
        self.end_ms = end_ms
        self.session_id = session_id
        self.agent_type = agent_type
        self.model = model
        self.usage = usage
        self.unsplit_tokens = unsplit_tokens
        self.stated_total = stated_total
        self.stated_cost_usd = stated_cost_usd
        self.note = note
        self.detail = detail  # a breakdown of another entry of the same file (not in file totals)
        self.path_scoped = path_scoped  # figures of this file only (a re-import of it replaces them)

    @property
    def tokens(self) -> int:
        return self.usage.total_tokens + self.unsplit_tokens


class FoundLimits(SlotRecord):
    """Token limits a file states, in `[limits]` terms (`token_measure`: what they count)."""

    __slots__ = ("five_hour_tokens", "weekly_tokens", "monthly_tokens", "token_measure", "plan", "notes")

    def __init__(
        self,
        five_hour_tokens: int | None = None,
        weekly_tokens: int | None = None,
        monthly_tokens: int | None = None,
        token_measure: str = "input_output",
        plan: str | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.five_hour_tokens = five_hour_tokens
        self.weekly_tokens = weekly_tokens
        self.monthly_tokens = monthly_tokens
        self.token_measure = token_measure
        self.plan = plan  # the file's own plan name, for the message
        self.notes: list[str] = notes or []

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.five_hour_tokens, self.weekly_tokens, self.monthly_tokens))


class ParsedFile(SlotRecord):
    __slots__ = ("format", "version", "entries", "limits")

    def __init__(
        self, entries: list[ImportedEntry], limits: FoundLimits | None = None, version: str | None = None
    ) -> None:
        self.format = ""
        self.version = version
        self.entries = entries
        self.limits = limits


# -- checked readers ----------------------------------------------------------------------------


def count(value: object, where: str, *, default: int | None = 0) -> int:
    """A token or request count: a whole number from 0 to MAX_COUNT (absent/null -> `default`)."""
    if value is None:
        if default is None:
            raise FormatError(f"{where}: missing")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(f"{where}: expected a number of tokens, got {_show(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise FormatError(f"{where}: expected a whole number of tokens, got {value!r}")
        value = int(value)
    if value < 0:
        raise FormatError(f"{where}: a token count cannot be negative ({value})")
    if value > MAX_COUNT:
        raise FormatError(f"{where}: {value} is not a plausible token count (over {MAX_COUNT:.0e})")
    return int(value)


def money(value: object, where: str) -> float | None:
    """A dollar figure the file states (None when absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e12:
        raise FormatError(f"{where}: expected a dollar amount, got {_show(value)}")
    return float(value)


def text(value: object, where: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise FormatError(f"{where}: missing")
        return None
    if not isinstance(value, str):
        raise FormatError(f"{where}: expected text, got {_show(value)}")
    return value


def obj(value: object, where: str, *, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise FormatError(f"{where}: expected an object, got {_show(value)}")
    return value


def array(value: object, where: str, *, required: bool = False) -> list[Any]:
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise FormatError(f"{where}: expected a list, got {_show(value)}")
    return value


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    s = repr(value)
    return s if len(s) <= 40 else s[:37] + "..."


# -- times ---------------------------------------------------------------------------------------

_MAX_EPOCH_S = 32503680000  # year 3000


def timestamp_ms(value: object, where: str, tz: tzinfo) -> int | None:
    """ISO 8601 (a stamp without a zone is in `tz`) or Unix seconds / milliseconds -> epoch ms."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FormatError(f"{where}: expected a time, got {value!r}")
    if isinstance(value, int | float):
        if value != value or not 0 <= value < _MAX_EPOCH_S * 1000:
            raise FormatError(f"{where}: {value!r} is not a time")
        return int(value * 1000) if value < _MAX_EPOCH_S else int(value)
    if not isinstance(value, str):
        raise FormatError(f"{where}: expected a time, got {_show(value)}")
    s = value.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise FormatError(f"{where}: {_show(value)} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    try:
        return int(dt.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        raise FormatError(f"{where}: {_show(value)} is out of range") from None


def _local_midnight_ms(y: int, m: int, d: int, tz: tzinfo) -> int:
    return int(datetime(y, m, d, tzinfo=tz).astimezone(UTC).timestamp() * 1000)


def day_period(label: object, where: str, tz: tzinfo, days: int = 1) -> tuple[int, int]:
    """[start, end) of the local day `YYYY-MM-DD` (or `days` days from it) in `tz`."""
    if not isinstance(label, str):
        raise FormatError(f"{where}: expected a date YYYY-MM-DD, got {_show(label)}")
    try:
        d = datetime.strptime(label.strip()[:10], "%Y-%m-%d")
    except ValueError:
        raise FormatError(f"{where}: {_show(label)} is not a date YYYY-MM-DD") from None
    e = d + timedelta(days=days)
    return _local_midnight_ms(d.year, d.month, d.day, tz), _local_midnight_ms(e.year, e.month, e.day, tz)


def month_period(label: object, where: str, tz: tzinfo) -> tuple[int, int]:
    """[start, end) of the local month `YYYY-MM` in `tz`."""
    if not isinstance(label, str):
        raise FormatError(f"{where}: expected a month YYYY-MM, got {_show(label)}")
    try:
        d = datetime.strptime(label.strip()[:7], "%Y-%m")
    except ValueError:
        raise FormatError(f"{where}: {_show(label)} is not a month YYYY-MM") from None
    y, m = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return _local_midnight_ms(d.year, d.month, 1, tz), _local_midnight_ms(y, m, 1, tz)


def day_of(ms: int, tz: tzinfo) -> tuple[int, int]:
    """The local day holding the moment `ms`: the period of a figure stated for one moment."""
    d = datetime.fromtimestamp(ms / 1000, tz)
    return day_period(d.strftime("%Y-%m-%d"), "time", tz)


def tokens(
    requests: int = 0, inp: int = 0, out: int = 0, c5: int = 0, c1: int = 0, cr: int = 0, web: int = 0,
    model: str | None = None,
) -> Totals:  # fmt: skip
    """Unpriced Totals of an entry (priced at query time by PriceTable.cost)."""
    return Totals(requests, inp, out, c5, c1, cr, web, models=[model] if model else [])


def rest(total: int | None, known: int, where: str) -> int:
    """Tokens a stated total has beyond the kinds named (0 when it states none)."""
    if total is None:
        return 0
    if total < known:
        # A total below its parts: the parts are what we know; say nothing more.
        return 0
    return total - known
