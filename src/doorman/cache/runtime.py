"""The response cache of one process: lookups, coalescing of identical requests, stores.

Coalescing: the first of several concurrent identical requests becomes the *leader* and goes
upstream; the others wait (at most ``coalesce_wait_seconds``) for its answer to land in the
cache and are served from it. In one process they wait on an event; across replicas (Redis)
the leader holds a short ``SET NX`` lock and the others poll the entry until it appears, the
lock goes away (the leader failed: one of them goes next) or their wait is over (they go
upstream themselves). A leader always lets go: after its store, on error, on abandon.

A cache failure never fails a request: every store call is bounded by a timeout, and any
error turns into a miss, one log line and ``doorman_cache_errors_total``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, Counter

from doorman.cache.entry import CachedAnswer, CorruptEntry
from doorman.cache.fastpath import FastRoutes
from doorman.cache.settings import ResponseCacheSettings
from doorman.cache.stores import CacheStore, MemoryStore, RedisStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from doorman.observe.metrics import Metrics

log = structlog.get_logger("doorman.cache")

POLL_INTERVAL_S = 0.02


@dataclass(slots=True)
class Ticket:
    """A leader's claim on one key: released exactly once, however its request ends."""

    key: str
    event: asyncio.Event = field(default_factory=asyncio.Event)
    redis_token: str | None = None
    released: bool = False


class CacheMetrics:
    def __init__(self, metrics: Metrics | None) -> None:
        r = metrics.registry if metrics is not None else CollectorRegistry()
        self.lookups = Counter(
            "doorman_cache_lookups", "Response cache outcomes: hit, miss, bypass, refresh.",
            ["result"], registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "doorman_cache_errors", "Response cache store failures (served as misses), by operation.",
            ["op"], registry=r,
        )  # fmt: skip
        self.coalesced = Counter(
            "doorman_cache_coalesced", "Requests answered by waiting for an identical one in flight.",
            registry=r,
        )  # fmt: skip
        self.fast_hits = Counter(
            "doorman_cache_fast_hits",
            "Hits answered right after authentication: byte-identical repeats of a request "
            "already screened and routed (also counted in doorman_cache_lookups).",
            registry=r,
        )  # fmt: skip
        self.saved = Counter(
            "doorman_cache_saved_usd", "Dollars not spent thanks to cache hits.", registry=r,
        )  # fmt: skip
        self._outcomes: dict[str, Any] = {}

    def count(self, result: str) -> None:
        """One lookup's outcome. The labelled child is looked up once per outcome: ``labels()``
        takes a lock and builds tuples, a tenth of a fast hit's metrics cost."""
        child = self._outcomes.get(result)
        if child is None:
            child = self._outcomes[result] = self.lookups.labels(result)
        child.inc()


