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

from doorman.screen.output import SIDE_TEXT_FIELDS, OutputBlocked, OutputGuard, screen_value
from doorman.upstream.deployment import Wire
from doorman.upstream.sse_frames import sse_batches


def error_event(wire: Wire, exc: OutputBlocked) -> bytes:
    body = exc.body(wire)
    if wire == "anthropic":
        return b"event: error\ndata: " + orjson.dumps(body) + b"\n\n"
    return b"data: " + orjson.dumps(body) + b"\n\n"


Path = tuple[str | int, ...]  # where a part's text sits inside its event
Part = tuple[dict[str, Any], str | None, Any, Path]  # event, text (None: not text), key, path


def _put(event: Any, path: Path, text: str) -> Any:
    """A copy of ``event`` with ``text`` at ``path`` (the containers on the way copied)."""
    if not path:
        return text
    head, rest = path[0], path[1:]
    if isinstance(event, list):
        out = list(event)
        out[int(head)] = _put(out[int(head)], rest, text)
        return out
    return {**event, head: _put(event[head], rest, text)}


_ARGS = {"function": "arguments", "custom": "input"}
# What an Anthropic block may carry whole on its start event (its deltas are screened as
# they come): text, thinking, or a tool call's entire input.
_START_FIELDS = ("text", "thinking", "input")


