"""HTTP plumbing shared by the proxy, ops and admin routes: ids, paths, bodies, error replies."""

from __future__ import annotations

import re
import uuid

from starlette.requests import Request
from starlette.responses import Response

from doorman.errors import DoormanError, PayloadTooLarge, WireFormat

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_for(request: Request) -> str:
    """The client's ``x-request-id`` when well-formed, else a fresh one."""
    given = request.headers.get("x-request-id")
    if given and _REQUEST_ID.match(given):
        return given
    return "req_" + uuid.uuid4().hex


def signed_path(request: Request) -> str:
    """The path exactly as sent, query included: what request signatures cover."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    path = raw.decode("latin-1")
    return f"{path}?{query.decode('latin-1')}" if query else path


def wire_for_path(path: str) -> WireFormat:
    return "anthropic" if path.startswith("/v1/messages") else "openai"


def error_response(exc: DoormanError, wire: WireFormat, request_id: str) -> Response:
    headers = {**exc.headers, "x-request-id": request_id}
    return Response(
        exc.render(wire), exc.status_code, headers=headers, media_type="application/json"
    )


async def read_body(request: Request, cap: int) -> bytes:
    """The body, refusing more than ``cap`` bytes before reading them all."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > cap:
        raise PayloadTooLarge(f"The request body is {length} bytes; the limit is {cap} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"The request body exceeds the limit of {cap} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
