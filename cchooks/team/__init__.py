"""The team ledger: one PostgreSQL database that many machines' ledgers sync into.

- `settings`: `[team]` + `$CCHOOKS_TEAM_URL` -> TeamSettings (None when no team is configured);
- `pg`: connecting, with one-line errors (TeamError); psycopg is imported here and only here;
- `schema`: the shared schema's own ordered migrations (`cchooks team init`);
- `sync`: TeamSync, the component that pushes the local ledger's queue (`cchooks team sync`,
  `cchooks watch`, and the daemon: `TeamSync.run(stop)`);
- `queries`: reports, hosts and window records read back from the team ledger;
- `snapshot`: the pool's figures written next to the local ledger for the statusline, which never
  opens a network connection.

Importing this package imports no PostgreSQL library: nothing changes for single-machine users.
"""

from __future__ import annotations


class TeamError(Exception):
    """The team ledger cannot be used; the message is one line saying why and what to do."""
