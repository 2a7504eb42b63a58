"""Redis store: the Lua scripts in ``lua/``, loaded with SCRIPT LOAD and run with EVALSHA.

Each call is atomic. Keys carry a hash tag per scope (``doorman:{user:alice}:...``) so one call
may only touch one scope on Redis Cluster; the limiter groups entries accordingly. Times come
from the calling replica's clock (injectable in tests), so replicas need synchronised clocks
(NTP); a skew shifts rolling windows by that skew.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from doorman.limits.pipelined import PipelinedRedis
from doorman.limits.store import Check, Entry, StoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger()

SETTLE_FAILURES = Counter(
    "doorman_limits_settle_failures_total",
    "Settlements the limits store did not confirm (their holds and slots expire with their "
    "lease; usage they would have charged, above all usage beyond the reservation, is lost)",
)


def settle_failed(error: str, *, lease: str) -> None:
    """A settlement that may not have been applied: loud, and counted, never silent.

    Not retried: whether Redis ran it is unknown, and running it twice would charge twice.
    """
    SETTLE_FAILURES.inc()
    log.error(
        "limits_settle_failed",
        error=error,
        reservation=lease,
        note="holds and slots expire with their lease; usage above the reservation is not "
        "charged",
    )

# Any Redis error (unreachable, timeout, OOM, read-only replica, cluster down) means the limits
# cannot be checked; the limiter then applies the on_store_failure policy and logs the cause.
_FAILURES = (RedisError, OSError, TimeoutError)


def _script(name: str) -> str:
    return resources.files("doorman.limits").joinpath("lua", f"{name}.lua").read_text("utf-8")


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _settle_call(
    items: list[tuple[Entry, int]], now: float, lease_id: str
) -> tuple[list[str], list[str]]:
    """KEYS and ARGV of ``settle.lua``."""
    keys: list[str] = []
    for e, _ in items:
        keys += [e.key, e.holds_key]
    packed = ";".join(
        f"{e.kind},{e.capacity},{e.amount},{actual},{e.period!r},{e.ttl!r}" for e, actual in items
    )
    return keys, [repr(now), lease_id, packed]


def connect_redis(url: str, timeout_s: float = 0.5, max_connections: int = 200) -> Redis:
    """A client with short socket timeouts, so a dead Redis fails requests fast.

    The pool blocks (up to ``timeout_s``) rather than failing when every connection is busy.
    """
    from redis.asyncio import BlockingConnectionPool, Redis

    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)


class RedisStore:
    def __init__(self, redis: Redis, *, timeout_s: float, max_in_flight: int = 64) -> None:
        self.redis = redis
        self.timeout_s = timeout_s
        # Bursts of hundreds of requests must queue here, not exhaust a shared client pool
        # (redis-py's default pool raises MaxConnectionsError beyond 100 connections).
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._source = {name: _script(name) for name in ("reserve", "settle", "renew")}
        self._sha: dict[str, str] = {}
        # Plain TCP: one pipelined connection of our own (a fraction of redis-py's CPU per call).
        self._fast = PipelinedRedis.from_client(redis)
        self._background: set[asyncio.Task[None]] = set()

    async def _load(self, name: str) -> str:
        if self._fast is not None:
            source = self._source[name]
            sha = _str(await self._fast.execute("SCRIPT", "LOAD", source, timeout_s=self.timeout_s))
        else:
            sha = _str(await self.redis.script_load(self._source[name]))
        self._sha[name] = sha
        return sha

    async def _evalsha(self, name: str, keys: list[str], args: list[str]) -> Any:
        sha = self._sha.get(name) or await self._load(name)
        try:
            return await self._call_script(sha, keys, args)
        except NoScriptError:  # flushed or failed over: load again, once
            return await self._call_script(await self._load(name), keys, args)

    async def _call_script(self, sha: str, keys: list[str], args: list[str]) -> Any:
        if self._fast is not None:
            return await self._fast.execute(
                "EVALSHA", sha, len(keys), *keys, *args, timeout_s=self.timeout_s
            )
        return await self.redis.evalsha(sha, len(keys), *keys, *args)

    async def _run(self, name: str, keys: list[str], args: list[str]) -> Any:
        try:
            if self._fast is not None:  # one shared connection, each call bounded by itself
                return await self._evalsha(name, keys, args)
            async with self._in_flight, asyncio.timeout(self.timeout_s):
                return await self._evalsha(name, keys, args)
        except _FAILURES as exc:
            slow = isinstance(exc, TimeoutError | RedisTimeoutError)
            raise StoreUnavailable(f"redis: {type(exc).__name__}: {exc}", transient=slow) from exc

    async def reserve(
        self, entries: list[Entry], *, now: float, lease_id: str, deadline: float, dry_run: bool
    ) -> list[Check]:
        keys: list[str] = []
        for e in entries:
            keys += [e.key, e.holds_key]
        packed = ";".join(
            f"{e.kind},{e.capacity},{e.amount},{e.period!r},{e.ttl!r}" for e in entries
        )
        args = [repr(now), lease_id, repr(deadline), "1" if dry_run else "0", packed]
        reply = _str(await self._run("reserve", keys, args))
        checks: list[Check] = []
        for rec in reply.split(";") if entries else []:
            ok, retry, remaining, reset = rec.split(",")
            r = float(retry)
            checks.append(Check(ok == "1", None if r < 0 else r, int(remaining), float(reset)))
        return checks

    async def settle(self, items: list[tuple[Entry, int]], *, now: float, lease_id: str) -> None:
        await self._run("settle", *_settle_call(items, now, lease_id))

    def settle_nowait(self, items: list[tuple[Entry, int]], *, now: float, lease_id: str) -> bool:
        """Write the settlement now and let its reply arrive on its own (a failure is logged;
        holds and slots then expire with their lease). False when that cannot be done here
        (redis-py client, no open connection yet, script not loaded): use :meth:`settle`.

        Nothing waits for the reply, so the request saves the round trip and a task; calls of
        this process stay in order, since they share one connection.
        """
        fast, sha = self._fast, self._sha.get("settle")
        if fast is None or sha is None:
            return False
        keys, args = _settle_call(items, now, lease_id)
        future = fast.send("EVALSHA", sha, len(keys), *keys, *args, timeout_s=self.timeout_s)
        if future is None:
            return False
        future.add_done_callback(lambda done: self._settled(done, keys, args))
        return True

    def _settled(self, done: asyncio.Future[Any], keys: list[str], args: list[str]) -> None:
        if done.cancelled() or done.exception() is None:
            return
        exc = done.exception()
        if isinstance(exc, NoScriptError):  # flushed meanwhile: load it again and settle
            task = asyncio.ensure_future(self._settle_again(keys, args))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        settle_failed(f"redis: {type(exc).__name__}: {exc}", lease=args[1])

    async def _settle_again(self, keys: list[str], args: list[str]) -> None:
        try:
            await self._run("settle", keys, args)
        except StoreUnavailable as exc:
            settle_failed(str(exc), lease=args[1])

    async def renew(
        self, entries: list[Entry], *, now: float, lease_id: str, deadline: float
    ) -> int:
        keys: list[str] = []
        for e in entries:
            keys += [e.key, e.holds_key]
        kinds = ";".join(e.kind for e in entries)
        return int(await self._run("renew", keys, [repr(now), lease_id, repr(deadline), kinds]))

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._fast is not None:  # our own connection; the redis-py client is the caller's
            await self._fast.aclose()
