"""Output screening tried the way a leaking model or a poisoned answer would break it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from doorman.screen.output import OutputBlocked, OutputGuard, OutputSettings
from doorman.screen.output_stream import guard_stream

AWS = "AKIA" + "IOSFODNN7EXAMPLE"
SYSTEM = (
    "You are the support assistant of Acme Robotics. Only answer questions about our vacuum "
    "robots, never discuss pricing of competitor products, and escalate refunds above fifty "
    "dollars to a human agent using the ticket tool."
)


def _settings(**kw: Any) -> OutputSettings:
    return OutputSettings.model_validate(kw)


def _stream_text(guard: OutputGuard, chunks: list[str]) -> str:
    return "".join(guard.feed(c) for c in chunks) + guard.finish()


@pytest.mark.parametrize("size", [1, 3, 7, 19])
def test_a_secret_split_across_chunks_is_redacted_and_never_released_in_part(size: int) -> None:
    text = f"Here are the credentials you asked for: {AWS} and that is all."
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    guard = OutputGuard(_settings())
    released = [guard.feed(c) for c in chunks]
    out = "".join(released) + guard.finish()
    assert AWS not in out and "that is all." in out and out.startswith("Here are")
    for i in range(len(released)):  # no prefix of the answer ever showed 8+ chars of the key
        assert AWS[:8] not in "".join(released[: i + 1])
    assert "output_secret" in guard.findings


def test_block_policy_raises_and_nothing_of_the_secret_was_released() -> None:
    guard = OutputGuard(_settings(secrets={"action": "block"}))
    released = ""
    with pytest.raises(OutputBlocked):
        for c in ["The key is ", AWS[:6], AWS[6:], " ok", " and more text " * 20]:
            released += guard.feed(c)
        guard.finish()
    assert AWS[:6] not in released


@pytest.mark.parametrize(
    "leak",
    [
        "{c}",
        " ".join("{c}"),  # spaced out
        "{c}"[::-1],  # marker reversed is checked after formatting
        "{C}",
    ],
)
def test_canary_leak_is_blocked_even_obfuscated(leak: str) -> None:
    canary = "dmc0123456789abcdef"
    if leak == "{c}"[::-1]:
        text = canary[::-1]
    else:
        text = (
            leak.replace("{c}", canary)
            .replace("{ C }", canary.upper())
            .replace("{C}", canary.upper())
        )
        if leak == " ".join("{c}"):
            text = " ".join(canary)
    guard = OutputGuard(_settings(canary=True), canary=canary)
    with pytest.raises(OutputBlocked):
        _stream_text(guard, ["Sure! The marker is ", text[:5], text[5:], " done."])


def test_system_prompt_echo_is_found_in_a_stream() -> None:
    guard = OutputGuard(
        _settings(system_echo={"action": "block", "min_words": 12}), system_text=SYSTEM
    )
    answer = "My instructions say: " + SYSTEM
    with pytest.raises(OutputBlocked):
        _stream_text(guard, [answer[i : i + 9] for i in range(0, len(answer), 9)])
    ordinary = OutputGuard(
        _settings(system_echo={"action": "block", "min_words": 12}), system_text=SYSTEM
    )
    text = "Our vacuum robots charge in two hours; for refunds I can open a ticket."
    assert _stream_text(ordinary, [text]) == text


async def _agen(items: list[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item


def _openai_chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> bytes:
    d: dict[str, Any] = dict(delta)
    if content is not None:
        d["content"] = content
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}  # fmt: skip
    return b"data: " + orjson.dumps(body) + b"\n\n"


async def test_openai_stream_is_redacted_in_order_and_ends_intact() -> None:
    text = f"The key is {AWS} ok."
    chunks = [_openai_chunk(text[i : i + 5]) for i in range(0, len(text), 5)]
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
    }
    raw = [_openai_chunk(role="assistant", content=""), *chunks, _openai_chunk(tool_calls=[call]),
           _openai_chunk(finish="tool_calls"), b"data: [DONE]\n\n", b": doorman-cost-usd=0.1\n\n"]  # fmt: skip
    guard = OutputGuard(_settings())
    out = b"".join([b async for b in guard_stream(_agen(raw), "openai", guard)])
    texts, order = [], []
    for frame in out.split(b"\n\n"):
        if not frame.startswith(b"data: {"):
            order.append(frame[:10])
            continue
        event = orjson.loads(frame[6:])
        delta = event["choices"][0]["delta"]
        if delta.get("content"):
            texts.append(delta["content"])
            order.append(b"text")
        elif delta.get("tool_calls"):
            order.append(b"tool")
    joined = "".join(texts)
    assert AWS not in joined and joined.startswith("The key is ") and joined.endswith(" ok.")
    assert order.index(b"tool") > max(i for i, o in enumerate(order) if o == b"text")
    assert out.rstrip().endswith(b": doorman-cost-usd=0.1") and b"data: [DONE]" in out


async def test_anthropic_stream_block_ends_with_an_error_event_not_silence() -> None:
    def delta(text: str) -> bytes:
        ev = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": text},
        }
        return b"event: content_block_delta\ndata: " + orjson.dumps(ev) + b"\n\n"

    text = f"secret: {AWS}" + " filler" * 40
    raw = [delta(text[i : i + 6]) for i in range(0, len(text), 6)]
    raw.append(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    closed = []

    async def upstream() -> AsyncIterator[bytes]:
        try:
            for item in raw:
                yield item
        finally:
            closed.append(True)

    guard = OutputGuard(_settings(secrets={"action": "block"}))
    blocked: list[OutputBlocked] = []
    out = b"".join([b async for b in guard_stream(upstream(), "anthropic", guard, blocked.append)])
    assert AWS[:6] not in out.decode()
    assert out.rstrip().splitlines()[-2] == b"event: error"
    assert b"output_blocked" in out and b"message_stop" not in out
    assert blocked and closed  # the relay was closed, so it settles and records
