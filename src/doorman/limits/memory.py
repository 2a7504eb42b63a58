"""In-process store: the same algorithms as ``lua/*.lua``, for one process.

Every method runs without awaiting, so on one event loop each call is atomic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from doorman.limits.store import SLACK, Check, Entry

_SWEEP_EVERY = 2048


class _Holds(dict[str, tuple[int, float]]):
    """Leases of one key (id -> (amount, deadline)) and a lower bound of their deadlines: no
    lease expires before ``earliest``, so a check walks them only when one may have expired
    and costs O(1), not O(requests in flight)."""

    __slots__ = ("earliest",)

    def __init__(self) -> None:
        super().__init__()
        self.earliest = math.inf

    def add(self, lease_id: str, amount: int, deadline: float) -> None:
        self[lease_id] = (amount, deadline)
        if deadline < self.earliest:
            self.earliest = deadline

    def purge(self, now: float) -> int:
        """Drop the expired leases; returns the amount they held."""
        if now < self.earliest:
            return 0
        freed = 0
        earliest = math.inf
        for lid, (amount, dl) in list(self.items()):
            if dl <= now:
                freed += amount
                del self[lid]
            elif dl < earliest:
                earliest = dl
        self.earliest = earliest
        return freed


_NO_HOLDS = _Holds()


@dataclass(slots=True)
class _Counter:
    used: int = 0
    held: int = 0
    holds: _Holds = field(default_factory=_Holds)
    expires: float = math.inf

    def hold(self, lease_id: str, amount: int, deadline: float) -> None:
        self.held += amount
        self.holds.add(lease_id, amount, deadline)

    def purge(self, now: float) -> None:
        self.held -= self.holds.purge(now)


class MemoryStore:
    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._counters: dict[str, _Counter] = {}
        self._leases: dict[str, _Holds] = {}  # concurrency slots: amount 1 each
        self._ops = 0

    async def reserve(
        self, entries: list[Entry], *, now: float, lease_id: str, deadline: float, dry_run: bool
    ) -> list[Check]:
        self._maybe_sweep(now)
        checks: list[Check] = []
        new_tats: list[float] = []
        ok = True
        for e in entries:
            check, new_tat = self._check(e, now)
            checks.append(check)
            new_tats.append(new_tat)
            ok = ok and check.ok
        if dry_run or not ok:
            return checks
        for e, new_tat in zip(entries, new_tats, strict=True):
            if e.kind == "rate":
                if e.amount > 0:
                    self._tat[e.key] = new_tat
            elif e.kind == "window":
                counter = self._counters.get(e.key)
                if counter is None:
                    counter = self._counters[e.key] = _Counter()
                counter.expires = now + e.ttl
                if e.amount > 0:
                    counter.hold(lease_id, e.amount, deadline)
            else:
                leases = self._leases.get(e.key)
                if leases is None:
                    leases = self._leases[e.key] = _Holds()
                leases.add(lease_id, 1, deadline)
        return checks

    def _check(self, e: Entry, now: float) -> tuple[Check, float]:
        cap, amount = e.capacity, e.amount
        if e.kind == "rate":
            tat = max(self._tat.get(e.key, now), now)
            if cap <= 0:
                return Check(amount == 0, None, 0, 0.0), tat
            interval = e.period / cap
            new_tat = tat + amount * interval
            if new_tat - now <= e.period + interval * SLACK:
                remaining = math.floor((e.period - (new_tat - now)) / interval + SLACK)
                return Check(True, 0.0, max(0, remaining), new_tat - now), new_tat
            wait = None if amount > cap else new_tat - e.period - now
            remaining = math.floor((e.period - (tat - now)) / interval + SLACK)
            return Check(False, wait, max(0, remaining), tat - now), tat
        if e.kind == "window":
            counter = self._counters.get(e.key)
            used = held = 0
            if counter is not None:
                counter.purge(now)
                used, held = counter.used, counter.held
            total = used + held
            if total + amount <= cap:
                return Check(True, 0.0, cap - total - amount, e.period), 0.0
            if amount > cap:
                retry: float | None = None
            elif used + amount <= cap:
                retry = min(e.period, 1.0)  # only in-flight holds block it; they settle soon
            else:
                retry = e.period
            return Check(False, retry, max(0, cap - total), e.period), 0.0
        leases = self._leases.get(e.key)
        if leases is None:
            count = 0
        else:
            leases.purge(now)
            count = len(leases)
        if count + amount <= cap:
            return Check(True, 0.0, cap - count - amount, 0.0), 0.0
        if amount > cap:
            return Check(False, None, max(0, cap - count), 0.0), 0.0
        first = min(dl for _, dl in leases.values()) if leases else now
        return Check(False, min(1.0, max(0.0, first - now)), max(0, cap - count), 0.0), 0.0

    async def settle(self, items: list[tuple[Entry, int]], *, now: float, lease_id: str) -> None:
        self.settle_now(items, now=now, lease_id=lease_id)

    def settle_now(self, items: list[tuple[Entry, int]], *, now: float, lease_id: str) -> None:
        """``settle`` without the coroutine: nothing here waits, so callers may skip a task."""
        for e, actual in items:
            if e.kind == "rate":
                delta = actual - e.amount
                if delta == 0 or e.capacity <= 0:
                    continue
                interval = e.period / e.capacity
                cur = self._tat.get(e.key)
                if delta < 0:
                    if cur is None:
                        continue
                    new = cur + delta * interval
                    if new <= now:
                        del self._tat[e.key]
                    else:
                        self._tat[e.key] = new
                else:
                    self._tat[e.key] = max(cur if cur is not None else now, now) + delta * interval
            elif e.kind == "window":
                counter = self._counters.get(e.key)
                if counter is None:
                    if actual <= 0:
                        continue
                    counter = self._counters[e.key] = _Counter(expires=now + e.ttl)
                hold = counter.holds.pop(lease_id, None)
                if hold is not None:
                    counter.held -= hold[0]
                counter.used += actual
            else:
                self._leases.get(e.key, _NO_HOLDS).pop(lease_id, None)

    async def renew(
        self, entries: list[Entry], *, now: float, lease_id: str, deadline: float
    ) -> int:
        held = 0
        for e in entries:
            if e.kind == "window":
                counter = self._counters.get(e.key)
                holds = counter.holds if counter is not None else _NO_HOLDS
            elif e.kind == "concurrency":
                holds = self._leases.get(e.key, _NO_HOLDS)
            else:
                continue
            hold = holds.get(lease_id)
            if hold is not None and hold[1] > now:  # a later deadline: earliest stays a bound
                holds[lease_id] = (hold[0], deadline)
                held += 1
        return held

    async def aclose(self) -> None:
        return None

    def _maybe_sweep(self, now: float) -> None:
        """Drop state that can no longer matter, so memory stays bounded by active callers."""
        self._ops += 1
        if self._ops % _SWEEP_EVERY:
            return
        for key in [k for k, tat in self._tat.items() if tat <= now]:
            del self._tat[key]
        for key in [k for k, c in self._counters.items() if c.expires <= now]:
            del self._counters[key]
        for key, leases in list(self._leases.items()):
            leases.purge(now)
            if not leases:
                del self._leases[key]
