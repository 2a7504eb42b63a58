"""max_tokens enforced by the gateway: a provider that ignores it is cut off at the cap.

The simulator's ``SIM:IGNORE_MAX_TOKENS`` script answers 1,024 tokens whatever ``max_tokens``
says. Through the official SDKs, in both wire formats, streamed and not, and translated, the
caller must get at most the cap, an answer that ends properly with ``length`` /
``max_tokens``, and a ledger row billing what was delivered (non-stream: what the provider
reported, since it sent it all).
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from doorman.cost.tokens import count_text
from harness import Gateway, Proc, serving, sim_config

CAP = 20
RUNAWAY = "SIM:IGNORE_MAX_TOKENS tell me everything"


@pytest.fixture(scope="module")
def gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(sim, capped={"max_output_tokens": 500})
    config["screening"] = {"injection": {"action": "off"}}  # the scripts are not under test
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    return str(gateway.create_key("cap-user", "capped")["key"])



def test_full_answer_past_the_cap_is_cut_and_billed_as_reported(gateway: Gateway, key: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="sim-small", max_tokens=CAP, messages=[{"role": "user", "content": RUNAWAY}]
    )
    reply = raw.parse()
    text = reply.choices[0].message.content or ""
    assert reply.choices[0].finish_reason == "length"
    assert 0 < count_text(text) <= CAP
    assert "max_tokens_enforced" in raw.headers["x-doorman-flags"]
    row = gateway.ledger_row(raw.headers["x-request-id"])
    assert row["output_tokens"] == 1024  # the provider sent (and bills) all of it

    claude = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    message = claude.messages.create(
        model="sim-claude", max_tokens=CAP, messages=[{"role": "user", "content": RUNAWAY}]
    )
    assert message.stop_reason == "max_tokens"
    assert 0 < count_text(message.content[0].text) <= CAP  # type: ignore[union-attr]


def test_openai_stream_stops_at_the_cap_and_ends_properly(gateway: Gateway, key: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="sim-small",
        max_tokens=CAP,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": RUNAWAY}],
    )
    text, finish, usage = "", None, None
    for chunk in raw.parse():
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    assert finish == "length"
    assert count_text(text) == CAP  # cut exactly at the cap, not a token more
    assert usage is not None and usage.completion_tokens == CAP
    row = gateway.ledger_row(raw.headers["x-request-id"])
    assert row["output_tokens"] == CAP and row["error_code"] is None
    assert "max_tokens_enforced" in row["flags"]


def test_anthropic_stream_and_a_translated_stream_stop_at_the_cap(
    gateway: Gateway, key: str
) -> None:
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    with claude.messages.stream(
        model="sim-claude", max_tokens=CAP, messages=[{"role": "user", "content": RUNAWAY}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens" and count_text(text) == CAP
    assert final.usage.output_tokens == CAP

    # An OpenAI caller served by the Anthropic-format provider: cut in the provider's format,
    # ended in the caller's.
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    text, finish = "", None
    for chunk in client.chat.completions.create(
        model="sim-claude",
        max_tokens=CAP,
        stream=True,
        messages=[{"role": "user", "content": RUNAWAY}],
    ):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert finish == "length" and count_text(text) == CAP


def test_a_provider_that_honours_the_cap_is_left_alone(gateway: Gateway, key: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="sim-small", max_tokens=CAP, messages=[{"role": "user", "content": "a long story"}]
    )
    assert raw.parse().choices[0].finish_reason == "length"  # the provider's own
    assert "max_tokens_enforced" not in raw.headers.get("x-doorman-flags", "")
    row = gateway.ledger_row(raw.headers["x-request-id"])
    assert row["output_tokens"] == CAP