class ResponseCache:
    def __init__(
        self,
        settings: ResponseCacheSettings,
        store: CacheStore,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = CacheMetrics(metrics)
        self.timeout_s = settings.redis_timeout_seconds
        # key -> (the leader's event, when to stop trusting it): a leader that somehow never
        # let go must not make every later identical request wait out the full period.
        self._flights: dict[str, tuple[asyncio.Event, float]] = {}
        # Raw requests already screened and routed -> their cache key (the hit fast path).
        self.routes = FastRoutes(settings.max_entries)
        # (tier, user, key, model) -> the caller's own limit specs, which a hit reserves.
        self.hit_specs: dict[tuple[str, str, str, str], list[Any]] = {}

    @classmethod
    def create(
        cls, settings: ResponseCacheSettings, redis: Redis | None, metrics: Metrics | None
    ) -> ResponseCache:
        if settings.backend == "redis" and redis is None:
            raise ValueError("response_cache.backend is 'redis' but no redis_url is configured")
        store: CacheStore
        if redis is not None and settings.backend != "memory":
            store = RedisStore(redis)
        else:
            store = MemoryStore(settings.max_entries, settings.max_bytes)
        return cls(settings, store, metrics)

    # ------------------------------------------------------------------ store calls
    async def _call(self, op: str, coro: object) -> object:
        """Await one store call within the timeout; a failure is logged, counted, and None."""
        try:
            if not self.store.shared:  # process memory never waits: no timer to arm
                return await coro  # type: ignore[misc]
            async with asyncio.timeout(self.timeout_s):
                return await coro  # type: ignore[misc]
        except Exception as exc:
            self.metrics.errors.labels(op).inc()
            log.warning("cache_error", op=op, error=type(exc).__name__)
            return None

    def _decode(self, blob: object) -> CachedAnswer | None:
        if not isinstance(blob, bytes):
            return None
        try:
            return CachedAnswer.decode(blob)
        except CorruptEntry as exc:
            self.metrics.errors.labels("decode").inc()
            log.warning("cache_error", op="decode", error=str(exc)[:100])
            return None

    async def get(self, key: str) -> CachedAnswer | None:
        return self._decode(await self._call("get", self.store.get(key)))

    async def put(self, key: str, answer: CachedAnswer, ttl_s: int) -> bool:
        blob = answer.encode()
        if len(blob) > self.settings.max_entry_bytes:
            return False
        done = await self._call("set", self._set(key, blob, ttl_s))
        return done is True

    async def _set(self, key: str, blob: bytes, ttl_s: int) -> bool:
        await self.store.set(key, blob, ttl_s)
        return True

    # ------------------------------------------------------------------ coalescing
    async def find(self, key: str) -> tuple[CachedAnswer | None, Ticket | None]:
        """A cached answer, or None plus a leader ticket (None: go upstream unled).

        Waits for an identical request in flight (here or, on Redis, on another replica)
        for at most ``coalesce_wait_seconds``.
        """
        answer = await self.get(key)
        wait_s = self.settings.coalesce_wait_seconds
        if answer is not None or wait_s <= 0:
            return answer, None
        deadline = time.monotonic() + wait_s
        while (flight := self._live_flight(key)) is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, None
            try:
                async with asyncio.timeout(remaining):
                    await flight.wait()
            except TimeoutError:
                return None, None
            answer = await self.get(key)
            if answer is not None:
                self.metrics.coalesced.inc()
                return answer, None
        ticket = Ticket(key)
        self._flights[key] = (ticket.event, time.monotonic() + wait_s)
        if not self.store.shared:
            return None, ticket
        token = secrets.token_hex(8)
        while True:
            locked = await self._call("lock", self.store.try_lock(key, token, wait_s))
            if locked is None or locked:  # a Redis failure leads unlocked (still a miss)
                ticket.redis_token = token if locked else None
                return None, ticket
            answer = await self._follow_remote(key, deadline)
            if answer is not None:
                self.metrics.coalesced.inc()
                await self.release(ticket)
                return answer, None
            if time.monotonic() >= deadline:
                return None, ticket  # waited long enough: go upstream, still lead locally

    def _live_flight(self, key: str) -> asyncio.Event | None:
        flight = self._flights.get(key)
        if flight is None:
            return None
        if flight[1] <= time.monotonic():
            del self._flights[key]
            return None
        return flight[0]

    async def _follow_remote(self, key: str, deadline: float) -> CachedAnswer | None:
        """Poll for another replica's answer until it lands, its lock goes, or time is up."""
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_INTERVAL_S)
            seen = await self._call("peek", self.store.peek(key))
            if not isinstance(seen, tuple):
                return None  # Redis failing: stop waiting on it
            blob, locked = seen
            if blob is not None:
                return self._decode(blob)
            if not locked:
                return None
        return None

    async def release(self, ticket: Ticket | None) -> None:
        """Let followers go (idempotent). They look the key up again: hit or their turn."""
        if ticket is None or ticket.released:
            return
        ticket.released = True
        flight = self._flights.get(ticket.key)
        if flight is not None and flight[0] is ticket.event:
            del self._flights[ticket.key]
        ticket.event.set()
        if ticket.redis_token is not None:
            await self._call("unlock", self.store.unlock(ticket.key, ticket.redis_token))
