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
    """Text deltas of one wire format: find them, and make a new one from the last seen.

    Each OpenAI choice has its own guard and template: text of two choices fed to one guard
    would run together (a key followed by the next choice's word is no longer a key) and held
    text would come out under the wrong choice.
    """

    def __init__(self, wire: Wire, guard: OutputGuard) -> None:
        self.wire = wire
        self.first = guard
        self.guards: dict[Any, OutputGuard] = {}
        self.templates: dict[Any, dict[str, Any]] = {}

    def guard_for(self, part: dict[str, Any]) -> OutputGuard:
        key = part["choices"][0].get("index", 0) if self.wire == "openai" else 0
        guard = self.guards.get(key)
        if guard is None:
            guard = self.guards[key] = self.first if not self.guards else self.first.fork()
        self.templates[key] = part
        return guard

    def split(self, event: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
        """``event`` as (event, text) parts in order: a text part carries only text, the others
        (text None) carry everything else. OpenAI puts more than text in one delta: providers
        add ``"tool_calls": null`` or ``"refusal": null`` to every delta, and the last text may
        come with the ``finish_reason``; a delta like that is still screened text, not passed on
        as "something else"."""
        if self.wire == "anthropic":
            delta = event.get("delta")
            if (
                event.get("type") == "content_block_delta"
                and isinstance(delta, dict)
                and delta.get("type") == "text_delta"
                and isinstance(delta.get("text"), str)
            ):
                return [(event, str(delta["text"]))]
            return [(event, None)]
        choices = event.get("choices")
        if not isinstance(choices, list) or not choices:
            return [(event, None)]
        if len(choices) > 1:  # never asked for (n > 1 is refused): still, each is screened
            parts: list[tuple[dict[str, Any], str | None]] = []
            for i, choice in enumerate(choices):
                one = {k: v for k, v in event.items() if k != "usage" or i == len(choices) - 1}
                parts += self.split({**one, "choices": [choice]})
            return parts
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict) or not isinstance(delta.get("content"), str):
            return [(event, None)]
        text = str(delta["content"])
        rest_delta = {
            k: v for k, v in delta.items() if k not in ("content", "role") and v is not None
        }
        text_delta = {k: v for k, v in delta.items() if k in ("content", "role")}
        text_event = {k: v for k, v in event.items() if k != "usage"}
        text_event["choices"] = [{**choice, "delta": text_delta, "finish_reason": None}]
        parts = [(text_event, text)]
        if rest_delta or choice.get("finish_reason") is not None or event.get("usage"):
            rest = {**choice, "delta": rest_delta}
            parts.append(({**event, "choices": [rest]}, None))
        return parts

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
    frames = _Frames(wire, guard)
    async with aclosing(sse_batches(stream)) as batches:  # the relay settles in its own finally
        async for batch, complete in batches:
            if not complete:
                yield batch[0]
                continue
            out: list[bytes] = []
            for frame in batch:
                try:
                    out.append(_frame(frame, frames))
                except OutputBlocked as exc:
                    if on_block is not None:
                        on_block(exc)
                    yield b"".join(out) + error_event(wire, exc)
                    return
            if any(out):
                yield b"".join(out)


def _frame(frame: bytes, frames: _Frames) -> bytes:
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
    if not isinstance(event, dict):
        return _other(frame, frames)
    parts = frames.split(event)
    if len(parts) == 1 and parts[0][1] is None:
        return _other(frame, frames)  # relayed byte for byte
    out = b""
    for part, text in parts:
        if text is None:
            out += _other(_sse(frames.wire, part, frame), frames)
            continue
        released = frames.guard_for(part).feed(text)
        if released or not text:
            out += frames.with_text(part, released)
    return out


def _other(frame: bytes, frames: _Frames) -> bytes:
    """Anything but text (tool call, finish, end, comment): release what is held first."""
    prefix = b""
    for key, guard in frames.guards.items():
        held = guard.finish() if guard.held else ""
        if held:
            prefix += frames.with_text(frames.templates[key], held)
    return prefix + frame


def _sse(wire: Wire, event: dict[str, Any], original: bytes) -> bytes:
    """``event`` as one SSE frame, with the ``event:`` line of the frame it came from."""
    head = b"".join(line + b"\n" for line in original.split(b"\n") if line.startswith(b"event:"))
    return head + b"data: " + orjson.dumps(event) + b"\n\n"
