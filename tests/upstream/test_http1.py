"""The lean upstream client against scripted raw HTTP servers: what a caller of it relies on.

Hostile upstreams (oversized, truncated, trickling, malformed, untrusted TLS) are in
tests/adversarial/test_hostile_upstream_http.py; both use the helpers here.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from pathlib import Path

import pytest

from doorman.upstream.http1 import Http1Pool, Origin, UpstreamConnectionError, encode_headers
from upstream_http import Server, ok, post, read_request, serve, tls_contexts

__all__ = ["serve"]  # the fixture, shared with tests/adversarial


async def test_calls_reuse_one_keep_alive_connection(serve) -> None:  # type: ignore[no-untyped-def]
    server = Server(lambda n, head, body: ok(b'{"echo":' + body + b"}"))
    pool = await serve(server)
    for i in range(5):
        assert await post(pool, str(i).encode()) == (200, b'{"echo":' + str(i).encode() + b"}")
    assert server.connections == 1
    head = server.heads[0].decode()
    assert head.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
    assert "host: 127.0.0.1:" in head and "content-length: 1" in head


async def test_headers_are_case_insensitive_and_errors_keep_their_status(serve) -> None:  # type: ignore[no-untyped-def]
    reply = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\ncontent-length: 2\r\n\r\n{}"
    pool = await serve(Server(lambda n, head, body: reply))
    head = pool.request_head("/x", b"")
    answer = await pool.post(head, b"{}", connect=5, read=5, total=5)
    assert answer.status == 429 and answer.headers["retry-after"] == "3"


async def test_chunked_gzip_and_close_delimited_bodies(serve) -> None:  # type: ignore[no-untyped-def]
    packed = gzip.compress(b'{"zipped":1}')
    replies = [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        ok(packed, b"content-encoding: gzip\r\n"),
        b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end",
    ]
    pool = await serve(Server(lambda n, head, body: replies.pop(0)))
    assert await post(pool) == (200, b"abcde")
    assert await post(pool) == (200, b'{"zipped":1}')
    assert await post(pool) == (200, b"until the end")


async def test_a_connection_the_server_closed_is_not_reused(serve) -> None:  # type: ignore[no-untyped-def]
    server = Server(lambda n, head, body: ok(extra=b"connection: close\r\n"))
    pool = await serve(server)
    assert (await post(pool))[0] == 200
    assert (await post(pool))[0] == 200
    assert server.connections == 2


async def test_hang_up_without_an_answer_is_a_connection_error(serve) -> None:  # type: ignore[no-untyped-def]
    pool = await serve(Server(lambda n, head, body: None))
    with pytest.raises(UpstreamConnectionError) as caught:
        await post(pool)
    assert isinstance(caught.value, OSError)  # what the dispatcher maps to a connection error


async def test_garbage_is_a_connection_error(serve) -> None:  # type: ignore[no-untyped-def]
    pool = await serve(Server(lambda n, head, body: b"SMTP ready\r\n\r\n"))
    with pytest.raises(UpstreamConnectionError):
        await post(pool)


async def test_a_silent_upstream_times_out_and_its_connection_is_dropped(serve) -> None:  # type: ignore[no-untyped-def]
    server = Server(lambda n, head, body: b"hang" if n == 1 else ok())
    pool = await serve(server)
    with pytest.raises(TimeoutError):
        await post(pool, read=0.2)
    assert await post(pool) == (200, b'{"ok":true}')  # a fresh connection
    assert server.connections == 2


async def test_the_pool_limit_queues_calls_and_bounds_the_wait(serve) -> None:  # type: ignore[no-untyped-def]
    server = Server(lambda n, head, body: b"hang" if body == b"slow" else ok())
    pool = await serve(server, limit=1)
    slow = asyncio.ensure_future(post(pool, b"slow", read=0.5))
    await asyncio.sleep(0.05)
    with pytest.raises(TimeoutError):  # no connection free within the connect timeout
        await post(pool, connect=0.1)
    with pytest.raises(TimeoutError):
        await slow
    assert await post(pool) == (200, b'{"ok":true}')  # the slot came back
    assert server.connections == 2


async def test_refused_connection_is_an_os_error() -> None:
    pool = Http1Pool(Origin.from_url("http://127.0.0.1:9"), limit=1)
    with pytest.raises(OSError):
        await post(pool)
    with pytest.raises(OSError):  # the failed attempt gave its slot back
        await post(pool)


def test_header_injection_from_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_headers({"x-extra": "a\r\nx-injected: 1"})
    assert encode_headers({"authorization": "Bearer k"}) == b"authorization: Bearer k\r\n"


def test_origins() -> None:
    assert Origin.from_url("https://api.example.com/v1/").host_header == "api.example.com"
    assert Origin.from_url("https://api.example.com/v1/").prefix == "/v1"
    assert Origin.from_url("http://h:8080").host_header == "h:8080"
    with pytest.raises(ValueError):
        Origin.from_url("ftp://h")


async def test_deflate_bodies_zlib_wrapped_or_raw(serve) -> None:  # type: ignore[no-untyped-def]
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    replies = [
        ok(zlib.compress(b"wrapped"), b"content-encoding: deflate\r\n"),
        ok(raw.compress(b"raw") + raw.flush(), b"content-encoding: deflate\r\n"),
    ]
    pool = await serve(Server(lambda n, head, body: replies.pop(0)))
    assert await post(pool) == (200, b"wrapped")
    assert await post(pool) == (200, b"raw")


async def test_a_kept_alive_connection_the_server_dropped_while_idle_is_replaced(serve) -> None:  # type: ignore[no-untyped-def]
    # The server answers without "connection: close" and then closes anyway (an idle timeout).
    server = Server(lambda n, head, body: ok())

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        _, _ = await read_request(reader)
        writer.write(ok())
        await writer.drain()
        writer.close()  # idle timeout right after answering

    server.handle = handle  # type: ignore[method-assign]
    pool = await serve(server)
    assert (await post(pool))[0] == 200
    await asyncio.sleep(0.1)  # the close reaches the client while the connection is idle
    assert (await post(pool))[0] == 200  # sent on a fresh connection, not the dead one
    assert server.connections == 2


async def test_https_upstream_with_a_trusted_certificate(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = Server(lambda n, head, body: ok(b'{"tls":true}'))
    pool = await serve(server, tls=tls_contexts(tmp_path, trusted=True))
    assert await post(pool) == (200, b'{"tls":true}')
    assert await post(pool) == (200, b'{"tls":true}')
    assert server.connections == 1  # kept alive over TLS too


async def test_proxy_environment_variables_are_ignored_as_aiohttp_did(serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The aiohttp sessions never trusted the environment (trust_env=False): calls go direct.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    pool = await serve(Server(lambda n, head, body: ok()))
    assert await post(pool) == (200, b'{"ok":true}')
