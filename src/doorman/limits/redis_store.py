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

from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from doorman.limits.store import Check, Entry, StoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Any Redis error (unreachable, timeout, OOM, read-only replica, cluster down) means the limits
# cannot be checked; the limiter then applies the on_store_failure policy and logs the cause.
_FAILURES = (RedisError, OSError, TimeoutError)


def _script(name: str) -> str:
    return resources.files("doorman.limits").joinpath("lua", f"{name}.lua").read_text("utf-8")


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


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

    async def _load(self, name: str) -> str:
        sha = _str(await self.redis.script_load(self._source[name]))
        self._sha[name] = sha
        return sha

    async def _run(self, name: str, keys: list[str], args: list[str]) -> Any:
        try:
            async with self._in_flight, asyncio.timeout(self.timeout_s):
                sha = self._sha.get(name) or await self._load(name)
                try:
                    return await self.redis.evalsha(sha, len(keys), *keys, *args)
                except NoScriptError:  # flushed or failed over: load again, once
                    sha = await self._load(name)
                    return await self.redis.evalsha(sha, len(keys), *keys, *args)
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
        keys: list[str] = []
        for e, _ in items:
            keys += [e.key, e.holds_key]
        packed = ";".join(
            f"{e.kind},{e.capacity},{e.amount},{actual},{e.period!r},{e.ttl!r}"
            for e, actual in items
        )
        await self._run("settle", keys, [repr(now), lease_id, packed])

    async def renew(
        self, entries: list[Entry], *, now: float, lease_id: str, deadline: float
    ) -> int:
        keys: list[str] = []
        for e in entries:
            keys += [e.key, e.holds_key]
        kinds = ";".join(e.kind for e in entries)
        return int(await self._run("renew", keys, [repr(now), lease_id, repr(deadline), kinds]))

    async def aclose(self) -> None:
        return None  # the client belongs to the caller
