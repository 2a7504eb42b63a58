"""The baseline: a bare pass-through proxy on the gateway's own server stack.

Starlette route -> pooled upstream client -> upstream, body in, body out, nothing else.
``BARE_UPSTREAM`` is the upstream base URL; ``BARE_CLIENT`` picks aiohttp (default) or httpx so
the upstream client can be chosen by measurement.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

UPSTREAM = os.environ.get("BARE_UPSTREAM", "http://127.0.0.1:9000")
CLIENT = os.environ.get("BARE_CLIENT", "aiohttp")
MAX_CONNECTIONS = int(os.environ.get("BARE_MAX_CONNECTIONS", "200"))  # the gateway's default pool
state: dict[str, Any] = {}


async def proxy(request: Request) -> Response:
    body = await request.body()
    url = UPSTREAM + "/v1/chat/completions"
    headers = {"content-type": "application/json"}
    if b'"stream":true' in body.replace(b" ", b""):
        return StreamingResponse(_relay(url, body, headers), media_type="text/event-stream")
    if CLIENT == "httpx":
        r = await state["client"].post(url, content=body, headers=headers)
        return Response(r.content, r.status_code, media_type="application/json")
    async with state["client"].post(url, data=body, headers=headers) as resp:
        data = await resp.read()
        return Response(data, resp.status, media_type="application/json")


async def _relay(url: str, body: bytes, headers: dict[str, str]) -> AsyncIterator[bytes]:
    """A stream passed through chunk by chunk, as a proxy with no policy would."""
    if CLIENT == "httpx":
        async with state["client"].stream("POST", url, content=body, headers=headers) as r:
            async for piece in r.aiter_raw():
                yield piece
        return
    async with state["client"].post(url, data=body, headers=headers) as resp:
        async for piece in resp.content.iter_any():
            yield piece


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    if CLIENT == "httpx":
        import httpx

        state["client"] = httpx.AsyncClient(limits=httpx.Limits(max_connections=MAX_CONNECTIONS))
    else:
        import aiohttp

        state["client"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
        )
    yield
    await state["client"].aclose() if CLIENT == "httpx" else await state["client"].close()


app = Starlette(routes=[Route("/v1/chat/completions", proxy, methods=["POST"])], lifespan=lifespan)
