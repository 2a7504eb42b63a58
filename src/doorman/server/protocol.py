"""uvicorn's httptools protocol with the bounds a public listener needs.

uvicorn bounds neither the time a client may take to send its request head or body nor, with
httptools, the size of that head (``h11_max_incomplete_event_size`` applies to h11 only). A few
hundred connections that trickle a byte at a time then hold sockets and memory for ever. This
subclass adds, per connection:

- a header deadline: the request line and headers must arrive within ``header_timeout_s`` of
  the connection opening (or of the first byte of the next request on a kept-alive one);
- a body deadline: the whole body must arrive within ``body_timeout_s`` of the headers;
- a head size limit counted on the raw bytes, so one endless header line is refused early
  (431) instead of being buffered;
- a cap on open connections per worker: past it a new connection gets 503 and is closed.

A refusal is written straight to the socket with ``connection: close``: no ASGI app runs for it.

Proxy POSTs on an idle connection skip the ASGI request cycle altogether: the protocol keeps
their bodies and writes their answers itself (server/lean.py).

It also sends a response whose length is declared (every full JSON answer) as one write of head
and body (:class:`OneWriteCycle`): uvicorn writes the head at ``http.response.start``, so each
answer cost two ``send(2)`` calls, and it checked each header with two regular expressions.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from doorman.config import ServerSettings
from doorman.server.lean import LeanRequest, check_headers
from doorman.server.proxy import ProxyEndpoint, request_headers

_HEADER_OVERHEAD = 4  # ": " and CRLF around each header


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout_s: float
    body_timeout_s: float
    max_header_bytes: int
    max_connections: int

    @classmethod
    def from_settings(cls, server: ServerSettings) -> ConnectionLimits:
        return cls(
            header_timeout_s=server.header_timeout_s,
            body_timeout_s=server.body_timeout_s,
            max_header_bytes=server.max_header_bytes,
            max_connections=server.max_connections,
        )


def _error_body(status: int, code: str, message: str) -> bytes:
    """OpenAI's error shape: the path (and so the caller's wire format) may be unknown yet."""
    etype = "invalid_request_error" if status < 500 else "service_unavailable"
    return orjson.dumps({"error": {"message": message, "type": etype, "param": None, "code": code}})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._in_head = True  # between requests or inside a request line / headers
        self._head_bytes = 0
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None
        self._lean_routes = _lean_routes(self)
        self._lean: LeanRequest | None = None  # the lean request whose body is being read

    # -- connection ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections:
            self._refuse(503, "too_many_connections", "The gateway has too many open connections; retry shortly.")  # fmt: skip
            return
        self._arm(self._limits.header_timeout_s, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        cycle = self.cycle
        if isinstance(cycle, LeanRequest):
            cycle.client_gone()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            if self._timer is None:  # the first bytes of the next request on a kept-alive one
                self._arm(self._limits.header_timeout_s, self._head_timed_out)
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and not self._refused and self._head_bytes > self._limits.max_header_bytes:
            self._too_large()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # a refusal already answered; the parser just noticed
            super().send_400_response(msg)

    # -- parser callbacks ---------------------------------------------------------------------
    def on_message_begin(self) -> None:
        # uvicorn builds the ASGI scope here; a lean request never needs one, so it is built
        # in on_headers_complete, for the requests that go to the ASGI app.
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def _begin_asgi_request(self) -> None:
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.headers, self.expect_100_continue = url, headers, expect
        self.scope["headers"] = headers

    def on_headers_complete(self) -> None:
        self._disarm()
        self._in_head = False
        self._head_bytes = 0
        size = len(self.url) + sum(len(n) + len(v) + _HEADER_OVERHEAD for n, v in self.headers)
        if size > self._limits.max_header_bytes:
            self._too_large()
            raise _Refused  # stop the parser: no app runs for this request
        if not self._start_lean():
            self._begin_asgi_request()
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is not None and cycle.__class__ is RequestResponseCycle:
                # Its task was created but has not run yet: every send it makes is the subclass's.
                cycle.__class__ = OneWriteCycle
        self._arm(self._limits.body_timeout_s, self._body_timed_out)

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        lean = self._lean
        if lean is not None:
            lean.body(body)
        else:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._in_head = True
        lean = self._lean
        if lean is not None:
            self._lean = None
            lean.complete()
        else:
            super().on_message_complete()

    def _start_lean(self) -> bool:
        """Take this request on the lean path (server/lean.py) when it is a proxy POST the
        protocol can answer itself; False leaves it to uvicorn and the ASGI app."""
        routes = self._lean_routes
        if routes is None or self.expect_100_continue:
            return False
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return False  # pipelined behind an answer still being written: uvicorn queues it
        parser = self.parser
        if parser.get_method() != b"POST" or parser.get_http_version() != "1.1":
            return False
        path, _, query = self.url.partition(b"?")
        endpoint = routes.get(path)
        if endpoint is None or b"#" in query or parser.should_upgrade():
            return False
        text = path.decode("latin-1")
        if query:
            text += "?" + query.decode("latin-1")
        lean = LeanRequest(self, endpoint, request_headers(self.headers), text,
                           parser.should_keep_alive())  # fmt: skip
        self.cycle = self._lean = lean  # type: ignore[assignment]
        lean.start()
        return True

    # -- refusals -----------------------------------------------------------------------------
    def _too_large(self) -> None:
        limit = self._limits.max_header_bytes
        self._refuse(431, "headers_too_large",
                     f"The request line and headers exceed the limit of {limit} bytes.")  # fmt: skip

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            # Still answering the previous request (pipelining): judge the head after that.
            self._arm(self._limits.header_timeout_s, self._head_timed_out)
            return
        if self._head_bytes == 0:
            self._close()  # an idle connection: nothing to answer
        else:
            self._refuse(408, "request_timeout",
                         "The request headers did not arrive in time.")  # fmt: skip

    def _body_timed_out(self) -> None:
        self._timer = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            cycle.disconnected = True  # the app sees http.disconnect; its sends are dropped
            cycle.message_event.set()
            self._refuse(408, "request_timeout", "The request body did not arrive in time.")
        else:
            self._close()

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._refused = True
        self._disarm()
        if self.transport.is_closing():
            return
        body = _error_body(status, code, message)
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _close(self) -> None:
        self._refused = True
        if not self.transport.is_closing():
            self.transport.close()

    def _arm(self, delay: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class OneWriteCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, except that a response declaring its length (and not
    to a HEAD request) keeps its head until the body comes, then writes both at once. Anything
    else -- streams, HEAD, an access log, a paused transport -- takes uvicorn's own path."""

    _head: bytes | None = None

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start" and not self.response_started:
            if self._hold_head(message):
                return
        elif kind == "http.response.body" and self._head is not None:
            await self._send_with_head(message)
            return
        await super().send(message)

    def _hold_head(self, message: Any) -> bool:
        if self.flow.write_paused or self.disconnected or self.access_log:
            return False
        status = message["status"]
        if self.scope["method"] == "HEAD" or status in (204, 304):
            return False
        headers = self.default_headers + list(message.get("headers", []))
        length = None
        for name, value in headers:
            lower = name.lower()
            if lower == b"transfer-encoding":
                return False
            if lower == b"content-length" and length is None:
                length = value
        if length is None:
            return False
        check_headers(headers)
        self.response_started = True
        self.waiting_for_100_continue = False
        self.expected_content_length = int(length.decode())
        self.chunked_encoding = False
        content = [STATUS_LINE[status]]
        has_close = False
        for name, value in headers:
            name = name.lower()
            if name == b"connection" and b"close" in [t.lower().strip() for t in value.split(b",")]:
                self.keep_alive = False
                has_close = True
            content.extend([name, b": ", value, b"\r\n"])
        if not self.keep_alive and not has_close:
            content.append(b"connection: close\r\n")
        content.append(b"\r\n")
        self._head = b"".join(content)
        return True

    async def _send_with_head(self, message: Any) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        head, self._head = self._head, None
        if self.disconnected:
            return
        assert head is not None
        body = message.get("body", b"")
        more_body = message.get("more_body", False)
        if len(body) > self.expected_content_length:
            raise RuntimeError("Response content longer than Content-Length")
        self.expected_content_length -= len(body)
        self.transport.write(head + body)
        if not more_body:
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()


def _lean_routes(proto: HttpToolsProtocol) -> dict[bytes, ProxyEndpoint] | None:
    """The routes this connection answers itself, or None when none can be: another app, a
    root path or a concurrency limit (which the ASGI path enforces)."""
    lean_routes = getattr(type(proto.app), "lean_routes", None)
    if lean_routes is None or proto.root_path or proto.limit_concurrency is not None:
        return None
    routes: dict[bytes, ProxyEndpoint] | None = lean_routes(proto.app)
    return routes


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that was refused."""


def guarded_protocol(server: ServerSettings) -> type[asyncio.Protocol]:
    """The ``http=`` value for ``uvicorn.run``: picklable, so it reaches every worker."""
    limits = ConnectionLimits.from_settings(server)
    return cast(type[asyncio.Protocol], functools.partial(GuardedHttpToolsProtocol, limits=limits))


def raise_open_files_limit(max_connections: int) -> None:
    """Let the process hold ``max_connections`` sockets plus its own files, within the hard
    limit: a low soft limit would turn the connection cap into accept() failures."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
