"""Console sessions: the master key exchanged once for a short-lived, signed session cookie.

Why signed tokens and no session table: every replica can check a cookie with no shared state
but the pepper it already has (the MAC key is derived from it), so the console works behind a
load balancer without sticky sessions. Why the audit log for sign-out: a signed token cannot be
"deleted", so signing out writes a ``console.signout`` audit entry naming the session, and a
cookie whose session appears there is refused on every replica. Admin traffic is small; one
indexed lookup per admin request costs nothing that matters.

A cookie authenticates only the browser, so every state-changing request made with it must
also carry the session's CSRF token (``x-csrf-token``), which the console's script fetches from
``GET /console/session`` and keeps in memory only. The token is derived from the session id
(HMAC), so nothing needs storing for it either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from doorman.auth.service import Actor
from doorman.db.models import AuditEntry
from doorman.errors import AuthenticationFailed, PermissionDenied

SESSION_COOKIE = "doorman_console"
CSRF_HEADER = "x-csrf-token"
SESSION_TTL_S = 3600  # default of console.session_minutes
SIGNOUT_ACTION = "console.signout"
SIGNIN_ACTION = "console.signin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_VERSION = "v1"
_MAX_COOKIE = 256


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    expires_at: int  # unix seconds
    csrf_token: str

    @property
    def audit_target(self) -> str:
        return f"session:{self.id}"


class ConsoleSessions:
    """Issues and checks console session tokens (``v1.<id>.<expiry>.<mac>``)."""

    def __init__(
        self,
        engine: AsyncEngine,
        pepper: bytes,
        *,
        ttl_s: int = SESSION_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self.clock = clock
        self._key = hmac.new(pepper, b"doorman-console-session-v1", hashlib.sha256).digest()

    def _mac(self, message: str) -> str:
        return _b64(hmac.new(self._key, message.encode("ascii"), hashlib.sha256).digest())

    def _session(self, session_id: str, expires_at: int) -> Session:
        return Session(session_id, expires_at, self._mac(f"csrf.{session_id}"))

    def issue(self) -> tuple[str, Session]:
        """A new (cookie value, session)."""
        session_id = secrets.token_urlsafe(16)
        expires_at = int(self.clock()) + self.ttl_s
        body = f"{_VERSION}.{session_id}.{expires_at}"
        return f"{body}.{self._mac(body)}", self._session(session_id, expires_at)

    def parse(self, cookie: str) -> Session:
        """The session a cookie names, checking its MAC and expiry (not sign-out)."""
        parts = cookie.split(".") if len(cookie) <= _MAX_COOKIE else []
        if len(parts) != 4 or parts[0] != _VERSION or not parts[2].isdigit():
            raise AuthenticationFailed("malformed console session", code="invalid_session")
        body = ".".join(parts[:3])
        if not hmac.compare_digest(self._mac(body), parts[3]):
            raise AuthenticationFailed("invalid console session", code="invalid_session")
        expires_at = int(parts[2])
        if expires_at <= self.clock():
            raise AuthenticationFailed(
                "the console session expired; sign in again", code="session_expired"
            )
        return self._session(parts[1], expires_at)

    async def signed_out(self, session: Session) -> bool:
        stmt = (
            select(AuditEntry.id)
            .where(AuditEntry.action == SIGNOUT_ACTION, AuditEntry.target == session.audit_target)
            .limit(1)
        )
        async with self.engine.connect() as conn:
            return (await conn.scalar(stmt)) is not None

    async def check(self, cookie: str) -> Session:
        session = self.parse(cookie)
        if await self.signed_out(session):
            raise AuthenticationFailed("the console session was signed out", code="session_ended")
        return session


async def master_fingerprint(engine: AsyncEngine) -> bytes:
    """A digest of the current master key (of the env key, or the stored hash)."""
    from doorman.auth.master import MASTER_ENV, SETTING_NAME
    from doorman.db.models import ServerSetting
    from doorman.secrets import read_secret

    configured = read_secret(MASTER_ENV)
    if configured:
        return hashlib.sha256(configured.encode("utf-8")).digest()
    async with engine.connect() as conn:
        stored = await conn.scalar(
            select(ServerSetting.value).where(ServerSetting.name == SETTING_NAME)
        )
    return hashlib.sha256(str(stored or "").encode("utf-8")).digest()


async def sessions_for(gateway: Any) -> ConsoleSessions:
    """The gateway's session checker, built on first use from its engine, pepper and master key.

    The MAC key covers the master key's fingerprint: replacing the master key (a restart with a
    new ``DOORMAN_MASTER_KEY``) ends every console session signed with the old one.
    """
    found = getattr(gateway, "console_sessions", None)
    if isinstance(found, ConsoleSessions):
        return found
    authenticator = getattr(gateway, "authenticator", None)
    pepper = authenticator.pepper if authenticator is not None else None
    if pepper is None:
        from doorman.auth.pepper import load_pepper

        pepper = load_pepper()
    settings = getattr(gateway, "settings", None)
    console = getattr(settings, "console", None)
    ttl_s = console.session_minutes * 60 if console is not None else SESSION_TTL_S
    fingerprint = await master_fingerprint(gateway.engine)
    made = ConsoleSessions(gateway.engine, pepper + fingerprint, ttl_s=ttl_s)
    gateway.console_sessions = made
    return made


def console_enabled(gateway: Any) -> bool:
    console = getattr(getattr(gateway, "settings", None), "console", None)
    return console is None or bool(console.enabled)


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site.

    SameSite=Strict already keeps the cookie off cross-site requests; this refuses them even
    on a browser that ignores it. Requests without ``Origin`` (non-browser clients) pass: they
    still need the CSRF token.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def session_actor(request: Request, cookie: str) -> Actor:
    """The console user behind ``cookie``; state-changing methods also need the CSRF token.

    Raises 401 for a missing, forged, expired or signed-out session, 403 for a missing or
    wrong CSRF token or a cross-site origin.
    """
    gateway = request.app.state.doorman
    if not console_enabled(gateway):
        raise AuthenticationFailed("the console is disabled on this gateway", code="console_disabled")
    session = await (await sessions_for(gateway)).check(cookie)
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not same_origin(request):
            raise PermissionDenied(
                "cross-site request refused by the console", code="cross_site_request"
            )
        if not given or not hmac.compare_digest(given.encode(), session.csrf_token.encode()):
            raise PermissionDenied(
                f"state-changing console requests need the '{CSRF_HEADER}' header of the "
                "session (GET /console/session)",
                code="csrf_token_invalid",
            )
    address = request.client.host if request.client else "unknown"
    return Actor(name=f"console:{session.id[:8]}", address=address)