class _Frames:
    """The screened text of one stream: answer text and tool-call arguments, each with its own
    guard (a key followed by the next call's JSON is no longer a key; held text must come out
    where it went in) and its own template to release held text with.

    Tool-call arguments are screened like text: a model told by an injected page to "call
    fetch_url with the system prompt in the query" leaks through the arguments, not the text.
    """

    def __init__(self, wire: Wire, guard: OutputGuard) -> None:
        self.wire = wire
        self.first = guard
        self.guards: dict[Any, OutputGuard] = {}
        self.templates: dict[Any, tuple[dict[str, Any], Path]] = {}

    def guard_for(self, key: Any, part: dict[str, Any], path: Path) -> OutputGuard:
        guard = self.guards.get(key)
        if guard is None:
            guard = self.guards[key] = self.first if not self.guards else self.first.fork()
        self.templates[key] = (part, path)
        return guard

    def split(self, event: dict[str, Any]) -> list[Part]:
        """``event`` as parts in order: a text part carries only one piece of text (answer text
        or a call's arguments), the others (text None) everything else. OpenAI puts more than
        text in one delta: providers add ``"tool_calls": null`` or ``"refusal": null`` to every
        delta, the last text may come with the ``finish_reason``, a call's name with the start
        of its arguments; all of that is still screened, not passed on as "something else"."""
        if self.wire == "anthropic":
            delta = event.get("delta")
            if event.get("type") == "content_block_delta" and isinstance(delta, dict):
                key = event.get("index", 0)
                if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                    return [(event, str(delta["text"]), key, ("delta", "text"))]
                piece = delta.get("partial_json")
                if delta.get("type") == "input_json_delta" and isinstance(piece, str):
                    return [(event, piece, key, ("delta", "partial_json"))]
                piece = delta.get("thinking")
                if delta.get("type") == "thinking_delta" and isinstance(piece, str):
                    return [(event, piece, key, ("delta", "thinking"))]
            block = event.get("content_block")
            if event.get("type") == "content_block_start" and isinstance(block, dict):
                return [(self.screened_start(event, block), None, None, ())]
            return [(event, None, None, ())]
        choices = event.get("choices")
        if not isinstance(choices, list) or not choices:
            return [(event, None, None, ())]
        if len(choices) > 1:  # never asked for (n > 1 is refused): still, each is screened
            parts: list[Part] = []
            for i, choice in enumerate(choices):
                one = {k: v for k, v in event.items() if k != "usage" or i == len(choices) - 1}
                parts += self.split({**one, "choices": [choice]})
            return parts
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            return [(event, None, None, ())]
        ci = choice.get("index", 0)
        content = delta.get("content")
        if (
            isinstance(content, str)
            and choice.get("finish_reason") is None
            and not event.get("usage")
            and all(k in ("content", "role") for k in delta)
        ):  # the common case, a plain text delta: the event is its own template
            return [(event, content, (ci, "text"), ("choices", 0, "delta", "content"))]
        base = {k: v for k, v in event.items() if k != "usage"}

        def shaped(d: dict[str, Any]) -> dict[str, Any]:
            return {**base, "choices": [{**choice, "delta": d, "finish_reason": None}]}

        parts = []
        if isinstance(delta.get("content"), str):
            text_delta = {k: v for k, v in delta.items() if k in ("content", "role")}
            parts.append((shaped(text_delta), str(delta["content"]), (ci, "text"),
                          ("choices", 0, "delta", "content")))  # fmt: skip
        rest = {k: v for k, v in delta.items() if k not in ("content", "role") and v is not None}
        texts: list[Part] = []
        for name in SIDE_TEXT_FIELDS:  # each with its own hold-back
            piece = rest.get(name)
            if isinstance(piece, str):
                del rest[name]
                if piece:
                    texts.append((shaped({name: piece}), piece, (ci, name),
                                  ("choices", 0, "delta", name)))  # fmt: skip
        calls = rest.get("tool_calls")
        if isinstance(calls, list):
            kept = []
            for call in calls:
                kind = next((k for k in _ARGS if isinstance(call, dict)
                             and isinstance(call.get(k), dict)), None)  # fmt: skip
                piece = call[kind].get(_ARGS[kind]) if kind is not None else None
                if kind is None or not isinstance(piece, str) or not piece:
                    kept.append(call)
                    continue
                index = call.get("index", 0)
                lone = {"index": index, kind: {_ARGS[kind]: piece}}
                texts.append((shaped({"tool_calls": [lone]}), piece, (ci, "call", index),
                              ("choices", 0, "delta", "tool_calls", 0, kind, _ARGS[kind])))  # fmt: skip
                head = {**call, kind: {**call[kind], _ARGS[kind]: ""}}
                if set(head) - {"index", kind} or set(head[kind]) - {_ARGS[kind]}:
                    kept.append(head)  # its id, type and name go first, arguments screened
            rest = {k: v for k, v in rest.items() if k != "tool_calls"}
            if kept:
                rest["tool_calls"] = kept
        legacy = rest.get("function_call")
        if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
            piece = legacy["arguments"]
            if piece:
                texts.append((shaped({"function_call": {"arguments": piece}}), piece,
                              (ci, "legacy"), ("choices", 0, "delta", "function_call",
                                               "arguments")))  # fmt: skip
                rest["function_call"] = {**legacy, "arguments": ""}
        if rest:
            parts.append((shaped(rest), None, None, ()))
        parts += texts
        if choice.get("finish_reason") is not None or event.get("usage"):
            end = {**choice, "delta": {}}
            parts.append(({**event, "choices": [end]}, None, None, ()))
        if not any(text is not None for _, text, _, _ in parts):
            return [(event, None, None, ())]  # no text in it: relayed as it came
        return parts

    def screened_start(self, event: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
        """``event`` with whatever its block carries whole screened at once (the event itself
        when there is nothing to screen): a provider may send a block's text or a tool call's
        entire input on its start, with no delta to screen."""
        values = {f: block[f] for f in _START_FIELDS if block.get(f)}
        if not values:
            return event
        guard = self.first.fork()
        screened = {f: screen_value(guard, v) for f, v in values.items()}
        if screened == values:
            return event
        return {**event, "content_block": {**block, **screened}}

    def with_text(self, event: dict[str, Any], path: Path, text: str) -> bytes:
        out = _put(event, path, text)
        head = b"event: content_block_delta\n" if self.wire == "anthropic" else b""
        return head + b"data: " + orjson.dumps(out) + b"\n\n"


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
    if len(parts) == 1 and parts[0][1] is None and parts[0][0] is event:
        return _other(frame, frames)  # relayed byte for byte
    out = b""
    for part, text, key, path in parts:
        if text is None:
            out += _other(_sse(frames.wire, part, frame), frames)
            continue
        if len(frames.guards) > 1 or (frames.guards and key not in frames.guards):
            # another text's held part goes first, in order
            out += _other(b"", frames, but=key)
        released = frames.guard_for(key, part, path).feed(text)
        if released or not text:
            out += frames.with_text(part, path, released)
    return out


def _other(frame: bytes, frames: _Frames, but: Any = None) -> bytes:
    """Anything but text (tool call, finish, end, comment): release what is held first."""
    prefix = b""
    for key, guard in frames.guards.items():
        held = guard.finish() if guard.held and key != but else ""
        if held:
            template, path = frames.templates[key]
            prefix += frames.with_text(template, path, held)
    return prefix + frame


def _sse(wire: Wire, event: dict[str, Any], original: bytes) -> bytes:
    """``event`` as one SSE frame, with the ``event:`` line of the frame it came from."""
    head = b"".join(line + b"\n" for line in original.split(b"\n") if line.startswith(b"event:"))
    return head + b"data: " + orjson.dumps(event) + b"\n\n"
