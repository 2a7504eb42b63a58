"""``GET /v1/approvals/{id}`` — the caller asks what became of a withheld tool call.

Authenticated like any ``/v1`` call (an API key, either SDK's header). The answer is the
approval's status; only an approved call's first fetch carries the call itself (``tool_call``,
in the wire format of the original request), and that hand-out is single-use. Another user's id
reads exactly like an unknown one (404). ``?wait=N`` holds the request up to N seconds (at most
``approvals.max_wait_seconds``) until a decision, re-reading the database so a decision made on
another replica is seen. Every poll is a request of the caller's (its tier's request rate) and
long-polls are capped per user (:mod:`.polls`).
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from doorman.approvals.polls import poll
from doorman.errors import DoormanError, Unprocessable, WireFormat
from doorman.server.http import authenticate_get, error_response, request_id_for


def caller_wire(request: Request) -> WireFormat:
    """Errors in the format of the SDK asking: Anthropic's sends ``anthropic-version``."""
    headers = request.headers
    if "anthropic-version" in headers or (
        "x-api-key" in headers and "authorization" not in headers
    ):
        return "anthropic"
    return "openai"


def _wait_seconds(request: Request, cap: int) -> float:
    raw = request.query_params.get("wait")
    if raw is None or raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise Unprocessable("wait: must be a number of seconds", param="wait") from None
    if not 0 <= value <= cap:
        raise Unprocessable(f"wait: must be between 0 and {cap} seconds", param="wait")
    return value


async def get_approval(request: Request) -> Response:
    gw = request.app.state.doorman
    wire = caller_wire(request)
    request_id = request_id_for(request)
    try:
        principal = await authenticate_get(request)
        store = gw.approvals
        wait = _wait_seconds(request, store.settings.max_wait_seconds)
        answer, limit_headers = await poll(gw, principal, request.path_params["approval_id"], wait)
    except DoormanError as exc:
        return error_response(exc, wire, request_id)
    if "tool_call" in answer:
        gw.metrics.tool_approvals.labels("collected").inc()
    body = orjson.dumps(answer)
    return Response(
        body,
        media_type="application/json",
        headers={**limit_headers, "x-request-id": request_id, "cache-control": "no-store"},
    )


routes: list[BaseRoute] = [Route("/v1/approvals/{approval_id}", get_approval, methods=["GET"])]
