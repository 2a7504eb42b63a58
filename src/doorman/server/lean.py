"""Proxy POSTs answered by the HTTP protocol itself, without an ASGI request cycle.

Why: on an instant upstream, uvicorn's per-request machinery -- the scope dict, the
RequestResponseCycle, its Event, the ASGI receive/send messages and the layers between them --
cost a large share of what the whole gateway adds to a bare proxy (bench/RESULTS.md). For the
routes that carry the traffic, the guarded protocol (server/protocol.py) recognises the request
when its head is complete, keeps its body itself and, once it is whole, asks the same
:class:`~doorman.server.proxy.ProxyEndpoint` the ASGI app asks, then writes the answer as bytes.

What stays the ASGI app's: everything else, and the cases whose framing uvicorn already gets
right -- a request pipelined behind one still being answered, ``Expect: 100-continue``, HTTP/1.0,
upgrades, any other method (so a wrong one still gets its 405), a path that is not exactly one
of the routes (percent-encoded, absolute form, fragments), and trusted-proxy deployments (whose
client address comes from the ASGI middleware).

A :class:`LeanRequest` stands in for uvicorn's cycle on the connection (``protocol.cycle``), so
uvicorn's own keep-alive, pipelining, shutdown and disconnect handling see it as one: it has
the attributes they read (``response_complete``, ``disconnected``, ``keep_alive``, ...).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog
from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE, STATUS_LINE

from doorman.errors import InternalError
from doorman.server.proxy import Answer, Opened, ProxyEndpoint, body_too_large, relay_stream

if TYPE_CHECKING:
    from doorman.server.protocol import GuardedHttpToolsProtocol

log = structlog.get_logger("doorman.server")

_DISCONNECT = {"type": "http.disconnect"}


def check_headers(headers: list[tuple[bytes, bytes]]) -> None:
    """uvicorn's checks of a response's header names and values, over all of them at once
    (uvicorn runs two regular expressions per header); both front doors that write their own
    response heads use it."""
    if HEADER_RE.search(b"".join([name for name, _ in headers])):
        raise RuntimeError("Invalid HTTP header name.")
    if HEADER_VALUE_RE.search(b"".join([value for _, value in headers])):
        raise RuntimeError("Invalid HTTP header value.")


class _NoEvent:
    """uvicorn sets ``cycle.message_event`` on a disconnect or timeout; a lean request learns
    of those through :meth:`LeanRequest.client_gone` instead."""

    @staticmethod
    def set() -> None:
        return None


_NO_EVENT = _NoEvent()


class LeanRequest:
    """One proxy POST on a connection, from its complete head to its last response byte."""

    __slots__ = (
        "chunks",
        "disconnected",
        "endpoint",
        "headers",
        "keep_alive",
        "lost",
        "opened",
        "path",
        "proto",
        "response_complete",
        "response_started",
        "size",
    )  # fmt: skip
    message_event = _NO_EVENT

    def __init__(
        self,
        proto: GuardedHttpToolsProtocol,
        endpoint: ProxyEndpoint,
        headers: dict[str, str],
        path: str,
        keep_alive: bool,
    ) -> None:
        self.proto = proto
        self.endpoint = endpoint
        self.headers = headers
        self.path = path
        self.keep_alive = keep_alive
        self.opened: Opened | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.response_started = False
        self.response_complete = False
        self.disconnected = False
        self.lost: asyncio.Future[None] | None = None

    # -- the request ------------------------------------------------------------------------
    def start(self) -> None:
        """The head is complete: refuse at once what needs no body, else expect one."""
        opened = self.endpoint.open(self.headers)
        if isinstance(opened, Answer):
            self.write_full(opened)  # the body that follows is read and dropped
        else:
            self.opened = opened

    def body(self, data: bytes) -> None:
        if self.response_started or self.opened is None:
            return  # refused already: the rest of the body is read and dropped
        self.size += len(data)
        if self.size > self.opened.max_body:
            self.chunks = []
            self.write_full(self.endpoint.error(body_too_large(self.opened.max_body),
                                                self.opened.request_id))  # fmt: skip
            return
        self.chunks.append(data)

    def complete(self) -> None:
        """The body is whole: run it (unless it was refused while it came)."""
        if self.response_started or self.opened is None:
            return
        proto = self.proto
        task = proto.loop.create_task(self.run())
        proto.tasks.add(task)
        task.add_done_callback(proto.tasks.discard)

    async def run(self) -> None:
        opened = self.opened
        assert opened is not None
        chunks = self.chunks
        raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks = []
        client = self.proto.client
        try:
            answer = await self.endpoint.answer(
                opened, self.headers, raw, self.path, client[0] if client else "unknown"
            )
            if answer.reply is None:
                self.write_full(answer)
            else:
                await relay_stream(answer, self.receive, self.send)
        except Exception:  # a bug past the endpoint's own error handling: never a hung socket
            log.exception("lean_request_failed", path=self.path)
            if not self.response_started:
                error = InternalError("The gateway failed to handle this request.")
                self.keep_alive = False
                self.write_full(self.endpoint.error(error, opened.request_id))
            else:
                self.proto.transport.close()

    def client_gone(self) -> None:
        """The connection was lost: nothing more is written; a relayed stream is cancelled."""
        if not self.response_complete:
            self.disconnected = True
        lost = self.lost
        if lost is not None and not lost.done():
            lost.set_result(None)

    # -- the response -----------------------------------------------------------------------
    def _head(self, status: int, headers: list[tuple[bytes, bytes]], extra: bytes) -> bytes:
        proto = self.proto
        headers = proto.server_state.default_headers + headers
        check_headers(headers)
        parts = [STATUS_LINE[status]]
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        parts += (extra, b"\r\n")
        return b"".join(parts)

    def write_full(self, answer: Answer) -> None:
        """A whole answer in one write (head and body), then the connection's next request."""
        self.response_started = True
        if not self.disconnected:
            self.proto.transport.write(self._head(answer.status, answer.headers, b"") + answer.body)
        self._finished()

    def _finished(self) -> None:
        self.response_complete = True
        proto = self.proto
        if not self.keep_alive:
            proto.transport.close()
        proto.on_response_complete()

    # -- ASGI-shaped callables for relay_stream (one relay for both front doors) -------------
    async def send(self, message: Any) -> None:
        proto = self.proto
        if proto.flow.write_paused and not self.disconnected:
            await proto.flow.drain()
        if self.disconnected or self.response_complete:
            return
        if message["type"] == "http.response.start":
            self.response_started = True
            head = self._head(
                message["status"], message["headers"], b"transfer-encoding: chunked\r\n"
            )
            proto.transport.write(head)
            return
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        out = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
        if not more:
            out += b"0\r\n\r\n"
        if out:
            proto.transport.write(out)
        if not more:
            self._finished()

    async def receive(self) -> Any:
        if not self.disconnected and not self.response_complete:
            self.lost = self.proto.loop.create_future()
            await self.lost
        return _DISCONNECT
