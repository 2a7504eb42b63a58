"""``/console/session``: sign in with the master key, read the CSRF token, sign out.

Sign-in goes through the same lock-out as API keys (per client address, shared by replicas
with Redis), and it accepts only a JSON body, which a cross-site HTML form cannot send.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from doorman.auth.master import client_address, verify_master_key
from doorman.auth.service import Actor, KeyService
from doorman.auth.sessions import (
    SESSION_COOKIE,
    SIGNIN_ACTION,
    SIGNOUT_ACTION,
    Session,
    session_actor,
    sessions_for,
)
from doorman.errors import AuthenticationFailed, BadRequest, UnsupportedMediaType
from doorman.server.console.headers import SECURITY_HEADERS

MAX_SIGNIN_BODY = 4096


def _json(data: Any, status: int = 200) -> Response:
    headers = {**SECURITY_HEADERS, "cache-control": "no-store"}
    return Response(orjson.dumps(data), status, headers=headers, media_type="application/json")


def _session_body(session: Session) -> dict[str, Any]:
    return {
        "csrf_token": session.csrf_token,
        "expires_at": datetime.fromtimestamp(session.expires_at, UTC).isoformat(),
    }


def _service(gateway: Any) -> KeyService:
    authenticator = getattr(gateway, "authenticator", None)
    if authenticator is not None:
        return KeyService(gateway.engine, gateway.settings, pepper=authenticator.pepper)
    return KeyService(gateway.engine, gateway.settings)


async def _master_key_from(request: Request) -> str:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise UnsupportedMediaType(
            "sign in with a JSON body: {\"master_key\": \"...\"}", code="unsupported_media_type"
        )
    raw = await request.body()
    if len(raw) > MAX_SIGNIN_BODY:
        raise BadRequest("the sign-in body is too large", code="invalid_request")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("the request body is not valid JSON", code="invalid_json") from None
    key = data.get("master_key") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key:
        raise BadRequest("'master_key' is required", code="invalid_request", param="master_key")
    return key


async def sign_in(request: Request) -> Response:
    """``POST /console/session`` with ``{"master_key": ...}``: sets the session cookie."""
    gateway = request.app.state.doorman
    address = client_address(request)
    authenticator = getattr(gateway, "authenticator", None)
    if authenticator is not None:
        await authenticator.check_lockout(address)
    key = await _master_key_from(request)
    if not await verify_master_key(gateway.engine, key):
        if authenticator is not None:
            await authenticator.record_failure(address, "invalid_master_key")
        raise AuthenticationFailed("invalid master key", code="invalid_master_key")
    sessions = await sessions_for(gateway)
    cookie, session = sessions.issue()
    await _service(gateway).record(
        SIGNIN_ACTION, session.audit_target, {}, Actor("console", address)
    )
    response = _json(_session_body(session), 201)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=sessions.ttl_s,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def current(request: Request) -> Response:
    """``GET /console/session``: the session's CSRF token and expiry, or 401."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise AuthenticationFailed("not signed in to the console", code="no_session")
    session = await (await sessions_for(request.app.state.doorman)).check(cookie)
    return _json(_session_body(session))


async def sign_out(request: Request) -> Response:
    """``DELETE /console/session`` (CSRF token required): ends the session on every replica."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise AuthenticationFailed("not signed in to the console", code="no_session")
    actor = await session_actor(request, cookie)
    gateway = request.app.state.doorman
    session = (await sessions_for(gateway)).parse(cookie)
    await _service(gateway).record(SIGNOUT_ACTION, session.audit_target, {}, actor)
    response = _json({"signed_out": True})
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=request.url.scheme == "https", httponly=True,
        samesite="strict",
    )  # fmt: skip
    return response
