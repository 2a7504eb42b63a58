"""Review of issue 15, end to end: routes around a withheld call through the official SDKs.

A caller whose tier needs approval for ``shell_*`` tries: a translated request (OpenAI format
to an Anthropic-format provider, and back), streamed and not; the same request twice with the
response cache on (a replay must not hand the call out); and a variant spelling of the tool's
name. None of them may put the call in the caller's hands. (The simulator never answers in
the legacy ``function_call`` form: that one is covered in test_review15_withheld_paths.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from harness import Gateway, Proc, serving, sim_config, simulating

SCHEMA = {"type": "object", "properties": {"cmd": {"type": "string"}}}
MSG = [{"role": "user", "content": "list the files"}]


def _tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": SCHEMA}}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    yield from simulating(tmp_path_factory, "approval-routes-sim")


@pytest.fixture(scope="module")
def gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(
        sim, agents={"tools": {"require_approval": ["shell_*"]}, "cache": {"mode": "exact"}}
    )
    config["screening"] = {"injection": {"action": "off"}}
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    return str(gateway.create_key("agent", "agents")["key"])


def _openai(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def _no_shell_call(message: Any) -> None:
    calls = message.tool_calls or []
    assert all(not c.function.name.lower().startswith("shell") for c in calls), calls
    assert "apr_" in (message.content or "")


@pytest.mark.parametrize("model", ["sim-small", "sim-claude"])  # sim-claude: translated
def test_full_answers_never_carry_the_call(gateway: Gateway, key: str, model: str) -> None:
    raw = _openai(gateway, key).chat.completions.with_raw_response.create(
        model=model, messages=MSG, tools=[_tool("shell_exec")], max_tokens=50
    )
    _no_shell_call(raw.parse().choices[0].message)
    assert raw.headers["x-doorman-approval"].startswith("apr_")


@pytest.mark.parametrize("model", ["sim-small", "sim-claude"])
def test_streams_never_carry_the_call(gateway: Gateway, key: str, model: str) -> None:
    client = _openai(gateway, key)
    with client.beta.chat.completions.stream(
        model=model, messages=MSG, tools=[_tool("shell_exec")], max_tokens=50
    ) as stream:
        final = stream.get_final_completion()
    _no_shell_call(final.choices[0].message)


def test_anthropic_caller_to_an_openai_provider_never_gets_the_call(
    gateway: Gateway, key: str
) -> None:
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    tools = [{"name": "shell_exec", "input_schema": SCHEMA}]
    message = claude.messages.create(model="sim-small", max_tokens=50, messages=MSG, tools=tools)  # type: ignore[arg-type]
    assert all(b.type != "tool_use" for b in message.content)
    with claude.messages.stream(
        model="sim-small",
        max_tokens=50,
        messages=MSG,
        tools=tools,  # type: ignore[arg-type]
    ) as stream:
        final = stream.get_final_message()
    assert all(b.type != "tool_use" for b in final.content)


def test_a_repeat_with_the_cache_on_is_not_a_replay_of_the_call(gateway: Gateway, key: str) -> None:
    client = _openai(gateway, key)
    ids = set()
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(
            model="sim-small", messages=MSG, tools=[_tool("shell_exec")], max_tokens=50
        )
        assert raw.headers.get("x-doorman-cache") != "hit"
        _no_shell_call(raw.parse().choices[0].message)
        ids.add(raw.headers["x-doorman-approval"])
    assert len(ids) == 2  # each answer is its own pending approval


@pytest.mark.parametrize("name", ["Shell_Exec", "SHELL_EXEC"])
def test_a_variant_spelling_is_withheld_too(gateway: Gateway, key: str, name: str) -> None:
    raw = _openai(gateway, key).chat.completions.with_raw_response.create(
        model="sim-small", messages=MSG, tools=[_tool(name)], max_tokens=50
    )
    message = raw.parse().choices[0].message
    assert not message.tool_calls and "apr_" in (message.content or "")
