"""Scripted raw HTTP/1.1 upstreams for the lean client's tests (normal and hostile)."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from doorman.upstream.http1 import Http1Pool, Origin, encode_headers

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


class Server:
    def __init__(self, answer: Callable[[int, bytes, bytes], bytes | None]) -> None:
        self.answer = answer  # (connection number, head, body) -> raw reply, None to hang up
        self.connections = 0
        self.heads: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head, body = await read_request(reader)
                self.heads.append(head)
                reply = self.answer(number, head, body)
                if reply is None:
                    break
                if reply == b"hang":
                    await asyncio.sleep(30)
                writer.write(reply)
                await writer.drain()
                if b"connection: close" in reply.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def ok(body: bytes = b'{"ok":true}', extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body
    )  # fmt: skip


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Server], Awaitable[Http1Pool]]]:
    servers: list[asyncio.Server] = []
    pools: list[Http1Pool] = []

    async def start(
        server: Server,
        limit: int = 10,
        tls: tuple[ssl.SSLContext, ssl.SSLContext | None] | None = None,
    ) -> Http1Pool:
        server_ctx, client_ctx = tls if tls is not None else (None, None)
        srv = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=server_ctx)
        servers.append(srv)
        port = srv.sockets[0].getsockname()[1]
        scheme = "https" if tls is not None else "http"
        origin = Origin.from_url(f"{scheme}://127.0.0.1:{port}/v1")
        pool = Http1Pool(origin, limit=limit, ssl_context=client_ctx)
        pools.append(pool)
        return pool

    yield start  # type: ignore[misc]
    for pool in pools:
        pool.close()
    for srv in servers:
        srv.close()


async def post(pool: Http1Pool, body: bytes = b"{}", **timeouts: float) -> tuple[int, bytes]:
    head = pool.request_head(
        "/chat/completions", encode_headers({"content-type": "application/json"})
    )
    limits = {"connect": 5.0, "read": 5.0, "total": 10.0, **timeouts}
    reply = await pool.post(head, body, **limits)
    return reply.status, reply.body


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def tls_contexts(tmp: Path, *, trusted: bool) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate, and a verifying client context
    that trusts it (or only the system's authorities)."""
    if not _has_openssl():
        pytest.skip("needs the openssl command")
    cert, key = _self_signed(tmp)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context()
    if trusted:
        client.load_verify_locations(cert)
    return server, client


def _has_openssl() -> bool:
    return any(
        os.access(os.path.join(d, "openssl"), os.X_OK)
        for d in os.environ.get("PATH", "").split(os.pathsep)
    )
