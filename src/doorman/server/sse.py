"""Server-sent events for answers Doorman writes itself (the degraded safe answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from doorman.upstream.deployment import Wire


def _event(data: dict[str, Any], name: str | None = None) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


async def degraded_stream(wire: Wire, body: dict[str, Any]) -> AsyncIterator[bytes]:
    """Replay a complete answer as a one-chunk stream in the client's wire format."""
    if wire == "anthropic":
        text = body["content"][0]["text"]
        start = {**body, "content": [], "stop_reason": None}
        yield _event({"type": "message_start", "message": start}, "message_start")
        yield _event(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        )
        yield _event(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
            "content_block_delta",
        )
        yield _event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        yield _event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 0},
            },
            "message_delta",
        )
        yield _event({"type": "message_stop"}, "message_stop")
        return
    text = body["choices"][0]["message"]["content"]
    base = {
        "id": body["id"],
        "object": "chat.completion.chunk",
        "created": body["created"],
        "model": body["model"],
    }
    yield _event(
        {
            **base,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}
            ],
        }
    )
    yield _event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    yield b"data: [DONE]\n\n"
