"""A lean HTTP/1.1 client for full (non-streamed) upstream calls: pooled keep-alive
connections, one write per request, the response parsed by httptools (C).

Why not aiohttp for these: on an instant upstream, aiohttp's request machinery (request and
response objects, timer contexts, header normalisation, a task-aware body reader) cost ~75 us of
CPU per call -- about half of what a whole bare proxy spends per request -- where this costs
~10 us (bench/RESULTS.md, "Fast path, outer half"). Streams stay on aiohttp (``pool.py``): their
cost is per event, not per call.

Semantics follow the aiohttp session it replaces: ``connect`` bounds waiting for a pooled
connection plus opening a new one, ``read`` the silence between two reads once the request is
sent, ``total`` the whole call. A timeout raises :class:`TimeoutError`; a refused, reset or
broken connection raises an :class:`OSError` (:class:`UpstreamConnectionError`). Idle
connections are kept for ``keepalive_s`` (aiohttp's 15 s), newest first, so a server closing
idle ones rarely meets a request on them.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

KEEPALIVE_S = 15.0
# Bounds on what an upstream may send back: a broken or hostile one cannot grow memory without
# end. A head is a few hundred bytes; the largest legitimate bodies are big embedding batches.
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 256 * 1024 * 1024


class UpstreamConnectionError(ConnectionError):
    """The connection failed, closed early or carried something that is not HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where requests go: ``scheme://host:port`` plus the base URL's path, or a unix socket."""

    scheme: str
    host: str
    port: int
    prefix: str  # the base URL's path, without a trailing slash
    unix_path: str | None = None

    @classmethod
    def from_url(cls, base_url: str, unix_path: str | None = None) -> Origin:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"), unix_path)

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def encode_headers(headers: dict[str, str]) -> bytes:
    """A header block (``name: value\\r\\n`` lines) sent as is with every request.

    Values come from configuration (provider keys and extra headers): a line break in one
    would let it inject headers, so it is refused here, once, rather than sent.
    """
    lines = []
    for name, value in headers.items():
        if any(c in name for c in "\r\n:") or "\r" in value or "\n" in value:
            raise ValueError(f"invalid upstream header {name!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


class Http1Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: CIMultiDictProxy[str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Http1Response] | None = None
        self.closed = False
        self.idle_since = 0.0
        self.last_read = 0.0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._head_size = 0
        self._body_size = 0
        self._status = 0
        self._in_message = False
        self._reusable = False

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.last_read = self.loop.time()
        if self.waiter is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except UpstreamConnectionError as exc:  # raised by a callback: over a bound
            self._fail(exc)
        except httptools.HttpParserCallbackError as exc:  # the same, as wrapped by httptools
            cause = exc.__context__ or exc.__cause__
            self._fail(
                cause
                if isinstance(cause, UpstreamConnectionError)
                else UpstreamConnectionError(f"unreadable response from the upstream ({exc})")
            )
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamConnectionError("the upstream switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(
                UpstreamConnectionError(f"malformed HTTP response from the upstream ({exc})")
            )

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self._in_message and self._status and self._delimited_by_close():
            self._complete(reusable=False)  # a body that ends when the connection does
            return
        self.waiter = None
        waiter.set_exception(UpstreamConnectionError("the upstream closed the connection"))

    # -- httptools callbacks -------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._in_message = True
        self._headers = []
        self._body = []
        self._head_size = self._body_size = 0

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_HEAD_BYTES:
            raise UpstreamConnectionError(f"response headers over {MAX_HEAD_BYTES} bytes")
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > MAX_BODY_BYTES:
            raise UpstreamConnectionError(f"response body over {MAX_BODY_BYTES} bytes")
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:  # an interim answer (100 Continue): the real one follows
            self._in_message = False
            self._status = 0
            return
        self._complete(reusable=self.parser.should_keep_alive())

    # -- requests --------------------------------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future[Http1Response]:
        assert self.transport is not None
        self.waiter = waiter = self.loop.create_future()
        self._status = 0
        self._in_message = False
        self._reusable = False
        self.transport.write(data)
        return waiter

    def usable(self, now: float) -> bool:
        return not self.closed and now - self.idle_since < KEEPALIVE_S

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _delimited_by_close(self) -> bool:
        names = {n.lower() for n, _ in self._headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def _complete(self, *, reusable: bool) -> None:
        waiter, self.waiter = self.waiter, None
        self._in_message = False
        if waiter is None or waiter.done():
            return
        self._reusable = reusable and not self.closed
        body = b"".join(self._body) if len(self._body) != 1 else self._body[0]
        headers = CIMultiDict(
            (n.decode("latin-1"), v.decode("latin-1")) for n, v in self._headers
        )  # fmt: skip
        self._body = []
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding and encoding != "identity":
            try:
                body = _decompress(body, encoding)
            except (zlib.error, ValueError) as exc:
                self._reusable = False
                waiter.set_exception(UpstreamConnectionError(f"undecodable response body ({exc})"))
                return
        waiter.set_result(Http1Response(self._status, CIMultiDictProxy(headers), body))

    def _fail(self, error: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.close()


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send
    raise ValueError(f"unsupported content-encoding {encoding!r}")


class Http1Pool:
    """Keep-alive connections to one origin, at most ``limit`` open at once."""

    def __init__(
        self, origin: Origin, *, limit: int, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.origin = origin
        self.limit = limit
        self.ssl = ssl_context if ssl_context is not None else (
            ssl.create_default_context() if origin.scheme == "https" else None
        )  # fmt: skip
        self._idle: list[_Connection] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._host_line = f"host: {origin.host_header}\r\n".encode("latin-1")
        self.closed = False

    def request_head(self, path: str, headers: bytes) -> bytes:
        """The request line and headers of ``POST path`` (everything but the length)."""
        target = (self.origin.prefix + path).encode("latin-1")
        return b"POST " + target + b" HTTP/1.1\r\n" + self._host_line + headers

    async def post(
        self, head: bytes, body: bytes, *, connect: float, read: float, total: float
    ) -> Http1Response:
        """Send ``head`` (from :meth:`request_head`) with ``body``; the whole response."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        give_up = start + total
        conn = self._pop_idle(start)
        if conn is None:
            conn = await self._acquire(loop, min(connect, total))
        data = head + b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        done = False
        timer: asyncio.TimerHandle | None = None
        try:
            waiter = conn.send(data)
            conn.last_read = now = loop.time()
            timer = loop.call_at(min(give_up, now + read), self._check, conn, give_up, read)
            response = await waiter
            done = True
            return response
        finally:
            if timer is not None:
                timer.cancel()
            self._release(conn, done and conn._reusable)

    def _check(self, conn: _Connection, give_up: float, read: float) -> None:
        """The one timer of a call: fails it on the total or the read deadline, else re-arms."""
        waiter = conn.waiter
        if waiter is None or waiter.done():
            return
        loop = conn.loop
        now = loop.time()
        due = min(give_up, conn.last_read + read)
        if now < due:
            loop.call_at(due, self._check, conn, give_up, read)
            return
        conn._fail(TimeoutError("the upstream did not answer in time"))

    def _pop_idle(self, now: float) -> _Connection | None:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.usable(now):
                return conn
            conn.close()
            self._open -= 1
        return None

    async def _acquire(self, loop: asyncio.AbstractEventLoop, within: float) -> _Connection:
        async with asyncio.timeout(within):
            while True:
                if self.closed:
                    raise UpstreamConnectionError("the upstream client is closed")
                conn = self._pop_idle(loop.time())
                if conn is not None:
                    return conn
                if self._open < self.limit:
                    self._open += 1
                    try:
                        return await self._connect(loop)
                    except BaseException:
                        self._open -= 1
                        self._wake()
                        raise
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except BaseException:
                    if waiter.done() and not waiter.cancelled():
                        self._wake()  # woken just as we gave up: pass it on
                    else:
                        waiter.cancel()
                    raise

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        origin = self.origin
        conn: Any
        if origin.unix_path is not None:
            _, conn = await loop.create_unix_connection(lambda: _Connection(loop), origin.unix_path)
        else:
            _, conn = await loop.create_connection(
                lambda: _Connection(loop), origin.host, origin.port, ssl=self.ssl,
                server_hostname=origin.host if self.ssl is not None else None,
            )  # fmt: skip
        assert isinstance(conn, _Connection)
        return conn

    def _release(self, conn: _Connection, reusable: bool) -> None:
        if reusable and not conn.closed and not self.closed:
            conn.idle_since = conn.loop.time()
            self._idle.append(conn)
        else:
            conn.close()
            self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        self.closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
            self._open -= 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
