"""Tool policy: a tier's denied or unlisted tools never reach the provider, in either format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import doorman
from doorman.auth.service import KeyService
from doorman.config import Settings, parse_settings
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.errors import BadRequest

MSG = [{"role": "user", "content": "Tidy up the server."}]


def _openai_tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DOORMAN_PEPPER", "tools-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-tools-test-" + "x" * 24)
    return parse_settings(
        {
            "database_url": f"sqlite+aiosqlite:///{tmp_path}/doorman.db",
            "tiers": {
                "agents": {
                    "tools": {
                        "allow": ["search_*", "get_weather", "shell_exec"],
                        "deny": ["shell_*"],
                    }
                }
            },
        }
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Any]:
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        key = (await KeyService(engine, settings).create(user="agent", tier="agents")).key
    finally:
        await engine.dispose()
    async with doorman.Client(api_key=key, config=settings) as dm:
        calls: list[object] = []
        send = dm._gateway.dispatcher.send

        async def counting_send(*args: Any, **kw: Any) -> Any:
            calls.append(args)
            return await send(*args, **kw)

        dm._gateway.dispatcher.send = counting_send
        dm.upstream_calls = calls
        yield dm


@pytest.mark.parametrize(
    ("tools", "param", "name"),
    [
        ([_openai_tool("shell_exec")], "tools[0].function.name", "shell_exec"),  # deny wins
        ([_openai_tool("search_web"), _openai_tool("rm_rf")], "tools[1].function.name", "rm_rf"),
        # A custom tool (free-form input) is a tool like any other: it was not checked at all.
        (
            [{"type": "custom", "custom": {"name": "shell_exec"}}],
            "tools[0].custom.name",
            "shell_exec",
        ),
        ([_openai_tool("SHELL_EXEC")], "tools[0].function.name", "SHELL_EXEC"),  # any spelling
    ],
)
async def test_denied_or_unlisted_openai_tool_is_refused_before_any_upstream_call(
    client: Any, tools: list[dict[str, Any]], param: str, name: str
) -> None:
    with pytest.raises(BadRequest) as info:
        await client.chat(model="sim-small", messages=MSG, tools=tools, max_tokens=5)
    assert info.value.code == "tool_not_allowed" and info.value.param == param
    assert name in info.value.message
    assert client.upstream_calls == []


async def test_anthropic_tools_are_held_to_the_same_policy(client: Any) -> None:
    tools = [{"name": "shell_run", "input_schema": {"type": "object"}}]
    with pytest.raises(BadRequest) as info:
        await client.chat(
            model="sim-claude", messages=MSG, tools=tools, max_tokens=5, wire="anthropic"
        )
    assert info.value.param == "tools[0].name"
    assert client.upstream_calls == []


async def test_allowed_tools_pass(client: Any) -> None:
    reply = await client.chat(
        model="sim-small", messages=MSG, tools=[_openai_tool("get_weather")], max_tokens=20
    )
    assert reply.body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert len(client.upstream_calls) == 1
