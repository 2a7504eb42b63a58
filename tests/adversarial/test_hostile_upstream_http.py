"""A hostile or broken upstream against the lean HTTP/1.1 client: every misbehaviour ends the
call with a clear error (a connection error or a timeout, which the dispatcher turns into a 502
or 504 and may retry), memory stays bounded, and the pool keeps working afterwards."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from doorman.config import parse_settings
from doorman.errors import DoormanError
from doorman.upstream import http1
from doorman.upstream.deployment import deployments_for
from doorman.upstream.dispatch import Dispatcher
from doorman.upstream.http1 import Http1Pool, Origin, UpstreamConnectionError
from doorman.upstream.pool import UpstreamPool
from upstream_http import Server, ok, post, read_request, serve, tls_contexts

__all__ = ["serve"]


async def test_a_body_cut_short_is_an_error_not_a_short_answer(serve) -> None:  # type: ignore[no-untyped-def]
    async def hang_up_mid_body(reader: Any, writer: Any) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial": ')
        await writer.drain()
        writer.close()

    server = Server(lambda n, head, body: None)
    server.handle = hang_up_mid_body  # type: ignore[method-assign]
    pool = await serve(server)
    with pytest.raises(UpstreamConnectionError):
        await post(pool)


async def test_endless_headers_are_refused_at_a_bound(serve) -> None:  # type: ignore[no-untyped-def]
    huge = b"HTTP/1.1 200 OK\r\n" + b"x-junk: " + b"a" * (http1.MAX_HEAD_BYTES + 10) + b"\r\n"
    pool = await serve(Server(lambda n, head, body: huge + b"content-length: 2\r\n\r\n{}"))
    with pytest.raises(UpstreamConnectionError, match="headers over"):
        await post(pool)


async def test_an_oversized_body_is_refused_at_a_bound(serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(http1, "MAX_BODY_BYTES", 10_000)
    big = b"x" * 50_000
    replies = {1: ok(big), 2: ok()}
    server = Server(lambda n, head, body: replies[n])
    pool = await serve(server)
    with pytest.raises(UpstreamConnectionError, match="body over"):
        await post(pool)
    assert await post(pool) == (200, b'{"ok":true}')  # the poisoned connection was dropped
    assert server.connections == 2


async def test_a_trickling_upstream_is_cut_at_the_total_timeout(serve) -> None:  # type: ignore[no-untyped-def]
    async def trickle(reader: Any, writer: Any) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        try:
            for _ in range(1000):  # a byte every 20 ms: never silent long enough for `read`
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.02)
        except ConnectionError:
            pass

    server = Server(lambda n, head, body: None)
    server.handle = trickle  # type: ignore[method-assign]
    pool = await serve(server)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await post(pool, read=1.0, total=0.4)
    assert time.monotonic() - started < 5


async def test_garbage_and_a_switch_of_protocols_are_connection_errors(serve) -> None:  # type: ignore[no-untyped-def]
    replies = [b"\x16\x03\x01 not http at all\r\n\r\n",
               b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"]  # fmt: skip
    pool = await serve(Server(lambda n, head, body: replies.pop(0)))
    for _ in range(2):
        with pytest.raises(UpstreamConnectionError):
            await post(pool)


async def test_an_untrusted_certificate_is_refused(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = Server(lambda n, head, body: ok())
    pool = await serve(server, tls=tls_contexts(tmp_path, trusted=False))
    with pytest.raises(OSError):  # ssl.SSLCertVerificationError
        await post(pool)


async def test_a_tls_handshake_that_never_ends_times_out_at_connect(tmp_path: Path) -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    srv = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    pool = Http1Pool(Origin.from_url(f"https://127.0.0.1:{port}"), limit=2)
    try:
        with pytest.raises(TimeoutError):
            await post(pool, connect=0.3)
    finally:
        pool.close()
        srv.close()


async def test_through_the_dispatcher_a_malformed_upstream_is_a_clear_502() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            writer.write(b"NOT HTTP\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()

    srv = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    settings = parse_settings({
        "providers": {"p": {"kind": "openai", "base_url": f"http://127.0.0.1:{port}/v1"}},
        "models": {"m": {"provider": "p", "price": {"input": 1, "output": 1}}},
        "reliability": {"max_attempts": 1},
    })  # fmt: skip
    pool = UpstreamPool(settings)
    dispatcher = Dispatcher(settings, pool)
    try:
        with pytest.raises(DoormanError) as caught:
            await dispatcher.send(
                deployments_for(settings, "m"), "openai", lambda dep, wire: {"model": "m"},
                stream=False, deadline=time.monotonic() + 5,
            )  # fmt: skip
    finally:
        await dispatcher.close()
        await pool.close()
        srv.close()
    # What a refused or reset connection always gave: the deployment failed, nothing served.
    assert caught.value.status_code == 503 and caught.value.code == "upstream_unavailable"
