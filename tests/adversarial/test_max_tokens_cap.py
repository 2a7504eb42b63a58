"""A provider that ignores max_tokens, in every delta type: the relay's cut must land exactly on
the cap and leave a stream that ends properly (a reader assembles a complete answer).

The relay logic is driven directly (meter + ending + the client-side assembler the cache uses),
for text, tool-call arguments and Anthropic tool input; the HTTP path is covered end to end by
tests/e2e/test_max_tokens_e2e.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from doorman.cache.assemble import StreamAssembler
from doorman.cost.tokens import count_text, get_encoding
from doorman.upstream.output_cap import clip_body, stream_ending
from doorman.upstream.wire import StreamMeter

CAP = 25
WORDS = " ".join(["alpha", "beta", "gamma", "delta"] * 60)


def relay(wire: str, events: Sequence[tuple[str | None, dict[str, Any]]]) -> tuple[bytes, StreamMeter]:
    """What the relay sends for ``events`` under the cap (no translation)."""
    meter = StreamMeter(wire, "sim", 10, True, encoding="cl100k", cap=CAP)  # type: ignore[arg-type]
    out = b""
    for name, event in events:
        data = orjson.dumps(event)
        meter.feed(data)
        head = f"event: {name}\n".encode() if name else b""
        if meter.capped:
            out += head + b"data: " + (meter.clipped or data) + b"\n\n"
            ending = stream_ending(
                wire, meter.last_event, meter.block_index, (10, meter.counted_output), True  # type: ignore[arg-type]
            )
            for ename, edata in ending:
                out += (f"event: {ename}\n".encode() if ename else b"") + b"data: " + edata + b"\n\n"
            return out, meter
        out += head + b"data: " + data + b"\n\n"
    return out, meter


def chunk(delta: dict[str, Any]) -> tuple[None, dict[str, Any]]:
    return None, {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                  "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip


def test_openai_text_is_cut_exactly_at_the_cap_and_the_stream_completes() -> None:
    pieces = [chunk({"content": " " + w}) for w in WORDS.split()]  # " alpha": one token
    out, meter = relay("openai", pieces)
    assembler = StreamAssembler("openai")
    assembler.feed(out)
    assert assembler.complete and assembler.finish_reason == "length"
    assert count_text("".join(assembler.text)) == CAP == meter.counted_output
    assert meter.final_usage().output_tokens == CAP  # billed for what was delivered


def test_openai_tool_arguments_past_the_cap_are_cut() -> None:
    start = chunk({"tool_calls": [{"index": 0, "id": "t1", "type": "function",
                                   "function": {"name": "go", "arguments": ""}}]})  # fmt: skip
    args = [chunk({"tool_calls": [{"index": 0, "function": {"arguments": f'"{w}",'}}]})
            for w in WORDS.split()]  # fmt: skip
    out, meter = relay("openai", [start, *args])
    assembler = StreamAssembler("openai")
    assembler.feed(out)
    assert assembler.complete and assembler.finish_reason == "length"
    assert meter.counted_output == CAP


def test_anthropic_text_and_tool_input_are_cut_and_end_with_max_tokens() -> None:
    start = ("message_start", {"type": "message_start", "message": {
        "id": "m1", "type": "message", "role": "assistant", "model": "m", "content": [],
        "usage": {"input_tokens": 10, "output_tokens": 1}}})  # fmt: skip
    for block, key, kind in (
        ({"type": "text", "text": ""}, "text", "text_delta"),
        ({"type": "tool_use", "id": "t1", "name": "go", "input": {}}, "partial_json", "input_json_delta"),
    ):
        events: list[tuple[str | None, dict[str, Any]]] = [
            start,
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
        ]
        events += [
            ("content_block_delta",
             {"type": "content_block_delta", "index": 0, "delta": {"type": kind, key: " " + w}})
            for w in WORDS.split()
        ]  # fmt: skip
        out, meter = relay("anthropic", events)
        assembler = StreamAssembler("anthropic")
        assembler.feed(out)
        assert assembler.stop_reason == "max_tokens" and assembler.complete
        assert meter.counted_output == CAP
        if kind == "text_delta":  # (a tool input cut in half is no JSON: as from any provider)
            assert not assembler.broken and count_text(assembler.blocks[0]["text"]) == CAP


@pytest.mark.parametrize("reported", [None, 400])
def test_full_answers_are_cut_unless_the_provider_stayed_within_the_cap(reported: int | None) -> None:
    enc = get_encoding("cl100k")
    body: dict[str, Any] = {"choices": [{"index": 0, "message": {"role": "assistant", "content": WORDS},
                         "finish_reason": "stop"}]}  # fmt: skip
    cut, delivered = clip_body("openai", body, CAP, enc.encode_ordinary, enc.decode, reported)
    assert cut and delivered == CAP and body["choices"][0]["finish_reason"] == "length"
    assert count_text(body["choices"][0]["message"]["content"]) == CAP
    honest: dict[str, Any] = {"content": [{"type": "text", "text": "short"}], "stop_reason": "end_turn"}
    assert clip_body("anthropic", honest, CAP, enc.encode_ordinary, enc.decode, 2) == (False, 2)
    assert honest["stop_reason"] == "end_turn"
