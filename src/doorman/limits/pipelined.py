"""One Redis connection carrying every concurrent limits call, each a single write and read.

redis-py's asyncio client checks a connection out of its pool for every command, wraps it in
retry and timeout layers and encodes arguments in Python: 55-130 us of CPU per EVALSHA on this
machine, and a request makes two (reserve, settle). Redis answers the commands of one connection
in the order they were sent, so one connection and a queue of waiting futures serve all of them:
a call packs its command (hiredis), writes it, and the reply parsed by hiredis resolves the
oldest waiting future (~8 us per call; bench/RESULTS.md). One connection also keeps the calls
of this process in order: a settlement written before a later reservation is applied first.

Only for plain TCP clients (no TLS, unix socket, cluster or credential provider); the limits
store keeps redis-py for those. A caller that gives up waiting (a timeout) leaves its future in
the queue, and the late reply is read and dropped, so replies never shift to the wrong caller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, Any, cast

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from redis.asyncio import Redis


Args = tuple[str | bytes | int | float, ...]


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader(replyError=ResponseError)
        # The calls sent and not answered yet, oldest first, each with its timeout's timer.
        self.waiting: deque[tuple[asyncio.Future[Any], asyncio.TimerHandle]] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, loop: asyncio.AbstractEventLoop, args: Args, timeout: float) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = loop.create_future()
        self.waiting.append((future, loop.call_later(timeout, self.expire, future, timeout)))
        assert self.transport is not None
        self.transport.write(hiredis.pack_command(args))  # type: ignore[arg-type]  # stub: 1-tuple
        return future

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.waiting
        while (reply := self.reader.gets()) is not False:
            if not waiting:  # nothing asked for it: the stream is out of step, start again
                self.fail(RedisConnectionError("Redis sent a reply nobody asked for"))
                return
            future, timer = waiting.popleft()
            timer.cancel()
            if future.done():  # its caller gave up
                continue
            if isinstance(reply, ResponseError):
                text = str(reply)
                future.set_exception(NoScriptError(text) if text.startswith("NOSCRIPT") else reply)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}"))

    def expire(self, future: asyncio.Future[Any], timeout: float) -> None:
        """``future`` waited ``timeout`` seconds: drop the connection and fail every call on it.

        Redis runs nothing for a connection that is gone (a paused or stalled server never
        executes the late command, as with redis-py), and the calls sent with it, stuck behind
        the same stall, fail now as slow (transient) instead of each at its own deadline.
        """
        if not future.done():
            self.fail(RedisTimeoutError(f"Redis did not answer within {timeout:g} s"))

    def fail(self, error: Exception) -> None:
        self.abort()
        while self.waiting:
            future, timer = self.waiting.popleft()
            timer.cancel()
            if not future.done():
                future.set_exception(error)

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class PipelinedRedis:
    """``execute(*args, timeout_s=...)`` over one shared connection, (re)connected on demand."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.db = db
        self.username = username
        self.password = password
        self.connect_timeout = connect_timeout
        self._conn: _Protocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    @classmethod
    def from_client(cls, client: Redis) -> PipelinedRedis | None:
        """The same server as redis-py's ``client``, or None when it is not plain TCP."""
        from redis.asyncio import Redis
        from redis.asyncio.connection import Connection

        if type(client) is not Redis:
            return None
        pool = client.connection_pool
        kwargs = pool.connection_kwargs
        if pool.connection_class is not Connection or kwargs.get("credential_provider"):
            return None
        return cls(
            str(kwargs.get("host") or "localhost"),
            int(kwargs.get("port") or 6379),
            db=int(kwargs.get("db") or 0),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            connect_timeout=float(kwargs.get("socket_connect_timeout") or 5.0),
        )

    def send(self, *args: str | bytes | int | float, timeout_s: float) -> asyncio.Future[Any] | None:
        """Write one command now, without waiting: the future of its reply (a Redis error or
        redis-py's ``TimeoutError`` after ``timeout_s`` seconds as its exception), or None when
        there is no open connection on this event loop (then use :meth:`execute`)."""
        conn = self._conn
        loop = asyncio.get_running_loop()
        if conn is None or conn.closed or self._loop is not loop:
            return None
        return conn.send(loop, args, timeout_s)

    async def execute(self, *args: str | bytes | int | float, timeout_s: float) -> Any:
        """Send one command and return its reply (bytes for strings); Redis errors raise, and
        redis-py's ``TimeoutError`` when no reply came within ``timeout_s`` seconds."""
        conn = self._conn
        loop = asyncio.get_running_loop()
        if conn is None or conn.closed or self._loop is not loop:
            async with asyncio.timeout(timeout_s):
                conn = await self._connect(loop)
        return await conn.send(loop, args, timeout_s)

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Protocol:
        """One connection attempt shared by every caller that needs it now."""
        if self._loop is not loop:
            self._drop()
            self._loop = loop
        pending = self._connecting
        if pending is None or pending.done():
            pending = self._connecting = asyncio.ensure_future(self._open(loop))
            pending.add_done_callback(_retrieve)
        return await asyncio.shield(pending)

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Protocol:
        async with asyncio.timeout(self.connect_timeout):
            _, conn = await loop.create_connection(_Protocol, self.host, self.port)
        setup: list[Args] = []
        if self.password is not None:
            auth = (self.username, self.password) if self.username else (self.password,)
            setup.append(("AUTH", *auth))
        if self.db:
            setup.append(("SELECT", self.db))
        try:
            for command in setup:
                await conn.send(loop, command, self.connect_timeout)
        except BaseException:
            conn.abort()
            raise
        self._conn = conn
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            with contextlib.suppress(RuntimeError):  # its loop may be gone
                conn.abort()
        self._connecting = None

    async def aclose(self) -> None:
        self._drop()


def _retrieve(future: asyncio.Future[Any]) -> None:
    """A failed connection attempt whose callers all gave up is not an unretrieved error."""
    if not future.cancelled():
        future.exception()
