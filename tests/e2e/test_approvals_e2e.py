"""Tool-call approvals end to end: `doorman serve` + `doorman sim`, the official SDKs, the CLI.

A call to a tool needing approval is withheld (the answer carries a notice and the approval id),
an approver approves it with `doorman approvals approve`, and the caller fetches the original
call exactly once; a denied tool never reaches the provider at all.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from harness import Gateway, Proc, serving, sim_config

ID = re.compile(r"apr_[A-Za-z0-9_-]{20,}")
USER_MSG = [{"role": "user", "content": "Pay bob five euros"}]
SCHEMA = {"type": "object", "properties": {"to": {"type": "string"}, "amount": {"type": "integer"}}}
OPENAI_SEND = {"type": "function", "function": {"name": "send_money", "parameters": SCHEMA}}
OPENAI_WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}
ANTHROPIC_SEND = {"name": "send_money", "input_schema": SCHEMA}


@pytest.fixture(scope="module")
def gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(
        sim,
        agents={
            "tools": {
                "allow": ["send_*", "get_weather"],
                "deny": ["send_crypto"],
                "require_approval": ["send_*"],
            }
        },
    )
    config["screening"] = {"injection": {"action": "off"}}
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def keys(gateway: Gateway) -> dict[str, str]:
    return {
        "alice": gateway.create_key("alice", "agents")["key"],
        "mallory": gateway.create_key("mallory", "agents")["key"],
    }


def _openai(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def _claude(gateway: Gateway, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)


def _approve(gateway: Gateway, approval_id: str) -> None:
    out = gateway.cli("approvals", "approve", approval_id, "--config", str(gateway.config_path))
    assert "approved" in out.stdout


def _send_money(client: openai.OpenAI) -> Any:
    """A chat whose answer calls send_money (withheld): the raw response, headers and all."""
    return client.chat.completions.with_raw_response.create(
        model="sim-small", messages=USER_MSG, tools=[OPENAI_SEND]
    )


def _fetch_openai(client: openai.OpenAI, approval_id: str) -> Any:
    return client.get(f"/approvals/{approval_id}", cast_to=dict[str, Any])


def test_openai_call_is_withheld_approved_by_the_cli_and_fetched_once(
    gateway: Gateway, keys: dict[str, str]
) -> None:
    client = _openai(gateway, keys["alice"])
    raw = _send_money(client)
    approval_id = raw.headers["x-doorman-approval"]
    choice = raw.parse().choices[0]
    assert not choice.message.tool_calls and choice.finish_reason == "stop"
    assert approval_id in (choice.message.content or "") and "send_money" in choice.message.content
    assert "approval_requested" in raw.headers["x-doorman-flags"]

    assert _fetch_openai(client, approval_id)["status"] == "pending"
    listed = gateway.cli("approvals", "list", "--json", "--config", str(gateway.config_path))
    assert approval_id in listed.stdout
    _approve(gateway, approval_id)

    got = _fetch_openai(client, approval_id)
    assert got["status"] == "approved"
    call = got["tool_call"]
    assert call["type"] == "function" and call["function"]["name"] == "send_money"
    assert call["id"].startswith("call_") and '"amount":' in call["function"]["arguments"]
    with pytest.raises(openai.ConflictError) as again:
        _fetch_openai(client, approval_id)
    assert again.value.code == "approval_already_used"
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert 'doorman_tool_approvals_total{event="requested"}' in metrics
    assert 'doorman_tool_approvals_total{event="collected"}' in metrics
    # Deciding it again is refused with a non-zero exit.
    second = gateway.cli(
        "approvals", "deny", approval_id, "--config", str(gateway.config_path), check=False
    )
    assert second.returncode == 1 and "approval_already_decided" in second.stderr


def test_openai_stream_withholds_the_call_and_names_the_approval(
    gateway: Gateway, keys: dict[str, str]
) -> None:
    client = _openai(gateway, keys["alice"])
    text, finish, tool_deltas = "", None, 0
    for chunk in client.chat.completions.create(
        model="sim-small", messages=USER_MSG, tools=[OPENAI_SEND], stream=True
    ):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            tool_deltas += len(choice.delta.tool_calls or [])
            finish = choice.finish_reason or finish
    assert tool_deltas == 0 and finish == "stop"
    match = ID.search(text)
    assert match is not None and "send_money" in text
    _approve(gateway, match.group())
    call = _fetch_openai(client, match.group())["tool_call"]
    assert call["function"]["name"] == "send_money"
    assert isinstance(call["function"]["arguments"], str) and '"to":' in call["function"]["arguments"]


def test_a_tool_not_needing_approval_passes_through(gateway: Gateway, keys: dict[str, str]) -> None:
    raw = _openai(gateway, keys["alice"]).chat.completions.with_raw_response.create(
        model="sim-small", messages=USER_MSG, tools=[OPENAI_WEATHER]
    )
    assert "x-doorman-approval" not in raw.headers
    choice = raw.parse().choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls and choice.message.tool_calls[0].function.name == "get_weather"


def test_anthropic_call_is_withheld_and_fetched_once_in_its_own_format(
    gateway: Gateway, keys: dict[str, str]
) -> None:
    claude = _claude(gateway, keys["alice"])
    raw = claude.messages.with_raw_response.create(
        model="sim-claude", max_tokens=100, messages=USER_MSG, tools=[ANTHROPIC_SEND]
    )
    approval_id = raw.headers["x-doorman-approval"]
    message = raw.parse()
    assert message.stop_reason == "end_turn" and [b.type for b in message.content] == ["text"]
    assert approval_id in message.content[0].text  # type: ignore[union-attr]
    _approve(gateway, approval_id)
    got = claude.get(f"/v1/approvals/{approval_id}", cast_to=dict[str, Any])
    assert got["tool_call"]["type"] == "tool_use" and got["tool_call"]["name"] == "send_money"
    assert got["tool_call"]["input"]["amount"] == 1
    with pytest.raises(anthropic.ConflictError):
        claude.get(f"/v1/approvals/{approval_id}", cast_to=dict[str, Any])


def test_anthropic_stream_withholds_the_call(gateway: Gateway, keys: dict[str, str]) -> None:
    claude = _claude(gateway, keys["alice"])
    with claude.messages.stream(
        model="sim-claude", max_tokens=100, messages=USER_MSG, tools=[ANTHROPIC_SEND]
    ) as stream:
        message = stream.get_final_message()
    assert message.stop_reason == "end_turn" and [b.type for b in message.content] == ["text"]
    text = message.content[0].text  # type: ignore[union-attr]
    match = ID.search(text)
    assert match is not None
    _approve(gateway, match.group())
    got = claude.get(f"/v1/approvals/{match.group()}", cast_to=dict[str, Any])
    call = got["tool_call"]  # reassembled from the streamed partial_json pieces
    assert call["name"] == "send_money" and call["id"].startswith("call_")
    assert call["input"]["amount"] == 1 and isinstance(call["input"]["to"], str)


def test_another_users_id_is_not_found(gateway: Gateway, keys: dict[str, str]) -> None:
    approval_id = _send_money(_openai(gateway, keys["alice"])).headers["x-doorman-approval"]
    with pytest.raises(openai.NotFoundError) as info:
        _fetch_openai(_openai(gateway, keys["mallory"]), approval_id)
    assert info.value.code == "approval_not_found"
    _approve(gateway, approval_id)
    with pytest.raises(openai.NotFoundError):  # approved or not, it is not mallory's
        _fetch_openai(_openai(gateway, keys["mallory"]), approval_id)
    assert _fetch_openai(_openai(gateway, keys["alice"]), approval_id)["status"] == "approved"


def test_a_denied_tool_never_reaches_the_provider(
    gateway: Gateway, sim: Proc, keys: dict[str, str]
) -> None:
    before = httpx.get(f"{sim.url}/sim/stats").json()["requests"]
    tool = {"type": "function", "function": {"name": "send_crypto", "parameters": SCHEMA}}
    with pytest.raises(openai.BadRequestError) as info:
        _openai(gateway, keys["alice"]).chat.completions.create(
            model="sim-small", messages=USER_MSG, tools=[tool], stream=True
        )
    assert info.value.code == "tool_not_allowed" and "send_crypto" in str(info.value)
    with pytest.raises(anthropic.BadRequestError):
        _claude(gateway, keys["alice"]).messages.create(
            model="sim-claude", max_tokens=50, messages=USER_MSG,
            tools=[{"name": "rm_rf", "input_schema": SCHEMA}],
        )  # fmt: skip
    assert httpx.get(f"{sim.url}/sim/stats").json()["requests"] == before


def test_an_expired_id_is_refused_to_the_caller_and_the_approver(
    gateway: Gateway, keys: dict[str, str]
) -> None:
    client = _openai(gateway, keys["alice"])
    raw = _send_money(client)
    approval_id = raw.headers["x-doorman-approval"]
    # Time passes: the approval's deadline moves into the past (the serving gateway's SQLite file).
    with sqlite3.connect(gateway.workdir / "doorman.db") as db:
        db.execute("UPDATE tool_approvals SET expires_at = '2000-01-01 00:00:00' WHERE id = ?",
                   (approval_id,))  # fmt: skip
    with pytest.raises(openai.APIStatusError) as info:
        _fetch_openai(client, approval_id)
    assert info.value.status_code == 410 and info.value.code == "approval_expired"
    late = gateway.cli(
        "approvals", "approve", approval_id, "--config", str(gateway.config_path), check=False
    )
    assert late.returncode == 1 and "approval_expired" in late.stderr
