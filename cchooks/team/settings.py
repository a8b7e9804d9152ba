"""Who and where: the team ledger's URL, this machine's label and user, from `[team]` and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
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


def _section(cfg: Config | Mapping[str, Any]) -> Mapping[str, Any]:
    # The validated Config, or its plain form from load_config_hot (no pydantic on the report path).
    return cfg["team"] if isinstance(cfg, Mapping) else cfg.team.model_dump()


def team_url(cfg: Config | Mapping[str, Any]) -> str | None:
    return os.environ.get(ENV_URL) or _section(cfg).get("url") or None


def team_settings(cfg: Config | Mapping[str, Any]) -> TeamSettings | None:
    """The team configuration, or None when there is no team (then nothing of cchooks.team runs).
    `cfg` is a Config or the plain dict of `load_config_hot`."""
    url = team_url(cfg)
    if not url:
        return None
    t = _section(cfg)
    return TeamSettings(
        url=url,
        sslmode=t.get("sslmode"),
        label=t.get("machine_label") or _hostname(),
        user=t.get("user") or _login(),
        hash_project=bool(t.get("hash_project")),
        sync_interval=float(t.get("sync_interval") or 30.0),
        batch_size=int(t.get("batch_size") or 100_000),
        statusline=bool(t.get("statusline", True)),
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
