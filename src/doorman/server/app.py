"""The ASGI application: proxy routes, admin routes, ops routes, and start-up wiring."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route

from doorman.config import Settings
from doorman.errors import (
    DoormanError,
    InternalError,
    NotFound,
    UnsupportedMediaType,
    WireFormat,
)
from doorman.exchange import Exchange
from doorman.pipeline import Pipeline
from doorman.server.build import build_gateway, close_gateway
from doorman.server.http import (
    error_response,
    read_body,
    request_id_for,
    signed_path,
    wire_for_path,
)
from doorman.server.ops import ops_routes
from doorman.server.state import Gateway


def _proxy(wire: WireFormat) -> object:
    async def endpoint(request: Request) -> Response:
        gw: Gateway = request.app.state.doorman
        pipeline: Pipeline = request.app.state.pipeline
        request_id = request_id_for(request)
        try:
            ctype = request.headers.get("content-type", "application/json")
            if "json" not in ctype:
                raise UnsupportedMediaType("Send the request as application/json.")
            raw = await read_body(request, gw.settings.server.max_body_bytes)
        except DoormanError as exc:
            return error_response(exc, wire, request_id)
        ex = Exchange(
            request_id=request_id,
            wire=wire,
            method=request.method,
            path=signed_path(request),
            headers=dict(request.headers),
            raw_body=raw,
            client_ip=request.client.host if request.client else "unknown",
        )
        try:
            reply = await pipeline.run(ex)
        except DoormanError as exc:
            response = error_response(exc, wire, request_id)
            gw.add_key_headers(ex, response.headers)  # type: ignore[arg-type]
            return response
        headers = {**reply.headers, "x-request-id": request_id}
        if reply.stream is not None:
            headers["cache-control"] = "no-cache"
            headers["x-accel-buffering"] = "no"
            return StreamingResponse(
                reply.stream, reply.status, headers=headers, media_type="text/event-stream"
            )
        return Response(reply.body, reply.status, headers=headers, media_type="application/json")

    return endpoint


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    message = "Unknown route." if status == 404 else f"Method {request.method} is not allowed here."
    err = NotFound(
        message, code="unknown_route" if status == 404 else "method_not_allowed", status=status
    )
    return error_response(err, wire_for_path(request.url.path), request_id_for(request))


async def _doorman_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DoormanError)
    return error_response(exc, wire_for_path(request.url.path), request_id_for(request))


async def _crash(request: Request, exc: Exception) -> Response:
    import structlog

    structlog.get_logger("doorman.server").exception("unhandled_error", path=request.url.path)
    err = InternalError("The gateway failed to handle this request.")
    return error_response(err, wire_for_path(request.url.path), request_id_for(request))


def create_app(settings: Settings, *, self_base_url: str | None = None) -> Starlette:
    """The gateway app. ``self_base_url`` is where the built-in simulator is reachable."""
    base = self_base_url or settings.server.public_base_url or _loopback_url(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gw, new_master = await build_gateway(settings, base)
        if new_master:
            print(
                "\nDoorman generated a master key (shown once; only its hash is stored):\n"
                f"  DOORMAN_MASTER_KEY={new_master}\n",
                file=sys.stderr,
                flush=True,
            )
        app.state.doorman = gw
        app.state.pipeline = Pipeline(gw)
        try:
            yield
        finally:
            await close_gateway(gw)

    from doorman.auth.admin import routes as key_admin_routes
    from doorman.ledger.admin import routes as ledger_admin_routes

    routes: list[BaseRoute] = [
        Route("/v1/chat/completions", _proxy("openai"), methods=["POST"]),  # type: ignore[arg-type]
        Route("/chat/completions", _proxy("openai"), methods=["POST"]),  # type: ignore[arg-type]
        Route("/v1/messages", _proxy("anthropic"), methods=["POST"]),  # type: ignore[arg-type]
        *ops_routes(),
        Mount("/admin", routes=[*key_admin_routes, *ledger_admin_routes]),
    ]
    if any(p.kind == "sim" and not p.base_url for p in settings.providers.values()):
        from doorman.sim import SimOptions, create_sim_app
        from doorman.upstream.pool import SIM_PATH

        routes.append(Mount(SIM_PATH, app=create_sim_app(SimOptions())))
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: _not_found,
            DoormanError: _doorman_error,
            Exception: _crash,
        },
    )


def _loopback_url(settings: Settings) -> str:
    host = settings.server.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"
