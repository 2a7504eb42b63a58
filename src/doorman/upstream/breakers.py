"""All the breakers of one process, their telemetry, and their sharing across replicas.

Decisions are always local (a dict lookup, no I/O). With Redis configured, a breaker that opens
publishes ``doorman:breaker:{deployment}`` with the cool-down as its TTL (one fire-and-forget
SET), and a background task reads the TTLs of every known deployment once per
``sync_interval_s`` in one pipelined round trip: a replica that has not seen the failures itself
opens too, for the time that is left. A probe that succeeds deletes the key. Redis being down
only costs the sharing; each replica's own breaker keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import structlog

from doorman.upstream.breaker import Breaker, State
from doorman.upstream.settings import BreakerSettings
from doorman.upstream.telemetry import ReliabilityMetrics

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from doorman.observe.alerts import AlertSink

log = structlog.get_logger("doorman.upstream.breaker")

KEY_PREFIX = "doorman:breaker:"


class BreakerBoard:
    def __init__(
        self,
        settings: BreakerSettings,
        *,
        telemetry: ReliabilityMetrics | None = None,
        alerts: AlertSink | None = None,
        redis: Redis | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.telemetry = telemetry
        self.alerts = alerts
        self.redis = redis
        self.clock = clock
        self._breakers: dict[str, Breaker] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sync_task: asyncio.Task[None] | None = None

    def get(self, key: str) -> Breaker:
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = Breaker(key, self.settings, clock=self.clock, listener=self._changed)
            self._breakers[key] = breaker
            if self.telemetry is not None and self.telemetry.metrics is not None:
                self.telemetry.metrics.set_breaker_state(key, "closed")
            self._ensure_sync()
        return breaker

    def known(self, key: str) -> Breaker | None:
        """The breaker of a deployment that has been called, without creating one."""
        return self._breakers.get(key)

    def states(self) -> dict[str, State]:
        return {key: b.state for key, b in self._breakers.items()}

    # ------------------------------------------------------------- transitions
    def _changed(self, breaker: Breaker, old: State, new: State, reason: str, remote: bool) -> None:
        key = breaker.key
        if old == new:  # re-opened while open (remote extension): nothing new to tell
            return
        event = "breaker_opened" if new == "open" else f"breaker_{new}"
        level = log.warning if new == "open" else log.info
        level(event, deployment=key, previous=old, reason=reason, remote=remote)
        if self.telemetry is not None:
            self.telemetry.breaker_state(key, new)
        if new == "open" and not remote:
            if self.alerts is not None:
                self._spawn(self.alerts.breaker_opened(key, reason))
            if self.redis is not None:
                ttl_ms = max(1, int(breaker.retry_in() * 1000))
                self._spawn(self._publish_open(key, reason, ttl_ms))
        elif new == "closed" and self.redis is not None:
            self._spawn(self._publish_closed(key))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop (sync unit tests): nothing to deliver to
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------- sharing
    async def _publish_open(self, key: str, reason: str, ttl_ms: int) -> None:
        assert self.redis is not None
        try:
            await self.redis.set(KEY_PREFIX + key, reason[:200], px=ttl_ms)
        except Exception as exc:  # sharing is best effort
            log.warning("breaker_sync_failed", deployment=key, error=type(exc).__name__)

    async def _publish_closed(self, key: str) -> None:
        assert self.redis is not None
        try:
            await self.redis.delete(KEY_PREFIX + key)
        except Exception as exc:
            log.warning("breaker_sync_failed", deployment=key, error=type(exc).__name__)

    async def sync_once(self) -> None:
        """Adopt open states other replicas published (one pipelined round trip)."""
        if self.redis is None or not self._breakers:
            return
        keys = list(self._breakers)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.pttl(KEY_PREFIX + key)
            ttls = await pipe.execute()
        for key, ttl in zip(keys, ttls, strict=True):
            if isinstance(ttl, int) and ttl > 0:
                breaker = self._breakers[key]
                if breaker.state == "closed":
                    breaker.trip("opened by another replica", cooldown_s=ttl / 1000, remote=True)

    def _ensure_sync(self) -> None:
        if self.redis is None or self._sync_task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._sync_task = loop.create_task(self._sync_loop())

    async def _sync_loop(self) -> None:
        while True:
            try:
                await self.sync_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("breaker_sync_failed", error=type(exc).__name__)
            await asyncio.sleep(self.settings.sync_interval_s)

    async def close(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sync_task
            self._sync_task = None
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
