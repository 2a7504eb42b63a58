"""Output screening end to end through the official SDKs: a leaking model and a secret in a stream."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from harness import Gateway, Proc, serving, sim_config

AWS = "AKIA" + "IOSFODNN7EXAMPLE"
SYSTEM = "You are the helpdesk bot of Acme. Internal escalation code is 4471."


@pytest.fixture(scope="module")
def gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(
        sim,
        guarded={"screening": {"output": {"canary": True}}},
        # Input secrets let through, so a key reaches the model and only the output screen
        # stands between it and the caller.
        leaky={"screening": {"secrets": {"action": "off"}}},
    )
    config["screening"] = {"injection": {"action": "off"}}  # the scripts are not under test
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def keys(gateway: Gateway) -> dict[str, str]:
    return {
        "guarded": gateway.create_key("out-g", "guarded")["key"],
        "leaky": gateway.create_key("out-l", "leaky")["key"],
    }


def test_a_model_echoing_its_system_prompt_is_blocked_by_the_canary(
    gateway: Gateway, keys: dict[str, str]
) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=keys["guarded"], max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client.chat.completions.create(
            model="sim-small",
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "SIM:ECHO_SYSTEM"},
            ],
        )
    assert info.value.code == "output_blocked" and "4471" not in str(info.value)

    claude = anthropic.Anthropic(base_url=gateway.url, api_key=keys["guarded"], max_retries=0)
    seen = ""
    with pytest.raises(anthropic.APIError), claude.messages.stream(
        model="sim-claude",
        max_tokens=300,
        system=SYSTEM,
        messages=[{"role": "user", "content": "SIM:ECHO_SYSTEM"}],
    ) as stream:
        for text in stream.text_stream:
            seen += text
    assert "dmc" not in seen.lower()


def test_an_aws_key_split_across_sse_chunks_is_redacted_in_both_formats(
    gateway: Gateway, keys: dict[str, str]
) -> None:
    prompt = f"SIM:SAY Your deploy key is {AWS} keep it safe."
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=keys["leaky"], max_retries=0)
    text = ""
    for chunk in client.chat.completions.create(
        model="sim-small", messages=[{"role": "user", "content": prompt}], stream=True
    ):
        for choice in chunk.choices:
            text += choice.delta.content or ""
    assert AWS not in text and text.startswith("Your deploy key is") and "keep it safe." in text

    claude = anthropic.Anthropic(base_url=gateway.url, api_key=keys["leaky"], max_retries=0)
    with claude.messages.stream(
        model="sim-claude", max_tokens=300, messages=[{"role": "user", "content": prompt}]
    ) as stream:
        final = stream.get_final_message()
    said = "".join(b.text for b in final.content if b.type == "text")
    assert AWS not in said and "keep it safe." in said

    reply = client.chat.completions.with_raw_response.create(
        model="sim-small", messages=[{"role": "user", "content": prompt}]
    )
    assert AWS not in (reply.parse().choices[0].message.content or "")
    assert "output_secret" in reply.headers["x-doorman-flags"]


def test_the_canary_blocks_the_other_two_shapes_stream_openai_and_full_anthropic(
    gateway: Gateway, keys: dict[str, str]
) -> None:
    """The first test covers a full OpenAI answer and an Anthropic stream; these are the rest."""
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=keys["guarded"], max_retries=0)
    seen = ""
    with pytest.raises(openai.APIError) as info:
        for chunk in client.chat.completions.create(
            model="sim-small",
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": "SIM:ECHO_SYSTEM"}],
            stream=True,
        ):
            for choice in chunk.choices:
                seen += choice.delta.content or ""
    assert "canary" in str(info.value) and info.value.body["code"] == "output_blocked"  # type: ignore[index]
    assert "dmc" not in seen.lower() and "4471" not in seen  # nothing of the leak got out first

    claude = anthropic.Anthropic(base_url=gateway.url, api_key=keys["guarded"], max_retries=0)
    with pytest.raises(anthropic.UnprocessableEntityError) as blocked:
        claude.messages.create(
            model="sim-claude", max_tokens=300, system=SYSTEM,
            messages=[{"role": "user", "content": "SIM:ECHO_SYSTEM"}],
        )  # fmt: skip
    assert blocked.value.body["error"]["code"] == "output_blocked"  # type: ignore[index]
    assert "4471" not in str(blocked.value)


def test_a_full_anthropic_answer_has_the_secret_redacted(gateway: Gateway, keys: dict[str, str]) -> None:
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=keys["leaky"], max_retries=0)
    reply = claude.messages.with_raw_response.create(
        model="sim-claude", max_tokens=300,
        messages=[{"role": "user", "content": f"SIM:SAY Your deploy key is {AWS} keep it safe."}],
    )  # fmt: skip
    said = "".join(b.text for b in reply.parse().content if b.type == "text")
    assert AWS not in said and "keep it safe." in said and "[REDACTED_AWS_ACCESS_KEY]" in said
    assert "output_secret" in reply.headers["x-doorman-flags"]
