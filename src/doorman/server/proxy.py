"""The proxy endpoints: the hot path, with no framework objects per request.

Why not a Starlette endpoint: on an instant upstream, building Request/Response objects and
passing through the middleware stack cost about as much as a whole bare proxy's request.

Two front doors share one :class:`ProxyEndpoint`: the guarded HTTP protocol answers most POSTs
itself (server/lean.py: no ASGI scope, cycle or messages), and the ASGI app below serves every
request that protocol hands on (pipelined, ``Expect: 100-continue``, in-process clients, ...).
Both ask the endpoint the same two questions -- may a body come (:meth:`ProxyEndpoint.open`),
and what is the answer to it (:meth:`ProxyEndpoint.answer`) -- so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(slots=True)
class Answer:
    """What goes back to the caller: a full body (``reply`` None) or a stream to relay.

    ``headers`` are encoded and complete (content type and length of a full body included);
    a stream's taker must call ``reply.aclose()`` however the relay ends."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    reply: Reply | None = None


@dataclass(slots=True)
class Opened:
    """A request whose body may be read: the gateway serving it and the body cap."""

    gw: Gateway
    pipeline: Pipeline
    request_id: str
    max_body: int


def request_headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header names (lower-case) to values; the first of repeated headers wins (what
    Starlette's mapping gave the old endpoint)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(raw)}


class ProxyEndpoint:
    """``POST /v1/chat/completions`` (and ``/chat/completions``) or ``POST /v1/messages``."""

    def __init__(self, wire: WireFormat, state: Callable[[], tuple[Gateway, Pipeline]]) -> None:
        self.wire: WireFormat = wire
        self.state = state

    def open(self, headers: Mapping[str, str]) -> Opened | Answer:
        """What can be decided before the body is read: the gateway is up, the body is JSON
        and its declared length is within the cap; else the refusal to send at once."""
        request_id = request_id_from(headers.get("x-request-id"))
        try:
            gw, pipeline = self.state()
        except KeyError:  # a request racing start-up or shut-down
            err = ServiceUnavailable("The gateway is starting or stopping.", code="not_ready")
            return self.error(err, request_id)
        cap = gw.settings.server.max_body_bytes
        if "json" not in headers.get("content-type", "application/json"):
            return self.error(
                UnsupportedMediaType("Send the request as application/json."), request_id
            )
        refused = declared_too_large(headers.get("content-length"), cap)
        if refused is not None:
            return self.error(refused, request_id)
        return Opened(gw, pipeline, request_id, cap)

    async def answer(
        self, opened: Opened, headers: dict[str, str], raw: bytes, path: str, client_ip: str
    ) -> Answer:
        """Run the pipeline on a whole request; every outcome, refusals included, as an Answer."""
        pipeline, request_id = opened.pipeline, opened.request_id
        ex = Exchange(
            request_id=request_id,
            wire=self.wire,
            method="POST",
            path=path,
            headers=headers,
            raw_body=raw,
            client_ip=client_ip,
        )
        try:
            reply = await pipeline.run(ex)
        except DoormanError as exc:
            # Limits evaluated so far, cost, key expiry.
            return self.error(exc, request_id, pipeline.error_headers(ex))
        except Exception:
            log.exception("unhandled_error", path=path, request_id=request_id)
            return self.error(
                InternalError("The gateway failed to handle this request."), request_id
            )
        raw_headers = _encode(reply.headers, request_id)
        if reply.stream is not None:
            return Answer(reply.status, raw_headers + _SSE_HEADERS, reply=reply)
        body = reply.body or b""
        raw_headers += [_JSON, (b"content-length", str(len(body)).encode())]
        return Answer(reply.status, raw_headers, body)

    def error(
        self, exc: DoormanError, request_id: str, extra: Mapping[str, str] | None = None
    ) -> Answer:
        return error_answer(exc, self.wire, request_id, extra)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope["headers"])
        opened = self.open(headers)
        if isinstance(opened, Answer):
            await send_answer(opened, receive, send)
            return
        try:
            raw = await _read_body(receive, None, opened.max_body)  # the length was checked
        except DoormanError as exc:
            await send_answer(self.error(exc, opened.request_id), receive, send)
            return
        if raw is None:
            return  # the client hung up mid-upload: nothing to answer, nothing to run
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        await send_answer(
            await self.answer(opened, headers, raw, scope_path(scope), ip), receive, send
        )


def declared_too_large(length: str | None, cap: int) -> PayloadTooLarge | None:
    """The refusal of a body whose declared length is past the cap, before reading any."""
    if length is not None and length.isdigit() and int(length) > cap:
        return PayloadTooLarge(f"The request body is {length} bytes; the limit is {cap} bytes.")
    return None


def body_too_large(cap: int) -> PayloadTooLarge:
    """The refusal of a body that grew past the cap while it was read."""
    return PayloadTooLarge(f"The request body exceeds the limit of {cap} bytes.")


async def _read_body(receive: Receive, length: str | None, cap: int) -> bytes | None:
    """The body, refusing more than ``cap`` bytes before reading them all; None when the
    client disconnected before sending all of it."""
    refused = declared_too_large(length, cap)
    if refused is not None:
        raise refused
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > cap:
            raise body_too_large(cap)
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
            raise body_too_large(cap)
        chunks.append(chunk)
    return b"".join(chunks)


def _encode(headers: Mapping[str, str], request_id: str) -> list[tuple[bytes, bytes]]:
    out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    out.append((b"x-request-id", request_id.encode("latin-1")))
    return out


def error_answer(
    exc: DoormanError,
    wire: WireFormat,
    request_id: str,
    extra: Mapping[str, str] | None = None,
) -> Answer:
    body = exc.render(wire)
    raw = _encode({**exc.headers, **(extra or {})}, request_id)
    raw += [_JSON, (b"content-length", str(len(body)).encode())]
    return Answer(exc.status_code, raw, body)


async def send_error(
    send: Send,
    exc: DoormanError,
    wire: WireFormat,
    request_id: str,
    extra: Mapping[str, str] | None = None,
) -> None:
    answer = error_answer(exc, wire, request_id, extra)
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    await send({"type": "http.response.body", "body": answer.body})


async def send_answer(answer: Answer, receive: Receive, send: Send) -> None:
    """An Answer as ASGI messages (a stream relayed until it ends or the client goes)."""
    if answer.reply is not None:
        await relay_stream(answer, receive, send)
        return
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    await send({"type": "http.response.body", "body": answer.body})


async def relay_stream(answer: Answer, receive: Receive, send: Send) -> None:
    """Relay the stream; a client that goes away cancels it (and so frees the upstream)."""
    reply = answer.reply
    assert reply is not None and reply.stream is not None
    stream: AsyncIterator[bytes] = reply.stream

    async def pump() -> None:
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
        )
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
        request_id = dict(answer.headers).get(b"x-request-id", b"").decode("latin-1")
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
        self._lean: dict[bytes, ProxyEndpoint] | None = {
            path.encode(): endpoint for path, endpoint in self.endpoints.items()
        }
        if trusted_proxies:
            self._lean = None  # the client address comes from the middleware below
            from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

            middleware = ProxyHeadersMiddleware(self._route, list(trusted_proxies))  # type: ignore[arg-type]
            self._entry = cast(ASGIApp, middleware)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)

    def lean_routes(self) -> dict[bytes, ProxyEndpoint] | None:
        """Raw paths the HTTP protocol may answer itself (server/lean.py), or None."""
        return self._lean

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
