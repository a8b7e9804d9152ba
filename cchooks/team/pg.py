"""Connecting to the team ledger. The only module that imports psycopg; errors become one-line TeamErrors."""

from __future__ import annotations

from typing import Any

from cchooks.team import TeamError
from cchooks.team.settings import TeamSettings

CONNECT_TIMEOUT_S = 10
SCHEMA = "cchooks"


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise TeamError(
            "the team ledger needs psycopg: pip install 'cchooks[postgres]'"
        ) from None
    return psycopg


def first_line(exc: BaseException) -> str:
    """libpq's message without its DETAIL/HINT lines and doubled spaces."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return " ".join(line.split())


def connect(settings: TeamSettings, *, check_schema: bool = True) -> Any:
    """A psycopg connection (autocommit off). Passwords come from libpq: PGPASSWORD or ~/.pgpass."""
    psycopg = _psycopg()
    kwargs: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "cchooks"}
    if settings.sslmode:
        kwargs["sslmode"] = settings.sslmode
    try:
        conn = psycopg.connect(settings.url, **kwargs)
    except psycopg.Error as exc:
        raise TeamError(f"cannot connect to the team ledger {settings.target}: {first_line(exc)}") from None
    if check_schema:
        try:
            from cchooks.team.schema import check_version

            check_version(conn, settings.target)
        except BaseException:
            conn.close()
            raise
    return conn


def is_retryable(exc: BaseException) -> bool:
    """Deadlock or serialization failure: the transaction can simply run again."""
    return getattr(exc, "sqlstate", None) in ("40P01", "40001")


def is_connection_lost(exc: BaseException) -> bool:
    psycopg = _psycopg()
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
