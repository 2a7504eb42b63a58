"""The limits engine: reserve the worst case in every scope at once, then settle the actual.

All-or-none across scopes: with the memory store, and with Redis in ``atomic`` mode (one node),
one store call checks and consumes every limit. In ``compensate`` mode (Redis Cluster, where one
script cannot touch keys of several slots) scopes are reserved one by one and the ones already
taken are rolled back when a later scope refuses. A concurrent request may then see, for a few
milliseconds, capacity that is about to be returned: it can be refused spuriously, never
admitted beyond a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from doorman.errors import ServiceUnavailable
from doorman.limits.clock import Clock, SystemClock, calendar_window
from doorman.limits.errors import LimitRefused
from doorman.limits.memory import MemoryStore
from doorman.limits.queue import Lines, QueueFull
from doorman.limits.redis_store import RedisStore, settle_failed
from doorman.limits.settings import LimitsSettings
from doorman.limits.spec import Demand, LimitSpec, LimitStatus
from doorman.limits.store import Check, Entry, EntryKind, Store, StoreUnavailable

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from redis.asyncio import Redis

log = structlog.get_logger()

# Lease ids only need to be unique among every replica's live leases: a random prefix drawn
# once per process and a counter (0.2 us instead of 0.8 us for os.urandom(16).hex()).
_LEASE_PREFIX = os.urandom(8).hex()
_LEASE_COUNTER = itertools.count()


def _next_lease_id() -> str:
    return f"{_LEASE_PREFIX}{next(_LEASE_COUNTER):x}"


NANOS = 1_000_000_000
MILLIS = 1000  # audio seconds are accounted in integer milliseconds
_KEY_CACHE_SIZE = 50_000
_LATE_SETTLE_S = 86400.0  # calendar counters outlive their window by a day for late settles


def seconds_to_millis(seconds: float) -> int:
    """Audio seconds to integer milliseconds, rounded up (a demand never under-counts)."""
    return math.ceil(round(seconds * MILLIS, 6))


def usd_to_nanos(usd: float, *, up: bool = True) -> int:
    """Dollars to integer nano-dollars (exact sums); demands round up, capacities down."""
    scaled = round(usd * NANOS, 3)
    return math.ceil(scaled) if up else math.floor(scaled)


@dataclass(slots=True)
class _Row:
    """One limit as the store sees it, apart from the request's amount: worked out once."""

    spec: LimitSpec
    unit: str
    kind: EntryKind
    window: str
    key: str
    holds_key: str
    capacity: int  # at full capacity (fraction 1)
    period: float
    window_id: str = ""  # the calendar window last seen, and its keys
    window_key: str = ""
    window_holds: str = ""


@dataclass(eq=False)
class Reservation:
    """What one request holds. Settle or release it exactly once (later calls do nothing)."""

    id: str
    demand: Demand
    statuses: list[LimitStatus]
    deadline: float
    _entries: list[tuple[LimitSpec, Entry]] = field(repr=False)
    _store: Store = field(repr=False)
    _local: bool = field(repr=False)
    done: bool = False

    @property
    def specs(self) -> list[LimitSpec]:
        return [spec for spec, _ in self._entries]


