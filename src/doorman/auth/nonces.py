"""Replay protection: each signed request's nonce may be used once within the skew window.

Memory store for one process; Redis (``SET NX EX``) when replicas share Redis.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol


class NonceStore(Protocol):
    async def claim(self, scope: str, nonce: str, ttl_s: int) -> bool:
        """True the first time ``(scope, nonce)`` is seen within ``ttl_s``; False for a replay."""
        ...


class MemoryNonceStore:
    def __init__(self, clock: Callable[[], float], maxsize: int = 1_000_000) -> None:
        self._clock = clock
        self._maxsize = maxsize
        self._seen: OrderedDict[str, float] = OrderedDict()  # insertion order ~ expiry order

    async def claim(self, scope: str, nonce: str, ttl_s: int) -> bool:
        now = self._clock()
        self._purge(now)
        key = f"{scope}:{nonce}"
        expires = self._seen.get(key)
        if expires is not None and expires > now:
            return False
        self._seen[key] = now + ttl_s
        self._seen.move_to_end(key)
        while len(self._seen) > self._maxsize:
            self._seen.popitem(last=False)
        return True

    def _purge(self, now: float) -> None:
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[key]


class RedisNonceStore:
    def __init__(self, redis: Any, prefix: str = "doorman:nonce:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def claim(self, scope: str, nonce: str, ttl_s: int) -> bool:
        ok = await self._redis.set(f"{self._prefix}{{{scope}}}:{nonce}", b"1", nx=True, ex=ttl_s)
        return bool(ok)


async def unshared_nonce_problem(settings: Any, engine: Any) -> str | None:
    """Why this process must not start, when signed requests would keep their replay nonces
    per process while other processes serve the same keys; None when that is safe.

    Without Redis each process remembers only the nonces it saw itself, so a signed request
    captured once can be replayed on every other worker or replica. Several workers without
    Redis are refused by the config check; several replicas show as a shared PostgreSQL
    database, which a single process may confirm with ``auth.single_replica: true``.
    """
    if settings.redis_url or engine.dialect.name != "postgresql":
        return None
    if settings.auth.single_replica:
        return None
    from sqlalchemy import select

    from doorman.db.models import ApiKey

    required = sorted(name for name, tier in settings.tiers.items() if tier.require_signature)
    async with engine.connect() as conn:
        signing_keys = await conn.scalar(
            select(ApiKey.id).where(ApiKey.signing_salt.is_not(None)).limit(1)
        )
    if not required and signing_keys is None:
        return None
    what = f"tiers {', '.join(required)} require signed requests" if required else (
        "signing keys exist")  # fmt: skip
    return (
        f"{what}, but there is no shared nonce store: on a PostgreSQL database shared by "
        "several replicas, a signed request replayed on another replica would be accepted. "
        "Set redis_url (every replica the same), or, if this is the only gateway process "
        "using this database, set auth.single_replica: true."
    )
