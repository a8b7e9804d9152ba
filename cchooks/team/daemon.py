"""The continuous sync of the long-running commands (`cchooks watch`, `cchooks serve`).

`team_sync(config, ledger)` is None without a team (and then imports no PostgreSQL library);
`BackgroundSync` runs `TeamSync.run` on a daemon thread until stopped.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.team.sync import TeamSync


def team_sync(config: str | None, ledger_path: str | Path) -> TeamSync | None:
    """A TeamSync when [team] is configured (None otherwise: no PostgreSQL library is imported)."""
    from cchooks.config import load_config
    from cchooks.team.settings import team_settings

    cfg = load_config(config)
    settings = team_settings(cfg)
    if settings is None:
        return None
    from cchooks.ledger import team_queue
    from cchooks.ledger.store import Ledger
    from cchooks.team.sync import TeamSync

    team = TeamSync(settings, str(ledger_path), cfg)
    with Ledger.open(ledger_path) as ledger:
        team.machine_id = team_queue.machine_id(ledger)  # known (and shown) before the first sync
    return team


class BackgroundSync:
    """`with BackgroundSync(team):` syncs every `[team] sync_interval` seconds on a thread."""

    def __init__(self, team: TeamSync) -> None:
        self.team = team
        self._stop = threading.Event()
        self._thread = threading.Thread(target=team.run, args=(self._stop,), name="cchooks-team-sync", daemon=True)

    def start(self) -> BackgroundSync:
        self._thread.start()
        logging.getLogger("cchooks.team").info(
            "syncing to the team ledger %s every %g s", self.team.settings.target, self.team.settings.sync_interval
        )
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def __enter__(self) -> BackgroundSync:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()
