"""Output screening for SSE streams, in the client's wire format.

Wraps the relayed byte stream: splits it into events, passes the text of each text delta
through the request's :class:`OutputGuard` (which holds a little back), and releases what is
held before any other event (tool calls, the finish reason, the end), so the order of the
answer is kept. A blocking finding ends the stream with an error event in the client's format —
never a silent truncation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import orjson

from doorman.screen.output import OutputBlocked, OutputGuard
from doorman.upstream.deployment import Wire
from doorman.upstream.sse_frames import sse_batches


def error_event(wire: Wire, exc: OutputBlocked) -> bytes:
    body = exc.body(wire)
    if wire == "anthropic":
        return b"event: error\ndata: " + orjson.dumps(body) + b"\n\n"
    return b"data: " + orjson.dumps(body) + b"\n\n"


class _Frames:
    """Text deltas of one wire format: find them, and make a new one from the last seen."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.template: dict[str, Any] | None = None

    def text_of(self, event: dict[str, Any]) -> str | None:
        if self.wire == "anthropic":
            delta = event.get("delta")
            if (
                event.get("type") == "content_block_delta"
                and isinstance(delta, dict)
                and delta.get("type") == "text_delta"
                and isinstance(delta.get("text"), str)
            ):
                return str(delta["text"])
            return None
        choices = event.get("choices")
        if not (isinstance(choices, list) and len(choices) == 1 and isinstance(choices[0], dict)):
            return None
        choice = choices[0]
        delta = choice.get("delta")
        if choice.get("finish_reason") or not isinstance(delta, dict):
            return None
        if set(delta) - {"content", "role"} or not isinstance(delta.get("content"), str):
            return None
        return str(delta["content"])

    def with_text(self, event: dict[str, Any], text: str) -> bytes:
        if self.wire == "anthropic":
            out = {**event, "delta": {**event["delta"], "text": text}}
            return b"event: content_block_delta\ndata: " + orjson.dumps(out) + b"\n\n"
        choice = {**event["choices"][0], "delta": {**event["choices"][0]["delta"], "content": text}}
        return b"data: " + orjson.dumps({**event, "choices": [choice]}) + b"\n\n"


async def guard_stream(
    stream: AsyncIterator[bytes],
    wire: Wire,
    guard: OutputGuard,
    on_block: Callable[[OutputBlocked], None] | None = None,
) -> AsyncIterator[bytes]:
    """``stream`` (SSE bytes in ``wire`` format) with its text screened by ``guard``.

    Everything screened from one upstream read goes out in one write: a write per event would
    cost the server a send per token (half the relay rate, measured by bench/stream_bench.py).
    """
    frames = _Frames(wire)
    async with aclosing(sse_batches(stream)) as batches:  # the relay settles in its own finally
        async for batch, complete in batches:
            if not complete:
                yield batch[0]
                continue
            out: list[bytes] = []
            for frame in batch:
                try:
                    out.append(_frame(frame, frames, guard))
                except OutputBlocked as exc:
                    if on_block is not None:
                        on_block(exc)
                    yield b"".join(out) + error_event(wire, exc)
                    return
            if any(out):
                yield b"".join(out)


def _frame(frame: bytes, frames: _Frames, guard: OutputGuard) -> bytes:
    data = None
    for line in frame.split(b"\n"):
        if line.startswith(b"data:"):
            data = line[5:].strip()
    event: Any = None
    if data and data != b"[DONE]":
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            event = None
    text = frames.text_of(event) if isinstance(event, dict) else None
    if text is not None:
        assert isinstance(event, dict)
        frames.template = event
        released = guard.feed(text)
        return frames.with_text(event, released) if released or not text else b""
    # Anything else (tool call, finish, end, comment): release what is held first, in order.
    held = guard.finish() if guard.held else ""
    prefix = frames.with_text(frames.template, held) if held and frames.template else b""
    return prefix + frame
