"""The storage contract shared by the memory and Redis backends.

A store sees only integers and keys: the limiter turns :class:`LimitSpec` objects into
:class:`Entry` rows (requests, tokens, nano-dollars) and the store checks them all, then
consumes them all, in one atomic step. Three kinds of state:

- ``rate``: GCRA (a rolling window without fixed-window double bursts). State: the theoretical
  arrival time. ``period`` is the window length.
- ``window``: a calendar day/month counter with ``used`` (settled) and ``held`` (reserved,
  each hold a lease with a deadline; expired holds are purged before every check).
  ``period`` is the number of seconds until the window resets.
- ``concurrency``: a set of leases with deadlines; expired ones are purged before every check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

EntryKind = Literal["rate", "window", "concurrency"]

#: GCRA tolerance, in units of the limit (half a request or token). Times are floats near 1.8e9 s
#: so sums drift by ~1e-7 s per step; without slack 50 x 1.2 s may not fit 60 s. Half a unit
#: never lets a burst exceed the capacity (amounts are integers) nor the long-run rate.
SLACK = 0.5


# Entry, Check and LimitStatus are built several times per request: plain slotted classes,
# since a frozen dataclass's __init__ costs three times as much. Treat them as immutable.
@dataclass(slots=True)
class Entry:
    kind: EntryKind
    key: str
    holds_key: str
    capacity: int
    amount: int
    period: float
    ttl: float


@dataclass(slots=True)
class Check:
    ok: bool
    retry_after: float | None  # None: the amount can never fit this capacity
    remaining: int
    reset: float  # seconds until the limit is back to full


class Store(Protocol):
    async def reserve(
        self, entries: list[Entry], *, now: float, lease_id: str, deadline: float, dry_run: bool
    ) -> list[Check]:
        """Check every entry; consume all of them only when every check passed."""
        ...

    async def settle(self, items: list[tuple[Entry, int]], *, now: float, lease_id: str) -> None:
        """Replace each entry's reserved amount by the actual one and drop the lease."""
        ...

    async def renew(
        self, entries: list[Entry], *, now: float, lease_id: str, deadline: float
    ) -> int:
        """Move the deadline of the entries' unexpired leases; return how many there were."""
        ...

    async def aclose(self) -> None: ...


class StoreUnavailable(Exception):
    """The backing store could not be reached (``transient``: it was only too slow once)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
