"""The ledger: every API response once, read positions, official rate-limit snapshots."""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cchooks.ledger.store import Ledger, LedgerError

__all__ = ["Ledger", "LedgerError"]

# Set by a process that ends with `os._exit` right after its one command (the hook and statusline
# launcher, cchooks.launch_hot): `Ledger.close` may then leave its connection open, see there.
leave_open_at_exit = False


def __getattr__(name: str) -> object:
    # Loaded on first use, so the package's light modules (`seen`, `ingest`'s file discovery)
    # do not import SQLite: a hook with nothing new to read finishes without it.
    if name in __all__:
        from cchooks.ledger import store

        return getattr(store, name)
    raise AttributeError(f"module 'cchooks.ledger' has no attribute {name!r}")
