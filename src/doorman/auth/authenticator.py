"""Authenticate one request: key -> cached record -> status checks -> optional signature.

Hot path: a hash, one cache lookup (bounded LRU, TTL <= 1 s) and a few comparisons; the database
is read about twice per key per TTL while the key is in use, in the background (refresh-ahead at
half the TTL), so a request waits for it only on a key unseen for a TTL; concurrent misses share
one query. ``last_used_at`` is
written in batches in the background. Failed attempts feed the per-address lock-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import structlog
from prometheus_client import Counter
from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.auth.cache import KeyCache, KeyRecord
from doorman.auth.keys import hash_key, looks_like_key, same, signing_secret
from doorman.auth.lockout import (
    FailureGuard,
    FailureOutcome,
    MemoryFailureGuard,
    RedisFailureGuard,
)
from doorman.auth.nonces import MemoryNonceStore, NonceStore, RedisNonceStore
from doorman.auth.pepper import PEPPER_FILE_NAME, load_pepper
from doorman.auth.principal import Principal
from doorman.auth.settings import AuthSettings
from doorman.auth.signature import verify_signature
from doorman.config import Settings
from doorman.db.models import ApiKey, User
from doorman.errors import (
    AuthenticationFailed,
    DoormanError,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
)

log = structlog.get_logger("doorman.auth")

_CLEAR_TTL_S = 1.0
_CLEAR_CACHE_SIZE = 100_000

AUTH_FAILURES = Counter(
    "doorman_auth_failures_total", "Failed authentications by reason", ["reason"]
)

AlertHook = Callable[[dict[str, Any]], Any]

_KEYS = cast(Table, ApiKey.__table__)
_USERS = cast(Table, User.__table__)


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _has_control_chars(value: str) -> bool:
    return _CONTROL_CHARS.search(value) is not None


def extract_credential(headers: Mapping[str, str], max_bytes: int = 512) -> str:
    """The ``dm-`` key from ``Authorization: Bearer`` or ``x-api-key``; never touches storage."""
    auth = headers.get("authorization")
    raw = auth if auth is not None else headers.get("x-api-key")
    if raw is None or not raw.strip():
        raise AuthenticationFailed(
            "no API key: send 'Authorization: Bearer dm-...' or 'x-api-key: dm-...'",
            code="missing_api_key",
        )
    if len(raw) > max_bytes:
        raise AuthenticationFailed("the API key header is too long", code="malformed_api_key")
    if _has_control_chars(raw):
        raise AuthenticationFailed(
            "the API key header holds control characters", code="malformed_api_key"
        )
    token = raw.strip()
    if auth is not None:
        scheme, _, rest = token.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationFailed(
                "unsupported authorization scheme; use 'Bearer'", code="unsupported_auth_scheme"
            )
        token = rest.strip()
        if not token:
            raise AuthenticationFailed("no API key after 'Bearer'", code="missing_api_key")
    if not looks_like_key(token):
        raise AuthenticationFailed(
            "malformed API key: Doorman keys look like 'dm-' followed by 43 characters",
            code="malformed_api_key",
        )
    return token


_PREFIX_TAG = "key-prefix:"
KEY_PREFIX_CHARS = 11  # "dm-" + 8 characters: 48 of the key's 256 random bits


def key_prefix_subject(headers: Mapping[str, str]) -> str | None:
    """The lock-out subject of the presented key's prefix, or None without a well-formed key.

    Stored and logged as a hash, so lock-out records and alerts never carry key material.
    """
    auth = headers.get("authorization")
    token = auth.partition(" ")[2].strip() if auth is not None else headers.get("x-api-key", "")
    token = token.strip()
    if not looks_like_key(token):
        return None
    prefix = token[:KEY_PREFIX_CHARS]
    subject = _PREFIX_SUBJECTS.get(prefix)
    if subject is None:
        subject = _PREFIX_TAG + hashlib.sha256(prefix.encode()).hexdigest()[:16]
        if len(_PREFIX_SUBJECTS) >= _PREFIX_CACHE_SIZE:
            _PREFIX_SUBJECTS.clear()
        _PREFIX_SUBJECTS[prefix] = subject
    return subject


# The subjects of the key prefixes seen lately, so a key in steady use is not hashed on every
# request. Holds prefixes only (never whole keys); bounded, cleared whole when full.
_PREFIX_CACHE_SIZE = 10_000
_PREFIX_SUBJECTS: dict[str, str] = {}


class Authenticator:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        redis: Any | None = None,
        clock: Callable[[], float] = time.time,
        *,
        pepper: bytes | None = None,
        on_alert: AlertHook | None = None,
        auth_settings: AuthSettings | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.redis = redis
        self.clock = clock
        self.on_alert = on_alert
        self.cfg = auth_settings or getattr(settings, "auth", None) or AuthSettings()
        if pepper is None:
            from doorman.state import state_dir

            pepper = load_pepper(state_dir(settings) / PEPPER_FILE_NAME)
        self.pepper = pepper
        self.cache = KeyCache(self.cfg.cache_size, self.cfg.cache_ttl_s, clock)
        self.nonces: NonceStore = (
            RedisNonceStore(redis) if redis is not None else MemoryNonceStore(clock)
        )
        self.guard: FailureGuard = (
            RedisFailureGuard(redis, self.cfg)
            if redis is not None
            else MemoryFailureGuard(self.cfg, clock)
        )
        self._generation = 0
        self._inflight: dict[str, asyncio.Task[KeyRecord | None]] = {}
        self._last_used: dict[str, float] = {}
        self._last_flush = clock()
        self._flush_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._clear_until: dict[str, float] = {}  # address -> checked unlocked, until
        self._failed_at: dict[str, float] = {}  # address -> last failure seen here

    # -- public API ---------------------------------------------------------------------------

    async def authenticate(
        self,
        headers: Mapping[str, str],
        method: str,
        path: str,
        body: bytes,
        client_ip: str,
    ) -> Principal:
        """The caller's Principal, or a DoormanError (401/403/429) with a distinct code.

        Failures count against the client address and, when a well-formed key was presented,
        against that key's prefix too: guesses spread over many addresses (a botnet, or forged
        forwarding headers) still lock out a prefix being worked on.
        """
        await self.check_lockout(client_ip)
        prefix = key_prefix_subject(headers)
        if prefix is not None:
            await self.check_lockout(prefix)
        try:
            return await self._authenticate(headers, method, path, body)
        except AuthenticationFailed as exc:
            await self.record_failure(client_ip, exc.code, key_prefix=prefix)
            raise
        except PermissionDenied as exc:
            # A valid key of a suspended user is not a guess: metric only, no lock-out.
            AUTH_FAILURES.labels(reason=exc.code).inc()
            raise

    async def check_lockout(self, client_ip: str) -> None:
        """429 ``too_many_auth_failures`` while ``client_ip`` is locked out.

        An address with no failure seen here lately, found unlocked, is not asked about again
        for ``_CLEAR_TTL_S``: with Redis that saves a round trip per request, and a lock-out
        decided on another replica still applies here within that second. An address failing
        here is checked on every request.
        """
        now = self.clock()
        if self._clear_until.get(client_ip, 0.0) > now:
            return
        try:
            wait = await self.guard.retry_after(client_ip)
        except Exception:  # the lock-out store is a defence, not a dependency
            log.warning("auth_lockout_store_error", exc_info=True)
            return
        if wait is None:
            failed = self._failed_at.get(client_ip)
            if failed is None or now - failed > self.cfg.failure_window_s:
                if len(self._clear_until) >= _CLEAR_CACHE_SIZE:
                    self._clear_until.clear()
                self._clear_until[client_ip] = now + _CLEAR_TTL_S
        if wait is not None:
            AUTH_FAILURES.labels(reason="too_many_auth_failures").inc()
            whom = "with this key prefix" if client_ip.startswith(_PREFIX_TAG) else "from this address"
            raise RateLimited(
                f"too many failed authentications {whom}; retry later",
                code="too_many_auth_failures",
                retry_after=math.ceil(wait),
            )

    async def record_failure(
        self, client_ip: str, reason: str, *, key_prefix: str | None = None
    ) -> None:
        """Count one failure against the address (and the key prefix, when given); a failure
        that starts a lock-out of either is logged and alerted once."""
        AUTH_FAILURES.labels(reason=reason).inc()
        locked: list[tuple[str, FailureOutcome]] = []
        for subject in (client_ip, key_prefix):
            if subject is None:
                continue
            self._clear_until.pop(subject, None)
            if len(self._failed_at) >= _CLEAR_CACHE_SIZE:
                self._failed_at.clear()
            self._failed_at[subject] = self.clock()
            try:
                outcome = await self.guard.record_failure(subject)
            except Exception:
                log.warning("auth_lockout_store_error", exc_info=True)
                return
            if outcome.lockout_s > 0:
                locked.append((subject, outcome))
        if not locked:
            return
        subject, outcome = locked[0]
        fields = {
            "client_ip": client_ip,
            "locked": ["key_prefix" if s == key_prefix else "address" for s, _ in locked],
            "failures": outcome.failures,
            "lockouts": outcome.lockouts,
            "lockout_s": outcome.lockout_s,
            "last_reason": reason,
        }
        log.warning("auth_failure_burst", **fields)
        at = datetime.fromtimestamp(self.clock(), UTC).isoformat()
        self._alert({"event": "auth_failure_burst", **fields, "at": at})

    def invalidate(self, *, key_id: str | None = None, user_id: str | None = None) -> None:
        """Forget cached records now (this replica); others see changes within the cache TTL."""
        self._generation += 1
        self.cache.invalidate(key_id=key_id, user_id=user_id)

    async def flush_last_used(self) -> None:
        """Write the batched ``last_used_at`` values (one statement for all keys)."""
        pending, self._last_used = self._last_used, {}
        self._last_flush = self.clock()
        if not pending:
            return
        stmt = (
            update(_KEYS)
            .where(_KEYS.c.id == bindparam("kid"))
            .values(last_used_at=bindparam("used"))
        )
        rows = [
            {"kid": kid, "used": datetime.fromtimestamp(ts, UTC)} for kid, ts in pending.items()
        ]
        try:
            async with self.engine.begin() as conn:
                await conn.execute(stmt, rows)
        except Exception:
            log.warning("auth_last_used_flush_failed", keys=len(rows), exc_info=True)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._flush_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flush_task
        await self.flush_last_used()

    # -- internals ----------------------------------------------------------------------------

    async def _authenticate(
        self, headers: Mapping[str, str], method: str, path: str, body: bytes
    ) -> Principal:
        token = extract_credential(headers, self.cfg.max_credential_bytes)
        key_hash = hash_key(self.pepper, token)
        record = await self._lookup(key_hash)
        if record is None:
            raise AuthenticationFailed("unknown API key", code="invalid_api_key")
        now = self.clock()
        previous = False
        if not same(record.secret_hash, key_hash):
            # Matched the previous secret of a rotated key.
            if record.previous_secret_hash is None or not same(
                record.previous_secret_hash, key_hash
            ):
                raise AuthenticationFailed("unknown API key", code="invalid_api_key")
            until = record.previous_valid_until
            if until is None or until.timestamp() <= now:
                raise AuthenticationFailed(
                    "this key was rotated and its grace period has ended; use the new secret",
                    code="rotated_api_key",
                )
            previous = True
        if record.revoked_at is not None:
            raise AuthenticationFailed("this API key was revoked", code="revoked_api_key")
        if record.expires_at is not None and record.expires_at.timestamp() <= now:
            raise AuthenticationFailed("this API key has expired", code="expired_api_key")
        if record.user_suspended:
            raise PermissionDenied(
                "this key's user is suspended"
                + (f": {record.user_suspended_reason}" if record.user_suspended_reason else ""),
                code="user_suspended",
            )
        tier = self.settings.tiers.get(record.tier)
        if tier is None:
            raise PermissionDenied(
                f"the key's tier '{record.tier}' is not configured", code="tier_not_configured"
            )
        salt = record.previous_signing_salt if previous else record.signing_salt
        if salt is not None or tier.require_signature:
            if salt is None:
                raise AuthenticationFailed(
                    f"tier '{record.tier}' requires signed requests but this key has no "
                    "signing secret; create a new key",
                    code="missing_signature",
                )
            await verify_signature(
                headers=headers,
                method=method,
                path=path,
                body=body,
                signing_secret=signing_secret(self.pepper, salt),
                scope=record.key_id,
                now=now,
                skew_s=self.cfg.signature_skew_s,
                nonces=self.nonces,
            )
        self._touch(record.key_id, now)
        expires_in_days = None
        if record.expires_at is not None:
            expires_in_days = max(0, int((record.expires_at.timestamp() - now) // 86400))
        return Principal(
            key_id=record.key_id,
            user_id=record.user_id,
            tier=record.tier,
            expires_at=record.expires_at,
            allowed_models=record.allowed_models,
            labels=record.labels,
            expires_in_days=expires_in_days,
            signed=salt is not None,
            via_previous_secret=previous,
        )

    async def _lookup(self, key_hash: str) -> KeyRecord | None:
        hit, record, due = self.cache.lookup(key_hash)
        if hit:
            if due and key_hash not in self._inflight:
                refresh = self._fetch_shared(key_hash)  # not awaited: served from the cache
                self._background.add(refresh)  # close() cancels it
                refresh.add_done_callback(self._background.discard)
                refresh.add_done_callback(_refresh_done)
            return record
        task = self._inflight.get(key_hash) or self._fetch_shared(key_hash)
        return await asyncio.shield(task)

    def _fetch_shared(self, key_hash: str) -> asyncio.Task[KeyRecord | None]:
        """One query for ``key_hash`` that every concurrent lookup of it awaits."""
        task = asyncio.ensure_future(self._fetch_and_cache(key_hash))
        self._inflight[key_hash] = task
        task.add_done_callback(lambda _t: self._inflight.pop(key_hash, None))
        return task

    async def _fetch_and_cache(self, key_hash: str) -> KeyRecord | None:
        generation = self._generation
        record = await self._fetch(key_hash)
        if generation == self._generation:  # an invalidation raced us: do not cache stale data
            self.cache.put(key_hash, record)
        return record

    async def _fetch(self, key_hash: str) -> KeyRecord | None:
        stmt = (
            select(_KEYS, _USERS.c.suspended, _USERS.c.suspended_reason)
            .join(_USERS, _USERS.c.id == _KEYS.c.user_id)
            .where(or_(_KEYS.c.secret_hash == key_hash, _KEYS.c.previous_secret_hash == key_hash))
            .limit(1)
        )
        try:
            async with self.engine.connect() as conn:
                row = (await conn.execute(stmt)).mappings().first()
        except DoormanError:
            raise
        except Exception as exc:
            log.error("auth_key_store_error", exc_info=True)
            raise ServiceUnavailable(
                "the key store is unavailable", code="key_store_unavailable"
            ) from exc
        if row is None:
            return None
        models = row["allowed_models"]
        return KeyRecord(
            key_id=row["id"],
            user_id=row["user_id"],
            tier=row["tier"],
            secret_hash=row["secret_hash"],
            signing_salt=row["signing_salt"],
            previous_secret_hash=row["previous_secret_hash"],
            previous_signing_salt=row["previous_signing_salt"],
            previous_valid_until=row["previous_valid_until"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
            allowed_models=tuple(models) if models is not None else None,
            labels=dict(row["labels"] or {}),
            user_suspended=bool(row["suspended"]),
            user_suspended_reason=row["suspended_reason"],
        )

    def _touch(self, key_id: str, now: float) -> None:
        self._last_used[key_id] = now
        if (
            now - self._last_flush >= self.cfg.last_used_flush_s
            and (self._flush_task is None or self._flush_task.done())
        ):
            self._last_flush = now
            self._flush_task = asyncio.ensure_future(self.flush_last_used())

    def _alert(self, event: dict[str, Any]) -> None:
        hook = self.on_alert
        if hook is None:
            return
        try:
            result = hook(event)
        except Exception:
            log.warning("auth_alert_hook_failed", exc_info=True)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._background.add(task)
            task.add_done_callback(self._background.discard)


def _refresh_done(task: asyncio.Task[KeyRecord | None]) -> None:
    """A background refresh that failed (already logged by ``_fetch``) leaves the cached entry
    to expire at its TTL, when the next request's own lookup meets the error."""
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" warning
