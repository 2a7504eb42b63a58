"""In-process ``doorman.Client``: a withheld call is fetched with ``Client.approval``; answers
that may need approval are never served from the response cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import doorman
from doorman.auth.service import Actor, KeyService
from doorman.config import Settings, parse_settings
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.errors import Conflict, NotFound

TOOL = {"type": "function", "function": {"name": "send_money", "parameters": {
    "type": "object", "properties": {"to": {"type": "string"}}}}}  # fmt: skip
MSG = [{"role": "user", "content": "Pay the invoice"}]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DOORMAN_PEPPER", "approvals-client-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-approvals-" + "x" * 24)
    return parse_settings({
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/doorman.db",
        "screening": {"enabled": False},
        "tiers": {"agents": {"cache": {"mode": "exact"},
                             "tools": {"require_approval": ["send_*"]}}},
    })  # fmt: skip


async def _key(settings: Settings, user: str) -> str:
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        return (await KeyService(engine, settings).create(user=user, tier="agents")).key
    finally:
        await engine.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Any]:
    async with doorman.Client(api_key=await _key(settings, "alice"), config=settings) as dm:
        yield dm


async def test_client_fetches_an_approved_call_once(client: Any) -> None:
    reply = await client.chat(model="sim-small", messages=MSG, tools=[TOOL], max_tokens=20)
    approval_id = reply.headers["x-doorman-approval"]
    assert approval_id in reply.text
    assert (await client.approval(approval_id))["status"] == "pending"
    await client._gateway.approvals.decide(approval_id, approve=True, actor=Actor("ops"))
    got = await client.approval(approval_id, wait=5)
    assert got["tool_call"]["function"]["name"] == "send_money"
    with pytest.raises(Conflict):
        await client.approval(approval_id)


async def test_another_users_client_cannot_see_it(client: Any, settings: Settings) -> None:
    reply = await client.chat(model="sim-small", messages=MSG, tools=[TOOL], max_tokens=20)
    approval_id = reply.headers["x-doorman-approval"]
    async with doorman.Client(api_key=await _key(settings, "mallory"), config=settings) as other:
        with pytest.raises(NotFound):
            await other.approval(approval_id)


async def test_answers_that_may_need_approval_bypass_the_cache(client: Any) -> None:
    ask = {"model": "sim-small", "messages": MSG, "max_tokens": 20, "temperature": 0}
    first = await client.chat(**ask, tools=[TOOL])
    second = await client.chat(**ask, tools=[TOOL])
    assert first.headers["x-doorman-cache"] == second.headers["x-doorman-cache"] == "bypass"
    assert first.headers["x-doorman-approval"] != second.headers["x-doorman-approval"]
    # Without a tool needing approval the tier caches as configured.
    plain = [await client.chat(**ask) for _ in range(2)]
    assert [r.headers["x-doorman-cache"] for r in plain] == ["miss", "hit"]
