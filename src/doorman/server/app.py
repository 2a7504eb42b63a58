"""The ASGI application: proxy routes, admin routes, ops routes, and start-up wiring."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from doorman.auth.pepper import PepperMismatch
from doorman.config import Settings
from doorman.embeddings import EmbeddingsPipeline
from doorman.errors import DoormanError, InternalError, NotFound
from doorman.pipeline import Pipeline
from doorman.server.build import build_gateway, close_gateway
from doorman.server.http import error_response, request_id_for, wire_for_path
from doorman.server.openapi import openapi_json
from doorman.server.ops import ops_routes
from doorman.server.proxy import FastPathApp, ProxyEndpoint
from doorman.server.state import Gateway
from doorman.server.transcriptions import TranscriptionEndpoint, preload_audio


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


def freeze_startup_heap() -> None:
    """Move everything built at start-up out of the cyclic collector's reach.

    The tokenizer, the screening model and the config leave ~150k long-lived objects that every
    full collection would re-scan; under load that was ~15% of the gateway's CPU and most of its
    p99 (bench/RESULTS.md). Frozen objects are still freed by reference counting.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, *, freeze_heap: bool = False) -> FastPathApp:
    """The gateway app: proxy, admin and ops routes, nothing else.

    The built-in simulator, when the config uses it, runs on a private unix socket started by
    :func:`build_gateway`; no simulator route is reachable here.

    ``freeze_heap`` is for a process that serves only this app (``doorman serve``), never for
    an app embedded in someone else's process, whose collector is not ours to tune.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            gw, new_master = await build_gateway(settings)
        except PepperMismatch as exc:
            print(f"Doorman cannot start: {exc}", file=sys.stderr, flush=True)
            raise
        if new_master:
            from doorman.auth.master import announce_master_key
            from doorman.state import state_dir

            text = announce_master_key(
                new_master, state_dir(settings), interactive=sys.stderr.isatty()
            )
            print(f"\n{text}\n", file=sys.stderr, flush=True)
        app.state.doorman = gw
        app.state.pipeline = Pipeline(gw)
        app_state["live"] = (gw, app.state.pipeline)
        app_state["embeddings"] = (gw, EmbeddingsPipeline(gw))
        if freeze_heap:
            freeze_startup_heap()
        preload_audio()  # in the background, once serving: the first transcription won't wait
        try:
            yield
        finally:
            app_state.pop("live", None)
            app_state.pop("embeddings", None)
            await close_gateway(gw)

    from doorman.approvals.admin import routes as approval_admin_routes
    from doorman.approvals.api import routes as approval_routes
    from doorman.auth.admin import routes as key_admin_routes
    from doorman.ledger.admin import routes as ledger_admin_routes
    from doorman.observe.admin import routes as insight_admin_routes
    from doorman.server.console import console_routes

    app_state: dict[str, tuple[Gateway, Pipeline]] = {}
    openai = ProxyEndpoint("openai", lambda: app_state["live"])
    anthropic = ProxyEndpoint("anthropic", lambda: app_state["live"])
    embeddings = ProxyEndpoint("openai", lambda: app_state["embeddings"])
    proxies = {
        "/v1/chat/completions": openai,
        "/chat/completions": openai,
        "/v1/messages": anthropic,
        "/v1/embeddings": embeddings,
        "/embeddings": embeddings,
    }
    transcribe = TranscriptionEndpoint(lambda: app_state["live"][0])
    routes: list[BaseRoute] = [
        *(Route(path, endpoint, methods=["POST"]) for path, endpoint in proxies.items()),
        Route("/v1/audio/transcriptions", transcribe, methods=["POST"]),
        *ops_routes(),
        *approval_routes,
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Mount(
            "/admin",
            routes=[
                *key_admin_routes,
                *ledger_admin_routes,
                *insight_admin_routes,
                *approval_admin_routes,
            ],
        ),
    ]
    if settings.console.enabled:
        routes.append(Mount("/console", routes=console_routes()))
    inner = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: _not_found,
            DoormanError: _doorman_error,
            Exception: _crash,
        },
    )
    return FastPathApp(inner, proxies, settings.server.trusted_proxies)
