"""The pool's figures, kept in a small JSON file next to the local ledger (`<ledger>.team.json`).

The sync writes it (atomically) after every sync; the statusline only reads it, so showing the
team's spend never costs a network connection or a PostgreSQL import on the hot path.
`read_snapshot` is light (os + cchooks.fastjson); `build_snapshot` runs in the syncing process.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cchooks.config.model import Config
    from cchooks.ledger.store import Ledger
    from cchooks.team.settings import TeamSettings

SUFFIX = ".team.json"
ACTIVE_MS = 3_600_000  # a machine seen within the hour counts as active


def snapshot_path(ledger_path: str) -> str:
    return ledger_path + SUFFIX


def read_snapshot(ledger_path: str) -> dict[str, Any] | None:
    """The last snapshot, or None (no team, not synced yet, unreadable)."""
    from cchooks.fastjson import loads

    try:
        with open(snapshot_path(ledger_path), "rb") as fh:
            data = loads(fh.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_snapshot(ledger_path: str, snap: dict[str, Any]) -> None:
    import json

    path = snapshot_path(ledger_path)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(snap, separators=(",", ":")))
        os.replace(tmp, path)
    except BaseException:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def build_snapshot(conn: Any, ledger: Ledger, settings: TeamSettings, config: Config | None) -> dict[str, Any]:
    """Today (local day), the last 5 hours and the last 7 days over every machine, priced here."""
    import time

    from cchooks.api import price_table
    from cchooks.config import load_config
    from cchooks.ledger.derived import ROLLUP_BUCKET_MS
    from cchooks.monitor.data import local_midnight_ms
    from cchooks.reports.build import report_from_sums
    from cchooks.team.queries import machines, team_sums
    from cchooks.timezones import resolve_tz
    from cchooks.totals import SCHEMA_VERSION

    cfg = config if config is not None else load_config()
    prices = price_table(ledger, cfg.price_overrides())
    tz = resolve_tz(cfg.report.timezone)
    now = int(time.time() * 1000)

    def since(start_ms: int) -> dict[str, Any]:
        start = start_ms - start_ms % ROLLUP_BUCKET_MS
        sums = team_sums(conn, "total", tz, start, None, prices.long_context_threshold)
        return report_from_sums("total", sums, prices).totals.to_json()

    hosts = machines(conn)
    return {
        "schema_version": SCHEMA_VERSION,
        "team": settings.target,
        "updated_ms": now,
        "machines": len(hosts),
        "active_machines": sum(1 for h in hosts if now - int(h["last_seen_ms"]) <= ACTIVE_MS),
        "today": since(local_midnight_ms(now, tz)),
        "five_hour": since(now - 5 * 3_600_000),
        "seven_day": since(now - 7 * 86_400_000),
    }
