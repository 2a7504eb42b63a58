"""The master key: the one credential of the admin API.

``DOORMAN_MASTER_KEY`` (env, ``_FILE`` or ``.env``) when set. Otherwise the first start generates
one (:func:`ensure_master_key` returns it once), stores only its SHA-256 in the ``settings``
table and writes the key to a 0600 file in the state directory (:func:`announce_master_key`),
printing it only when stderr is a terminal. A 256-bit random secret needs no salt or pepper, and a plain
hash keeps the master key valid if the pepper is ever replaced.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from doorman.auth.keys import same
from doorman.auth.service import Actor
from doorman.auth.sessions import SESSION_COOKIE, session_actor
from doorman.db.models import ServerSetting
from doorman.errors import AuthenticationFailed
from doorman.secrets import read_secret

MASTER_ENV = "DOORMAN_MASTER_KEY"
SETTING_NAME = "master_key_sha256"
MASTER_PREFIX = "dm-master-"
_MAX_HEADER = 512
_CACHE_TTL_S = 5.0
_hash_cache: weakref.WeakKeyDictionary[AsyncEngine, tuple[float, str | None]] = (
    weakref.WeakKeyDictionary()
)


MASTER_KEY_FILE = "master-key"


def write_master_key_file(plaintext: str, directory: Path) -> Path:
    """Keep a new master key in a 0600 file (atomically replaced) and return its path.

    The key is generated before the server binds its port: a start that then fails (port in
    use) must not lose it, and it must not land in a log stream that is not a terminal.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / MASTER_KEY_FILE
    tmp = directory / f".{MASTER_KEY_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"DOORMAN_MASTER_KEY={plaintext}\n")
    os.replace(tmp, path)
    return path


def announce_master_key(plaintext: str, directory: Path, *, interactive: bool) -> str:
    """What ``serve`` prints about a new master key: the key itself only on a terminal."""
    path = write_master_key_file(plaintext, directory)
    lines = ["Doorman generated a master key (only its hash is stored in the database)."]
    if interactive:
        lines.append(f"  DOORMAN_MASTER_KEY={plaintext}")
    lines.append(
        f"  It is in {path} (mode 0600): move it to your secret store as DOORMAN_MASTER_KEY, "
        "then delete the file."
    )
    return "\n".join(lines)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


async def ensure_master_key(engine: AsyncEngine) -> str | None:
    """The new plaintext master key when one was just generated, else None (env or stored)."""
    if read_secret(MASTER_ENV):
        return None
    if await _stored_hash(engine) is not None:
        return None
    plaintext = MASTER_PREFIX + secrets.token_urlsafe(32)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(ServerSetting).values(
                    name=SETTING_NAME, value=_sha256(plaintext), updated_at=datetime.now(UTC)
                )
            )
    except IntegrityError:
        return None  # another replica generated it first
    _hash_cache.pop(engine, None)
    return plaintext


async def _stored_hash(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        value = await conn.scalar(
            select(ServerSetting.value).where(ServerSetting.name == SETTING_NAME)
        )
    return str(value) if value is not None else None


async def verify_master_key(engine: AsyncEngine, candidate: str) -> bool:
    """Constant-time check against the env key, or the stored hash (cached for a few seconds)."""
    configured = read_secret(MASTER_ENV)
    if configured:
        return same(candidate, configured)
    now = time.monotonic()
    cached = _hash_cache.get(engine)
    if cached is None or now - cached[0] > _CACHE_TTL_S:
        cached = (now, await _stored_hash(engine))
        _hash_cache[engine] = cached
    stored = cached[1]
    return stored is not None and same(_sha256(candidate), stored)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def require_master(request: Request) -> Actor:
    """Guard for admin routes: ``Authorization: Bearer <master key>`` or 401.

    Without an ``Authorization`` header, a console session cookie is accepted instead
    (:mod:`doorman.auth.sessions`; state-changing methods then need its CSRF token).

    Failures count towards the caller address's lock-out (shared with API-key authentication),
    so the master key cannot be brute-forced either.
    """
    gateway: Any = request.app.state.doorman
    address = client_address(request)
    authenticator = getattr(gateway, "authenticator", None)
    if authenticator is not None:
        await authenticator.check_lockout(address)
    header = request.headers.get("authorization")
    cookie = request.cookies.get(SESSION_COOKIE) if header is None else None
    try:
        if cookie is not None:  # the console's browser: a session cookie plus its CSRF token
            return await session_actor(request, cookie)
        token = _bearer(header)
        if not await verify_master_key(gateway.engine, token):
            raise AuthenticationFailed("invalid master key", code="invalid_master_key")
    except AuthenticationFailed as exc:
        # An expired or signed-out session is not a guess; a forged one is.
        if authenticator is not None and exc.code not in ("session_expired", "session_ended"):
            await authenticator.record_failure(address, exc.code)
        raise
    return Actor(name="master", address=address)


def _bearer(header: str | None) -> str:
    if header is None or not header.strip():
        raise AuthenticationFailed(
            "the admin API needs 'Authorization: Bearer <master key>'", code="missing_master_key"
        )
    if len(header) > _MAX_HEADER or any(ord(c) < 32 or ord(c) == 127 for c in header):
        raise AuthenticationFailed("malformed authorization header", code="malformed_master_key")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "unsupported authorization scheme; use 'Bearer'", code="unsupported_auth_scheme"
        )
    return token.strip()