class Limiter:
    def __init__(
        self,
        settings: LimitsSettings,
        zone: ZoneInfo,
        *,
        remote: RedisStore | None = None,
        clock: Clock | None = None,
        atomic: bool = True,
    ) -> None:
        self.settings = settings
        self.zone = zone
        self.clock: Clock = clock or SystemClock()
        self.remote = remote
        self.local = MemoryStore()
        self.atomic = atomic
        self._down_until = -math.inf
        self._lines = Lines(settings.queue_max_waiters)
        self._windows: dict[str, tuple[str, float, float]] = {}
        self._rows: dict[int, _Row] = {}  # id(spec) -> its store row (specs are reused)
        self.queued = 0  # requests waiting in a line right now (the queue-depth metric)
        self.on_queue_depth: Callable[[int], None] | None = None
        self._slow_in_row = 0
        self._background: set[asyncio.Task[None]] = set()

    @classmethod
    def create(
        cls,
        settings: LimitsSettings,
        redis: Redis | None,
        zone: ZoneInfo,
        *,
        clock: Clock | None = None,
    ) -> Limiter:
        """Memory when ``redis`` is None (or backend is 'memory'); Redis otherwise."""
        if settings.backend == "redis" and redis is None:
            raise ValueError("limits.backend is 'redis' but no redis_url is configured")
        if redis is None or settings.backend == "memory":
            return cls(settings, zone, clock=clock)
        atomic = settings.cross_scope == "atomic"
        if settings.cross_scope == "auto":
            atomic = type(redis).__name__ != "RedisCluster"
        store = RedisStore(
            redis, timeout_s=settings.store_timeout_s, max_in_flight=settings.redis_max_in_flight
        )
        return cls(settings, zone, remote=store, clock=clock, atomic=atomic)

    # ----------------------------------------------------------------------------- public API

    async def reserve(
        self,
        specs: Sequence[LimitSpec],
        demand: Demand,
        *,
        lease_seconds: float | None = None,
        wait_up_to: float | None = None,
        priority: int = 0,
    ) -> Reservation:
        """Reserve ``demand`` in every limit of ``specs`` or raise (consuming nothing).

        Raises :class:`LimitRefused` (429, a ``RateLimited``) or ``ServiceUnavailable``
        (503 ``limits_unavailable``) when the store is down and the policy is closed. A refusal
        by a shared (model/provider/global) rate or concurrency limit waits in a priority line
        for up to ``wait_up_to`` seconds (default ``limits.queue_max_wait_s``) when the
        retry-after fits within it.
        """
        lease = self.settings.lease_seconds if lease_seconds is None else lease_seconds
        wait = self.settings.queue_max_wait_s if wait_up_to is None else wait_up_to
        try:
            return await self._reserve_once(specs, demand, lease)
        except LimitRefused as refusal:
            if wait <= 0 or not refusal.queueable:
                raise
            return await self._queue(specs, demand, lease, refusal, wait, priority)

    async def settle(
        self,
        reservation: Reservation,
        *,
        tokens: int | None = None,
        usd: float | None = None,
        audio_seconds: float | None = None,
    ) -> None:
        """Actual usage replaces the reservation (the rest is refunded); frees the slot.

        ``None`` keeps the reserved amount. Never raises for a store failure: the lease then
        expires on its own, and the failure is logged.
        """
        await self._finish(reservation, self._actuals(reservation, tokens, usd, audio_seconds))

    def settle_nowait(
        self,
        reservation: Reservation,
        *,
        tokens: int | None = None,
        usd: float | None = None,
        audio_seconds: float | None = None,
    ) -> bool:
        """Settle without waiting: at once when the reservation lives in process memory, or
        by writing it to Redis's pipelined connection and leaving the reply to arrive (no task
        or shield needed either way); False means: use :meth:`settle`."""
        if reservation.done:
            return True
        store = reservation._store
        if isinstance(store, MemoryStore):
            reservation.done = True
            items = self._actuals(reservation, tokens, usd, audio_seconds)
            store.settle_now(items, now=self.clock.now(), lease_id=reservation.id)
            return True
        if isinstance(store, RedisStore) and self.atomic:
            items = self._actuals(reservation, tokens, usd, audio_seconds)
            if store.settle_nowait(items, now=self.clock.now(), lease_id=reservation.id):
                reservation.done = True
                return True
        return False

    @staticmethod
    def _actuals(
        reservation: Reservation,
        tokens: int | None,
        usd: float | None,
        audio_seconds: float | None = None,
    ) -> list[tuple[Entry, int]]:
        items: list[tuple[Entry, int]] = []
        for spec, e in reservation._entries:
            if spec.unit == "tokens" and tokens is not None:
                actual = max(0, tokens)
            elif spec.unit == "usd" and usd is not None:
                actual = usd_to_nanos(max(0.0, usd))
            elif spec.unit == "audio_seconds" and audio_seconds is not None:
                actual = seconds_to_millis(max(0.0, audio_seconds))
            elif spec.unit == "concurrent":
                actual = 0
            else:
                actual = e.amount
            items.append((e, actual))
        return items

    async def release(self, reservation: Reservation) -> None:
        """Refund everything (the request failed before any upstream usage)."""
        await self._finish(reservation, [(e, 0) for _, e in reservation._entries])

    async def renew(self, reservation: Reservation, lease_seconds: float | None = None) -> bool:
        """Extend the leases of a long-running request (a stream) from now.

        Returns False when a lease had already expired and been reclaimed (its capacity may be
        in use by someone else) or the store is unreachable; the request may still finish.
        """
        if reservation.done:
            return False
        lease = self.settings.lease_seconds if lease_seconds is None else lease_seconds
        now = self.clock.now()
        entries = [e for _, e in reservation._entries if e.kind != "rate" and e.amount > 0]
        if not entries:
            reservation.deadline = now + lease
            return True
        expected = len(entries)
        held = 0
        try:
            for idx in self._slot_groups(entries, reservation._local):
                held += await reservation._store.renew(
                    [entries[i] for i in idx], now=now, lease_id=reservation.id,
                    deadline=now + lease,
                )
        except StoreUnavailable as exc:
            log.error("limits_renew_failed", error=str(exc), reservation=reservation.id)
            return False
        reservation.deadline = now + lease
        return held == expected

    async def peek(self, specs: Sequence[LimitSpec]) -> list[LimitStatus]:
        """Where each limit stands now, consuming nothing."""
        return await self._peek(specs, force_local=False)

    async def _peek(self, specs: Sequence[LimitSpec], *, force_local: bool) -> list[LimitStatus]:
        now = self.clock.now()
        store, fraction, _ = self._pick_store(force_local)
        entries = self._entries(specs, Demand(requests=0), now, now, fraction)
        checks: list[Check | None] = [None] * len(entries)
        try:
            for idx in self._slot_groups(entries, store is self.local):
                found = await store.reserve(
                    [entries[i] for i in idx], now=now, lease_id="peek", deadline=now,
                    dry_run=True,
                )
                for i, c in zip(idx, found, strict=True):
                    checks[i] = c
        except StoreUnavailable as exc:
            self._store_failed(exc)  # raises when closed
            return await self._peek(specs, force_local=True)
        return [
            self._status(s, c.remaining, c.reset)
            for s, c in zip(specs, checks, strict=True)
            if c is not None
        ]

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self.remote is not None:
            await self.remote.aclose()

    # ----------------------------------------------------------------------------- internals

    def _entries(
        self,
        specs: Sequence[LimitSpec],
        demand: Demand,
        now: float,
        deadline: float,
        fraction: float,
    ) -> list[Entry]:
        out: list[Entry] = []
        rows = self._rows
        lease_ttl = max(0.0, deadline - now)
        usd = audio = -1  # converted once, when a spec needs them
        for spec in specs:
            row = rows.get(id(spec))
            if row is None or row.spec is not spec:
                row = self._row(spec)
            unit = row.unit
            if unit == "requests":
                amount = demand.requests
            elif unit == "tokens":
                amount = demand.tokens
            elif unit == "usd":
                if usd < 0:
                    usd = usd_to_nanos(demand.usd)
                amount = usd
            elif unit == "audio_seconds":
                if audio < 0:
                    audio = seconds_to_millis(demand.audio_seconds)
                amount = audio
            else:  # a concurrency slot; a peek (no request) takes none
                amount = 1 if demand.requests else 0
            capacity = row.capacity if fraction == 1.0 else self._capacity(spec, fraction)
            kind = row.kind
            if kind == "rate":
                out.append(Entry("rate", row.key, row.holds_key, capacity, amount, row.period,
                                 row.period))
            elif kind == "concurrency":
                out.append(Entry("concurrency", row.key, row.holds_key, capacity, amount, 0.0,
                                 lease_ttl))
            else:
                wid, reset = self._calendar(row.window, now)
                if row.window_id != wid:
                    row.window_id = wid
                    row.window_key = f"{row.key}:{wid}"
                    row.window_holds = row.window_key + ":holds"
                out.append(Entry("window", row.window_key, row.window_holds, capacity, amount,
                                 reset - now, reset - now + _LATE_SETTLE_S))
        return out

    @staticmethod
    def _capacity(spec: LimitSpec, fraction: float) -> int:
        """``spec``'s capacity in store units (nano-dollars, milliseconds), times ``fraction``
        (below 1 while enforcing conservative local limits with Redis down)."""
        if spec.unit == "usd":
            return usd_to_nanos(spec.capacity * fraction, up=False)
        if spec.unit == "audio_seconds":
            return math.floor(spec.capacity * fraction * MILLIS + 1e-9)
        capacity = math.floor(spec.capacity * fraction + 1e-9)
        if fraction < 1 and spec.capacity >= 1:
            capacity = max(1, capacity)
        return capacity

    def _row(self, spec: LimitSpec) -> _Row:
        """What ``spec`` turns into for the store, worked out once: specs are reused objects."""
        if len(self._rows) >= _KEY_CACHE_SIZE:
            self._rows.clear()
        key = f"{self.settings.key_prefix}:{{{spec.scope.tag}}}:{spec.name}"
        kind = spec.window.kind
        row = _Row(
            spec=spec,
            unit=spec.unit,
            kind="rate" if kind == "rolling" else "concurrency" if kind == "concurrency" else "window",
            window=kind,
            key=key,
            holds_key=key + ":h",
            capacity=self._capacity(spec, 1.0),
            period=spec.window.seconds,
        )
        self._rows[id(spec)] = row
        return row

    def _calendar(self, kind: str, now: float) -> tuple[str, float]:
        """(window id, reset) of the calendar window holding ``now``; cached while it lasts."""
        cached = self._windows.get(kind)
        if cached is not None and cached[1] <= now < cached[2]:
            return cached[0], cached[2]
        wid, start, reset = calendar_window(kind, now, self.zone)
        self._windows[kind] = (wid, start, reset)
        return wid, reset

    @staticmethod
    def _status(spec: LimitSpec, remaining: int, reset: float) -> LimitStatus:
        if spec.unit == "usd":
            value = remaining / NANOS
        elif spec.unit == "audio_seconds":
            value = remaining / MILLIS
        else:
            value = float(remaining)
        return LimitStatus(spec, value, reset)

    def _pick_store(self, force_local: bool = False) -> tuple[Store, float, bool]:
        """(store, capacity fraction, is_local) for a new reservation, per the failure policy."""
        if self.remote is None:
            return self.local, 1.0, True
        if force_local or self.clock.now() < self._down_until:
            if self.settings.on_store_failure == "closed":
                raise self._unavailable()
            return self.local, self.settings.fail_open_fraction, True
        return self.remote, 1.0, False

    def _unavailable(self) -> ServiceUnavailable:
        retry = max(1, math.ceil(self.settings.store_retry_s))
        return ServiceUnavailable(
            "Limits are temporarily unavailable; the request was not sent.",
            code="limits_unavailable",
            headers={"retry-after": str(retry)},
        )

    def _store_failed(self, exc: StoreUnavailable) -> None:
        """Apply the failure policy to this request (raise when closed) and track the outage.

        A refused connection marks Redis down for ``store_retry_s`` at once (later requests
        skip it, so failing is fast); isolated timeouts only fail their own request until
        three come in a row, so a burst of slow replies does not take the whole replica down.
        """
        now = self.clock.now()
        self._slow_in_row = self._slow_in_row + 1 if exc.transient else 0
        if exc.transient and self._slow_in_row < 3:
            log.warning("limits_store_slow", error=str(exc), policy=self.settings.on_store_failure)
            if self.settings.on_store_failure == "closed":
                raise self._unavailable() from exc
            return
        first = self._down_until == -math.inf or now >= self._down_until
        self._down_until = now + self.settings.store_retry_s
        if first:
            if self.settings.on_store_failure == "open":
                log.error(
                    "limits_store_unreachable_failing_open",
                    error=str(exc),
                    policy="open",
                    note="enforcing conservative LOCAL per-replica limits until Redis answers",
                    fraction=self.settings.fail_open_fraction,
                )
            else:
                log.error("limits_store_unreachable_failing_closed", error=str(exc),
                          policy="closed")
        if self.settings.on_store_failure == "closed":
            raise self._unavailable() from exc

    def _store_ok(self) -> None:
        self._slow_in_row = 0
        if self._down_until != -math.inf:
            self._down_until = -math.inf
            log.warning("limits_store_recovered")

    async def _reserve_once(
        self,
        specs: Sequence[LimitSpec],
        demand: Demand,
        lease: float,
        force_local: bool = False,
    ) -> Reservation:
        store, fraction, local = self._pick_store(force_local)
        now = self.clock.now()
        deadline = now + lease
        lease_id = _next_lease_id()
        entries = self._entries(specs, demand, now, deadline, fraction)
        try:
            checks = await self._reserve_all(store, local, entries, now, lease_id, deadline)
        except StoreUnavailable as exc:
            if exc.transient:
                self._undo_later(store, entries, lease_id)
            self._store_failed(exc)  # raises when closed
            return await self._reserve_once(specs, demand, lease, force_local=True)
        if not local:
            self._store_ok()
        statuses: list[LimitStatus] = []
        all_ok = True
        status = self._status
        for spec, c in zip(specs, checks, strict=True):
            statuses.append(status(spec, c.remaining, c.reset))
            all_ok = all_ok and c.ok
        if not all_ok:
            refused = [
                (s, c, e) for s, c, e in zip(specs, checks, entries, strict=True) if not c.ok
            ]
            # The limit that keeps the request out longest decides the code and retry-after.
            spec, check, entry = max(
                refused,
                key=lambda r: math.inf if r[1].retry_after is None else r[1].retry_after,
            )
            raise LimitRefused(spec, check.retry_after, statuses, entry.key)
        return Reservation(
            id=lease_id,
            demand=demand,
            statuses=statuses,
            deadline=deadline,
            _entries=list(zip(specs, entries, strict=True)),
            _store=store,
            _local=local,
        )

    async def _reserve_all(
        self,
        store: Store,
        local: bool,
        entries: list[Entry],
        now: float,
        lease_id: str,
        deadline: float,
    ) -> list[Check]:
        if local or self.atomic:
            return await store.reserve(
                entries, now=now, lease_id=lease_id, deadline=deadline, dry_run=False
            )
        groups = self._slot_groups(entries, local)
        if len(groups) <= 1:
            return await store.reserve(
                entries, now=now, lease_id=lease_id, deadline=deadline, dry_run=False
            )
        # Compensation: one call per hash tag (cluster slot), roll back on refusal.
        results: list[Check | None] = [None] * len(entries)
        taken: list[list[Entry]] = []
        try:
            for idx in groups:
                group = [entries[i] for i in idx]
                checks = await store.reserve(
                    group, now=now, lease_id=lease_id, deadline=deadline, dry_run=False
                )
                for i, c in zip(idx, checks, strict=True):
                    results[i] = c
                if not all(c.ok for c in checks):
                    break
                taken.append(group)
            else:
                return [c for c in results if c is not None]
        except BaseException:
            await self._rollback(store, taken, now, lease_id)
            raise
        await self._rollback(store, taken, now, lease_id)
        # Scopes after the refusing one were not checked: report them as passing.
        return [
            c if c is not None else Check(True, 0.0, entries[i].capacity, 0.0)
            for i, c in enumerate(results)
        ]

    def _undo_later(self, store: Store, entries: list[Entry], lease_id: str) -> None:
        """A timed-out reserve may still run on Redis: drop its holds and slots shortly after.

        Only lease-based entries are undone (removing an absent lease is a no-op); a rolling
        window is left alone, since refunding a reservation that never ran would over-refund.
        """
        leased = [e for e in entries if e.kind != "rate"]
        if not leased:
            return

        async def undo() -> None:
            await asyncio.sleep(self.settings.store_timeout_s)
            for idx in self._slot_groups(leased, False):
                try:
                    await store.settle(
                        [(leased[i], 0) for i in idx], now=self.clock.now(), lease_id=lease_id
                    )
                except StoreUnavailable:
                    return  # the leases expire on their own

        task = asyncio.create_task(undo())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _slot_groups(self, entries: list[Entry], local: bool) -> list[list[int]]:
        """Indexes of ``entries`` per store call: one call, or one per hash tag (compensate)."""
        if local or self.atomic:
            return [list(range(len(entries)))] if entries else []
        groups: dict[str, list[int]] = {}
        for i, e in enumerate(entries):
            groups.setdefault(e.key[e.key.index("{") : e.key.index("}") + 1], []).append(i)
        return list(groups.values())

    async def _rollback(
        self, store: Store, taken: list[list[Entry]], now: float, lease_id: str
    ) -> None:
        for group in taken:
            try:
                await store.settle([(e, 0) for e in group], now=now, lease_id=lease_id)
            except StoreUnavailable as exc:  # the leases expire on their own
                log.error("limits_rollback_failed", error=str(exc))

    async def _finish(self, reservation: Reservation, items: list[tuple[Entry, int]]) -> None:
        if reservation.done:
            return
        reservation.done = True
        now = self.clock.now()
        groups = self._slot_groups([e for e, _ in items], reservation._local)
        try:
            for idx in groups:
                await reservation._store.settle(
                    [items[i] for i in idx], now=now, lease_id=reservation.id
                )
        except StoreUnavailable as exc:
            settle_failed(str(exc), lease=reservation.id)

    async def _queue(
        self,
        specs: Sequence[LimitSpec],
        demand: Demand,
        lease: float,
        refusal: LimitRefused,
        wait: float,
        priority: int,
    ) -> Reservation:
        deadline = self.clock.now() + wait
        if refusal.retry_after is not None and refusal.retry_after > wait:
            raise refusal
        key = refusal.key
        line = self._lines.get(key)
        with self._waiting():
            try:
                await line.acquire(priority, wait)
            except (QueueFull, TimeoutError):
                self._lines.discard_idle(key)
                raise refusal from None
            try:
                while True:
                    retry = refusal.retry_after
                    left = deadline - self.clock.now()
                    if retry is None or retry > left:
                        raise refusal
                    unit = refusal.spec.unit
                    pause = self.settings.queue_poll_s if unit == "concurrent" else retry
                    await self.clock.sleep(min(max(pause, 0.001), max(left, 0.0)))
                    try:
                        return await self._reserve_once(specs, demand, lease)
                    except LimitRefused as again:
                        if not again.queueable:
                            raise
                        refusal = again
            finally:
                line.release()
                self._lines.discard_idle(key)

    @contextlib.contextmanager
    def _waiting(self) -> Iterator[None]:
        """Count a request as queued (the queue-depth metric) while it is in a line."""
        self.queued += 1
        self._report_depth()
        try:
            yield
        finally:
            self.queued -= 1
            self._report_depth()

    def _report_depth(self) -> None:
        if self.on_queue_depth is not None:
            self.on_queue_depth(self.queued)

