"""Cross-provider fallbacks end to end: official SDKs, a gateway, and simulated providers that
each speak one wire format — the failing one in the caller's format, the healthy one in the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
import yaml

from harness import Gateway, Proc, run_cli, serving, start_sim

PRICE = {"input": 1.0, "output": 2.0}
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Proc]]:
    work = tmp_path_factory.mktemp("sims")
    procs = {
        "oa": start_sim(work),
        "an": start_sim(work),
        "dead": start_sim(work, "--error-rate", "1.0"),
    }
    yield procs
    for proc in procs.values():
        proc.stop()


@pytest.fixture(scope="module")
def gateway(sims: dict[str, Proc], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    dead = sims["dead"].url
    providers = {
        "openai-live": {"kind": "openai", "base_url": f"{sims['oa'].url}/v1"},
        "anthropic-live": {"kind": "anthropic", "base_url": sims["an"].url},
        "openai-dead": {"kind": "openai", "base_url": f"{dead}/v1"},
        "anthropic-dead": {"kind": "anthropic", "base_url": dead},
    }
    models: dict[str, Any] = {
        "claude-main": {"provider": "anthropic-dead", "fallbacks": ["gpt-backup"]},
        "gpt-backup": {"provider": "openai-live"},
        "gpt-main": {"provider": "openai-dead", "fallbacks": ["claude-backup"]},
        "claude-backup": {"provider": "anthropic-live"},
        "chain-a": {"provider": "openai-dead", "fallbacks": ["chain-b"]},
        "chain-b": {"provider": "anthropic-dead", "fallbacks": ["chain-c"]},
        "chain-c": {"provider": "openai-live"},
    }
    for m in models.values():
        m["price"] = PRICE
    config = {
        "providers": providers,
        "models": models,
        "reliability": {"max_attempts": 1},
        "screening": {"enabled": False},
    }
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    return str(gateway.create_key("translate", "enterprise")["key"])


def _calls(sim: Proc) -> dict[str, int]:
    return dict(httpx.get(f"{sim.url}/sim/stats").json()["by_path"])


def test_anthropic_sdk_falls_back_to_an_openai_model_with_the_tool_call_intact(
    gateway: Gateway, key: str, sims: dict[str, Proc]
) -> None:
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    tool = {
        "name": WEATHER["name"],
        "description": WEATHER["description"],
        "input_schema": WEATHER["schema"],
    }
    raw = claude.messages.with_raw_response.create(
        model="claude-main",
        max_tokens=200,
        system="You are a weather bot.",
        tools=[tool],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    assert raw.headers["x-doorman-served-by"] == "gpt-backup"
    message = raw.parse()
    assert message.stop_reason == "tool_use"
    (use,) = [b for b in message.content if b.type == "tool_use"]
    assert use.name == "get_weather"
    assert set(use.input) == {"city", "days"}  # type: ignore[arg-type]
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert _calls(sims["oa"]).get("/v1/chat/completions", 0) >= 1

    with claude.messages.stream(
        model="claude-main",
        max_tokens=200,
        tools=[tool],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    ) as stream:
        final = stream.get_final_message()
    (streamed,) = [b for b in final.content if b.type == "tool_use"]
    assert streamed.input == use.input and streamed.name == use.name
    assert final.stop_reason == "tool_use"

    # The tool result goes back through the same translation, text answer this time.
    follow = claude.messages.create(
        model="claude-main",
        max_tokens=50,
        tools=[tool],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [use.model_dump()]},  # type: ignore[list-item]
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21C"}
                ],
            },
        ],
    )
    assert follow.content[0].type == "text" and follow.content[0].text


def test_openai_sdk_falls_back_to_an_anthropic_model_with_the_tool_call_intact(
    gateway: Gateway, key: str
) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    tool = {
        "type": "function",
        "function": {
            "name": WEATHER["name"],
            "description": WEATHER["description"],
            "parameters": WEATHER["schema"],
        },
    }
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-main",
        messages=[
            {"role": "system", "content": "Weather bot."},
            {"role": "user", "content": "Weather in Oslo?"},
        ],
        tools=[tool],  # type: ignore[list-item]
    )
    assert raw.headers["x-doorman-served-by"] == "claude-backup"
    reply = raw.parse()
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert reply.usage is not None and reply.usage.prompt_tokens > 0

    stream = client.chat.completions.create(
        model="gpt-main",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[tool],  # type: ignore[list-item]
        stream=True,
        stream_options={"include_usage": True},
    )
    args, name, finish, usage = "", None, None, None
    for chunk in stream:
        usage = chunk.usage or usage
        for c in chunk.choices:
            for d in c.delta.tool_calls or []:
                name = (d.function.name if d.function else None) or name
                args += (d.function.arguments if d.function else None) or ""
            finish = c.finish_reason or finish
    assert name == "get_weather"
    assert args == call.function.arguments  # type: ignore[union-attr]
    assert finish == "tool_calls"
    assert usage is not None and usage.completion_tokens > 0


def test_fallbacks_are_followed_transitively(gateway: Gateway, key: str) -> None:
    r = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "chain-a", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-doorman-served-by"] == "chain-c"


def test_untranslatable_field_on_the_primary_model_is_a_400_naming_it(
    gateway: Gateway, key: str, sims: dict[str, Proc]
) -> None:
    before = _calls(sims["an"])
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="claude-backup",
            messages=[{"role": "user", "content": "hi"}],
            logprobs=True,
        )
    assert "logprobs" in str(info.value)
    assert _calls(sims["an"]) == before  # refused before any upstream call


def test_untranslatable_fallback_is_skipped_not_stripped(
    gateway: Gateway, key: str, sims: dict[str, Proc]
) -> None:
    before = _calls(sims["an"])
    r = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={
            "model": "gpt-main",
            "messages": [{"role": "user", "content": "hi"}],
            "logprobs": True,
            "max_tokens": 5,
        },
        timeout=30,
    )
    assert r.status_code == 503, r.text
    assert _calls(sims["an"]) == before


def test_check_config_reports_a_fallback_cycle_with_its_path(tmp_path: Path) -> None:
    config = {
        "models": {
            "a": {"provider": "sim", "fallbacks": ["b"], "price": PRICE},
            "b": {"provider": "sim", "fallbacks": ["c"], "price": PRICE},
            "c": {"provider": "sim", "fallbacks": ["a"], "price": PRICE},
        }
    }
    path = tmp_path / "cycle.yaml"
    path.write_text(yaml.safe_dump(config))
    out = run_cli(tmp_path, "check-config", str(path), check=False)
    assert out.returncode == 2
    assert "a -> b -> c -> a" in out.stdout + out.stderr
