"""Where cached answers live: process memory (LRU) or Redis (shared by replicas).

Both speak the same small interface. Keys are the hex SHA-256 from :mod:`doorman.cache.key`;
nothing about the request (model, user, text) appears in a Redis key name. Locks exist for
coalescing across replicas; in one process the in-process flights do that job, so the memory
store grants every lock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

ENTRY_PREFIX = "doorman:cache:"
LOCK_PREFIX = "doorman:cache-lock:"

# Delete the lock only if this caller still holds it (its lease may have expired and passed on).
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class CacheStore(Protocol):
    shared: bool  # True when other processes see the same entries (Redis)

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, blob: bytes, ttl_s: int) -> None: ...

    async def try_lock(self, key: str, token: str, ttl_s: float) -> bool: ...

    async def unlock(self, key: str, token: str) -> None: ...

    async def peek(self, key: str) -> tuple[bytes | None, bool]:
        """The entry (if any) and whether another holder's lock is still there."""
        ...


class MemoryStore:
    """An LRU bounded by entry count and total bytes; entries also expire by TTL."""

    shared = False

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        item = self._entries.get(key)
        if item is None:
            return None
        expires, blob = item
        if expires <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return blob

    async def set(self, key: str, blob: bytes, ttl_s: int) -> None:
        if len(blob) > self.max_bytes:
            return
        self._drop(key)
        self._entries[key] = (time.monotonic() + ttl_s, blob)
        self.bytes += len(blob)
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        item = self._entries.pop(key, None)
        if item is not None:
            self.bytes -= len(item[1])

    async def try_lock(self, key: str, token: str, ttl_s: float) -> bool:
        return True

    async def unlock(self, key: str, token: str) -> None:
        return None

    async def peek(self, key: str) -> tuple[bytes | None, bool]:
        return await self.get(key), False


class RedisStore:
    """Entries as plain strings with a TTL; a short ``SET NX PX`` lock per key in flight."""

    shared = True

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._unlock = redis.register_script(_UNLOCK)

    async def get(self, key: str) -> bytes | None:
        value = await self.redis.get(ENTRY_PREFIX + key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, blob: bytes, ttl_s: int) -> None:
        await self.redis.set(ENTRY_PREFIX + key, blob, ex=ttl_s)

    async def try_lock(self, key: str, token: str, ttl_s: float) -> bool:
        ms = max(1, int(ttl_s * 1000))
        return bool(await self.redis.set(LOCK_PREFIX + key, token, nx=True, px=ms))

    async def unlock(self, key: str, token: str) -> None:
        await self._unlock(keys=[LOCK_PREFIX + key], args=[token])

    async def peek(self, key: str) -> tuple[bytes | None, bool]:
        entry, lock = await self.redis.mget([ENTRY_PREFIX + key, LOCK_PREFIX + key])
        return (entry.encode() if isinstance(entry, str) else entry), lock is not None
