"""Usage ledger: one insert-only, group-committed row per request, and reports over it."""

from doorman.ledger.row import LedgerRow, task_label
from doorman.ledger.store import Ledger, LedgerClosed

__all__ = ["Ledger", "LedgerClosed", "LedgerRow", "task_label"]
