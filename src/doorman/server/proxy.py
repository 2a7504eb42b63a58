"""The proxy endpoints as a plain ASGI app: the hot path, with no framework objects per request.

Why not a Starlette endpoint: on an instant upstream, building Request/Response objects and
passing through the middleware stack cost about as much as a whole bare proxy's request. The
same app is mounted as a Starlette route too, so wrong methods still get a proper 405 there; the
outer :class:`FastPathApp` hands POSTs to it directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, cast

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doorman.errors import (
    DoormanError,
    InternalError,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    WireFormat,
)
from doorman.exchange import Exchange
from doorman.pipeline import Pipeline, Reply
from doorman.server.http import request_id_from, scope_path
from doorman.server.state import Gateway

log = structlog.get_logger("doorman.server")

_JSON = (b"content-type", b"application/json")
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class ProxyEndpoint:
    """``POST /v1/chat/completions`` (and ``/chat/completions``) or ``POST /v1/messages``."""

    def __init__(self, wire: WireFormat, state: Callable[[], tuple[Gateway, Pipeline]]) -> None:
        self.wire: WireFormat = wire
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wire = self.wire
        # The first of repeated headers wins (what Starlette's mapping gave the old endpoint).
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
        request_id = request_id_from(headers.get("x-request-id"))
        try:
            gw, pipeline = self.state()
        except KeyError:  # a request racing start-up or shut-down
            await send_error(send, ServiceUnavailable("The gateway is starting or stopping.",
                                                      code="not_ready"), wire, request_id)  # fmt: skip
            return
        try:
            if "json" not in headers.get("content-type", "application/json"):
                raise UnsupportedMediaType("Send the request as application/json.")
            raw = await _read_body(receive, headers.get("content-length"), gw.settings.server.max_body_bytes)
        except DoormanError as exc:
            await send_error(send, exc, wire, request_id)
            return
        if raw is None:
            return  # the client hung up mid-upload: nothing to answer, nothing to run
        client = scope.get("client")
        ex = Exchange(
            request_id=request_id,
            wire=wire,
            method="POST",
            path=scope_path(scope),
            headers=headers,
            raw_body=raw,
            client_ip=client[0] if client else "unknown",
        )
        try:
            reply = await pipeline.run(ex)
        except DoormanError as exc:
            extra = pipeline.error_headers(ex)  # limits evaluated so far, cost, key expiry
            await send_error(send, exc, wire, request_id, extra)
            return
        except Exception:
            log.exception("unhandled_error", path=scope["path"], request_id=request_id)
            await send_error(send, InternalError("The gateway failed to handle this request."),
                             wire, request_id)  # fmt: skip
            return
        if reply.stream is not None:
            await _send_stream(reply, request_id, receive, send)
        else:
            await _send_body(send, reply, request_id)


async def _read_body(receive: Receive, length: str | None, cap: int) -> bytes | None:
    """The body, refusing more than ``cap`` bytes before reading them all; None when the
    client disconnected before sending all of it."""
    if length is not None and length.isdigit() and int(length) > cap:
        raise PayloadTooLarge(f"The request body is {length} bytes; the limit is {cap} bytes.")
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > cap:
            raise PayloadTooLarge(f"The request body exceeds the limit of {cap} bytes.")
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"The request body exceeds the limit of {cap} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _encode(headers: Mapping[str, str], request_id: str) -> list[tuple[bytes, bytes]]:
    out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    out.append((b"x-request-id", request_id.encode("latin-1")))
    return out


async def send_error(
    send: Send,
    exc: DoormanError,
    wire: WireFormat,
    request_id: str,
    extra: Mapping[str, str] | None = None,
) -> None:
    body = exc.render(wire)
    raw = _encode({**exc.headers, **(extra or {})}, request_id)
    raw += [_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": exc.status_code, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_body(send: Send, reply: Reply, request_id: str) -> None:
    body = reply.body or b""
    raw = _encode(reply.headers, request_id)
    raw += [_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": reply.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_stream(reply: Reply, request_id: str, receive: Receive, send: Send) -> None:
    """Relay the stream; a client that goes away cancels it (and so frees the upstream)."""
    assert reply.stream is not None
    stream: AsyncIterator[bytes] = reply.stream
    raw = _encode(reply.headers, request_id) + _SSE_HEADERS

    async def pump() -> None:
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def disconnected() -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                return

    pumping = asyncio.ensure_future(pump())
    watching = asyncio.ensure_future(disconnected())
    failure: BaseException | None = None
    try:
        await asyncio.wait((pumping, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pumping, watching):
            task.cancel()
        for task in (pumping, watching):
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # e.g. the transport failed under send(): log, clean up
                failure = failure or exc
        await reply.aclose()  # settle, ledger, log -- also when the relay never started
    if failure is not None:
        log.warning("stream_send_failed", error=type(failure).__name__, request_id=request_id)


class FastPathApp:
    """Sends POSTs to the proxy paths straight to their endpoint; everything else to ``app``.

    With ``trusted_proxies`` (CIDRs), the client address of a request whose peer is one of them
    is taken from ``X-Forwarded-For`` (uvicorn's proxy-headers middleware, applied here so it
    holds however the app is served); from any other peer the header is ignored, so a caller
    cannot pick the address that lock-outs and audit records see.
    """

    def __init__(
        self,
        app: ASGIApp,
        endpoints: Mapping[str, ProxyEndpoint],
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.endpoints = dict(endpoints)
        self._entry: ASGIApp = self._route
        if trusted_proxies:
            from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

            middleware = ProxyHeadersMiddleware(self._route, list(trusted_proxies))  # type: ignore[arg-type]
            self._entry = cast(ASGIApp, middleware)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.endpoints.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        # Tests and tools reach app.state, app.routes, ... of the Starlette app inside.
        return getattr(self.app, name)
