"""HTTP plumbing shared by the proxy, ops and admin routes: ids, paths, bodies, error replies."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from doorman.errors import DoormanError, WireFormat

if TYPE_CHECKING:
    from doorman.auth.principal import Principal

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_from(given: str | None) -> str:
    """The client's ``x-request-id`` when well-formed, else a fresh random one."""
    if given and _REQUEST_ID.match(given):
        return given
    return "req_" + os.urandom(16).hex()


def request_id_for(request: Request) -> str:
    return request_id_from(request.headers.get("x-request-id"))


def scope_path(scope: Mapping[str, Any]) -> str:
    """The path exactly as sent, query included: what request signatures cover."""
    raw = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    path = raw.decode("latin-1")
    return f"{path}?{query.decode('latin-1')}" if query else path


def signed_path(request: Request) -> str:
    return scope_path(request.scope)


async def authenticate_get(request: Request) -> Principal:
    """The API-key caller of a body-less ``GET`` route (``/v1/models``, ``/v1/approvals``):
    the same checks, lock-outs and signatures as the proxy routes."""
    principal: Principal = await request.app.state.doorman.authenticator.authenticate(
        dict(request.headers),
        request.method,
        signed_path(request),
        b"",
        request.client.host if request.client else "unknown",
    )
    return principal


def wire_for_path(path: str) -> WireFormat:
    return "anthropic" if path.startswith("/v1/messages") else "openai"


def error_response(exc: DoormanError, wire: WireFormat, request_id: str) -> Response:
    headers = {**exc.headers, "x-request-id": request_id}
    return Response(
        exc.render(wire), exc.status_code, headers=headers, media_type="application/json"
    )
