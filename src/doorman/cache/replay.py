"""Replay a cached (complete) answer as the SSE stream the provider would have sent.

The client asked for a stream and gets one in its own wire format: role, text, tool calls,
thinking blocks and the stop reason, plus usage where that format carries it (Anthropic's
``message_start``/``message_delta``; OpenAI's final usage chunk when the client asked for
``stream_options.include_usage``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from doorman.upstream.deployment import Wire


def _event(data: dict[str, Any], name: str | None = None) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


def sse_events(wire: Wire, body: dict[str, Any], *, include_usage: bool) -> list[bytes]:
    if wire == "anthropic":
        return _anthropic(body)
    return _openai(body, include_usage)


async def replay_stream(
    wire: Wire, body: dict[str, Any], *, include_usage: bool
) -> AsyncIterator[bytes]:
    for event in sse_events(wire, body, include_usage=include_usage):
        yield event


def _openai(body: dict[str, Any], include_usage: bool) -> list[bytes]:
    base = {
        "id": body.get("id", ""),
        "object": "chat.completion.chunk",
        "created": body.get("created", 0),
        "model": body.get("model", ""),
    }
    if body.get("system_fingerprint"):
        base["system_fingerprint"] = body["system_fingerprint"]
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    out = []

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    first: dict[str, Any] = {"role": "assistant", "content": ""}
    out.append(chunk(first))
    if message.get("content"):
        out.append(chunk({"content": message["content"]}))
    if message.get("refusal"):
        out.append(chunk({"refusal": message["refusal"]}))
    for i, call in enumerate(message.get("tool_calls") or []):
        out.append(chunk({"tool_calls": [{"index": i, **call}]}))
    out.append(chunk({}, choice.get("finish_reason") or "stop"))
    usage = body.get("usage")
    if include_usage and isinstance(usage, dict):
        out.append(_event({**base, "choices": [], "usage": usage}))
    out.append(b"data: [DONE]\n\n")
    return out


def _anthropic(body: dict[str, Any]) -> list[bytes]:
    usage = dict(body.get("usage") or {})
    start = {k: v for k, v in body.items() if k not in ("content", "usage")}
    start.update(content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = {**usage, "output_tokens": 1 if usage.get("output_tokens") else 0}
    out = [_event({"type": "message_start", "message": start}, "message_start")]
    for index, block in enumerate(body.get("content") or []):
        btype = block.get("type")
        if btype == "text":
            opening: dict[str, Any] = {**block, "text": ""}
            deltas = [{"type": "text_delta", "text": block.get("text", "")}]
        elif btype in ("tool_use", "server_tool_use"):
            opening = {**block, "input": {}}
            raw = orjson.dumps(block.get("input") or {}).decode()
            deltas = [{"type": "input_json_delta", "partial_json": raw}]
        elif btype == "thinking":
            opening = {**block, "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": block.get("thinking", "")}]
            if block.get("signature"):
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
        else:  # redacted thinking and future block types arrive whole
            opening, deltas = block, []
        out.append(
            _event(
                {"type": "content_block_start", "index": index, "content_block": opening},
                "content_block_start",
            )
        )
        for delta in deltas:
            out.append(
                _event(
                    {"type": "content_block_delta", "index": index, "delta": delta},
                    "content_block_delta",
                )
            )
        out.append(_event({"type": "content_block_stop", "index": index}, "content_block_stop"))
    out.append(
        _event(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": body.get("stop_reason") or "end_turn",
                    "stop_sequence": body.get("stop_sequence"),
                },
                "usage": {"output_tokens": int(usage.get("output_tokens") or 0)},
            },
            "message_delta",
        )
    )
    out.append(_event({"type": "message_stop"}, "message_stop"))
    return out
