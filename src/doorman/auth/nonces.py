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
