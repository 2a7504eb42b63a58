"""The official anthropic SDK against a running gateway and a separate sim process."""

from __future__ import annotations

import anthropic
import pytest

from harness import Gateway

MSG = [{"role": "user", "content": "Say something short."}]


def client(gateway: Gateway, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)


def test_messages_non_stream(gateway: Gateway, api_key: str) -> None:
    raw = client(gateway, api_key).messages.with_raw_response.create(
        model="sim-claude", max_tokens=9, messages=MSG  # type: ignore[arg-type]
    )
    msg = raw.parse()
    assert msg.content[0].type == "text" and msg.content[0].text
    assert msg.usage.output_tokens == 9
    assert raw.headers["x-doorman-served-by"] == "sim-claude"
    assert float(raw.headers["x-doorman-cost-usd"]) > 0


def test_messages_stream_event_types(gateway: Gateway, api_key: str) -> None:
    kinds: list[str] = []
    with client(gateway, api_key).messages.stream(
        model="sim-claude", max_tokens=6, messages=MSG  # type: ignore[arg-type]
    ) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert {"content_block_start", "content_block_delta", "content_block_stop", "message_delta"} <= set(kinds)
    assert final.usage.output_tokens == 6


def test_anthropic_errors_use_anthropic_shape(gateway: Gateway, api_key: str) -> None:
    with pytest.raises(anthropic.AuthenticationError) as auth:
        client(gateway, "dm-" + "B" * 43).messages.create(
            model="sim-claude", max_tokens=5, messages=MSG  # type: ignore[arg-type]
        )
    assert auth.value.body["type"] == "error"  # type: ignore[index]
    with pytest.raises(anthropic.NotFoundError):
        client(gateway, api_key).messages.create(model="nope", max_tokens=5, messages=MSG)  # type: ignore[arg-type]
    with pytest.raises(anthropic.BadRequestError):
        client(gateway, api_key).messages.create(
            model="sim-claude", max_tokens=5, messages=[{"role": "system", "content": "x"}]  # type: ignore[list-item]
        )
