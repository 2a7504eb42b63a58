"""A streaming upstream for ``bench/stream_bench.py``: OpenAI chat completions as SSE, one word
per chunk, as fast as the socket takes them (``STREAM_CHUNK_MS=0``) or paced like a model.

It does the least a provider does (no tokenizer, no scripts) so the gateway, not the upstream,
is what the benchmark measures. ``max_tokens`` chunks are sent, then a finish chunk, a usage
chunk when ``stream_options.include_usage`` is set, and ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import json
import os

from aiohttp import web

DELAY = float(os.environ.get("STREAM_CHUNK_MS", "0")) / 1000.0
WORDS = ("the", "quick", "report", "shows", "steady", "growth", "across", "every", "region", "this")


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    payload = {"id": "chatcmpl-stream-bench", "object": "chat.completion.chunk", "created": 1700000000,
               "model": "bench-model", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


async def completions(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    n = int(body.get("max_tokens") or 100)
    if not body.get("stream"):
        text = " ".join(WORDS[i % len(WORDS)] for i in range(n))
        return web.json_response({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n},
        })  # fmt: skip
    resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await resp.prepare(request)
    await resp.write(_chunk({"role": "assistant", "content": ""}))
    for i in range(n):
        await resp.write(_chunk({"content": " " + WORDS[i % len(WORDS)]}))
        if DELAY:
            await asyncio.sleep(DELAY)
    await resp.write(_chunk({}, "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"id": "chatcmpl-stream-bench", "object": "chat.completion.chunk", "created": 1700000000,
                 "model": "bench-model", "choices": [],
                 "usage": {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}}  # fmt: skip
        await resp.write(b"data: " + json.dumps(usage).encode() + b"\n\n")
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


def main() -> None:
    import uvloop

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/v1/models", lambda _r: web.json_response({"object": "list", "data": []}))  # type: ignore[arg-type,return-value]
    port = int(os.environ["STREAM_PORT"])
    web.run_app(
        app, host="127.0.0.1", port=port, print=None, access_log=None, loop=uvloop.new_event_loop()
    )


if __name__ == "__main__":
    main()
