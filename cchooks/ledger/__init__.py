"""The ledger: every API response once, read positions, official rate-limit snapshots."""

from cchooks.ledger.store import Ledger, LedgerError

__all__ = ["Ledger", "LedgerError"]
