"""Who and where: the team ledger's URL, this machine's label and user, from `[team]` and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.config.model import Config

ENV_URL = "CCHOOKS_TEAM_URL"


@dataclass(frozen=True, slots=True)
class TeamSettings:
    url: str
    sslmode: str | None
    label: str
    user: str
    hash_project: bool
    sync_interval: float
    batch_size: int
    statusline: bool

    @property
    def target(self) -> str:
        """The URL without password or query: safe to print, log and store."""
        return redact(self.url)


def redact(url: str) -> str:
    try:
        p = urlsplit(url)
        host = p.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = (f"{p.username}@" if p.username else "") + host + (f":{p.port}" if p.port else "")
        return urlunsplit((p.scheme, netloc, p.path, "", ""))
    except ValueError:
        return "(unparsable team URL)"


def team_url(cfg: Config) -> str | None:
    return os.environ.get(ENV_URL) or cfg.team.url or None


def team_settings(cfg: Config) -> TeamSettings | None:
    """The team configuration, or None when there is no team (then nothing of cchooks.team runs)."""
    url = team_url(cfg)
    if not url:
        return None
    t = cfg.team
    return TeamSettings(
        url=url,
        sslmode=t.sslmode,
        label=t.machine_label or _hostname(),
        user=t.user or _login(),
        hash_project=t.hash_project,
        sync_interval=t.sync_interval,
        batch_size=t.batch_size,
        statusline=t.statusline,
    )


def _hostname() -> str:
    import socket

    return socket.gethostname() or "unknown"


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without passwd entry)
        return "unknown"
