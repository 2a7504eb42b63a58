"""A bounded LRU with a short TTL for key lookups, so the hot path rarely touches the database.

The TTL (<= 1 s by default) bounds how long a revocation made on another replica can go unseen;
revocations on this replica call :meth:`KeyCache.invalidate` and take effect at once.

An entry older than ``refresh_after`` (half the TTL) is still served but reported as due, so the
authenticator re-reads it in the background: a key in steady use never meets an expired entry,
and no request waits for the database (with SQLite, several hops to aiosqlite's thread, each
waiting for the GIL: at a fixed 200 requests/s that wait landed in the p99 once a second).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What authentication needs to know about one key (a snapshot of its row and user)."""

    key_id: str
    user_id: str
    tier: str
    secret_hash: str
    signing_salt: str | None
    previous_secret_hash: str | None
    previous_signing_salt: str | None
    previous_valid_until: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    allowed_models: tuple[str, ...] | None
    labels: dict[str, Any]
    user_suspended: bool
    user_suspended_reason: str | None


class KeyCache:
    """Maps a key hash to its record (or ``None`` for "no such key") for ``ttl`` seconds."""

    def __init__(
        self,
        maxsize: int,
        ttl: float,
        clock: Callable[[], float],
        refresh_after: float | None = None,
    ) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self.refresh_after = ttl / 2 if refresh_after is None else min(refresh_after, ttl)
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, KeyRecord | None]] = OrderedDict()

    def get(self, key_hash: str) -> tuple[bool, KeyRecord | None]:
        """(hit, record). A hit may carry ``None``: the key is known not to exist."""
        hit, record, _ = self.lookup(key_hash)
        return hit, record

    def lookup(self, key_hash: str) -> tuple[bool, KeyRecord | None, bool]:
        """(hit, record, due): ``due`` when a hit is older than ``refresh_after`` and should be
        re-read now, while it may still be served (never past ``ttl``)."""
        entry = self._entries.get(key_hash)
        if entry is None:
            return False, None, False
        stored_at, record = entry
        age = self._clock() - stored_at
        if age >= self.ttl or age < 0:
            del self._entries[key_hash]
            return False, None, False
        self._entries.move_to_end(key_hash)
        return True, record, age >= self.refresh_after

    def put(self, key_hash: str, record: KeyRecord | None) -> None:
        self._entries[key_hash] = (self._clock(), record)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def invalidate(self, *, key_id: str | None = None, user_id: str | None = None) -> int:
        """Drop entries of one key or one user (or everything when both are None)."""
        if key_id is None and user_id is None:
            n = len(self._entries)
            self._entries.clear()
            return n
        doomed = [
            h
            for h, (_, rec) in self._entries.items()
            if rec is not None and (rec.key_id == key_id or rec.user_id == user_id)
        ]
        for h in doomed:
            del self._entries[h]
        return len(doomed)

    def __len__(self) -> int:
        return len(self._entries)
