"""Stream translation: an answer with text and parallel tool calls survives both directions."""

from __future__ import annotations

from typing import Any

import orjson

from doorman.upstream.translate import translate_stream


def _openai_chunks() -> list[bytes]:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "m"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return orjson.dumps(
            {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        )

    calls = [
        {
            "index": 0,
            "id": "call_a",
            "type": "function",
            "function": {"name": "get", "arguments": ""},
        },
        {"index": 0, "function": {"arguments": '{"city": '}},
        {"index": 0, "function": {"arguments": '"Paris"}'}},
        {
            "index": 1,
            "id": "call_b",
            "type": "function",
            "function": {"name": "put", "arguments": "{}"},
        },
    ]
    return [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Let me "}),
        chunk({"content": "check."}),
        *(chunk({"tool_calls": [c]}) for c in calls),
        chunk({}, "tool_calls"),
        orjson.dumps(
            {
                **base,
                "choices": [],
                "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
            }
        ),
        b"[DONE]",
    ]


def _events(raw: list[bytes]) -> list[tuple[str | None, bytes]]:
    """Split translated SSE bytes back into (event name, data) pairs."""
    out = []
    for item in raw:
        for frame in item.split(b"\n\n"):
            if not frame.strip():
                continue
            name = None
            data = b""
            for line in frame.split(b"\n"):
                if line.startswith(b"event: "):
                    name = line[7:].decode()
                elif line.startswith(b"data: "):
                    data = line[6:]
            out.append((name, data))
    return out


def _accumulate_openai(events: list[tuple[str | None, bytes]]) -> dict[str, Any]:
    text, calls, finish, usage = "", {}, None, None
    for _, data in events:
        if data == b"[DONE]":
            continue
        chunk = orjson.loads(data)
        usage = chunk.get("usage") or usage
        for choice in chunk["choices"]:
            delta = choice["delta"]
            text += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(call["index"], {"id": None, "name": None, "arguments": ""})
                slot["id"] = call.get("id") or slot["id"]
                slot["name"] = (call.get("function") or {}).get("name") or slot["name"]
                slot["arguments"] += (call.get("function") or {}).get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    return {"text": text, "calls": calls, "finish": finish, "usage": usage}


def test_openai_stream_through_anthropic_and_back_keeps_text_calls_and_usage() -> None:
    to_anthropic = translate_stream("anthropic", "openai", include_usage=True, input_tokens=10)
    anthropic_bytes = [b for data in _openai_chunks() for b in to_anthropic.feed(None, data)]
    anthropic_events = _events(anthropic_bytes)
    names = [n for n, _ in anthropic_events]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert names.count("content_block_start") == names.count("content_block_stop") == 3

    to_openai = translate_stream("openai", "anthropic", include_usage=True, input_tokens=0)
    openai_bytes = [b for n, d in anthropic_events for b in to_openai.feed(n, d)]
    result = _accumulate_openai(_events(openai_bytes))
    original = _accumulate_openai([(None, c) for c in _openai_chunks()])
    assert result["text"] == original["text"] == "Let me check."
    assert result["calls"] == original["calls"]
    assert orjson.loads(result["calls"][0]["arguments"]) == {"city": "Paris"}
    assert result["finish"] == "tool_calls"
    assert result["usage"]["prompt_tokens"] == 12 and result["usage"]["completion_tokens"] == 7
    assert _events(openai_bytes)[-1][1] == b"[DONE]"


def test_cut_stream_owes_no_terminal_event() -> None:
    """An upstream cut mid-answer must not look complete to the client."""
    to_anthropic = translate_stream("anthropic", "openai", include_usage=False, input_tokens=1)
    out = [b for data in _openai_chunks()[:3] for b in to_anthropic.feed(None, data)]
    out += to_anthropic.close()
    assert b"message_stop" not in b"".join(out)
