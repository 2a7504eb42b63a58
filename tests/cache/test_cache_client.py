"""The response cache through doorman.Client: the seed's milestone and the cache controls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cachekit import ledger, new_key

import doorman
from doorman.config import Settings, parse_settings
from harness import Proc, sim_config

MSG = [{"role": "user", "content": "What is the capital of France?"}]


def settings_for(sim: Proc, tmp_path: Path, **cache: Any) -> Settings:
    config = sim_config(
        sim,
        pro={"requests_per_minute": 1000, "cache": {"mode": "exact", **cache}},
        nocache={"requests_per_minute": 1000},
    )
    config["database_url"] = f"sqlite+aiosqlite:///{tmp_path}/doorman.db"
    return parse_settings(config)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORMAN_PEPPER", "cache-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-cache-test-" + "x" * 24)


async def test_twenty_identical_calls_are_one_upstream_call_and_nineteen_hits(
    sim: Proc, tmp_path: Path, upstream_calls: Callable[[], int]
) -> None:
    settings = settings_for(sim, tmp_path)
    key = await new_key(settings, "alice")
    async with doorman.Client(api_key=key, config=settings) as dm:
        replies = [
            await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=10)
            for _ in range(20)
        ]
        stats = dm.stats
    statuses = [r.headers["x-doorman-cache"] for r in replies]
    assert statuses == ["miss"] + ["hit"] * 19
    assert {r.text for r in replies} == {replies[0].text}
    assert upstream_calls() == 1
    assert all(r.cost_usd == 0 for r in replies[1:]) and replies[0].cost_usd > 0
    assert stats.calls == 20 and stats.cache_hits == 19
    assert stats.hit_rate == pytest.approx(0.95)
    assert stats.cost_usd == pytest.approx(replies[0].cost_usd)
    assert stats.saved_usd == pytest.approx(19 * replies[0].cost_usd)
    rows = await ledger(settings)
    assert sum(r["cache_hit"] for r in rows) == 19
    hit = next(r for r in rows if r["cache_hit"])
    assert hit["cost_usd"] == 0 and hit["input_tokens"] == 0
    assert hit["saved_usd"] == pytest.approx(replies[0].cost_usd)


async def test_controls_and_nondeterministic_requests(
    sim: Proc, tmp_path: Path, upstream_calls: Callable[[], int]
) -> None:
    settings = settings_for(sim, tmp_path)
    key = await new_key(settings, "bob")
    async with doorman.Client(api_key=key, config=settings) as dm:
        async def call(headers: dict[str, str] | None = None, **params: Any) -> str:
            params.setdefault("temperature", 0)
            params.setdefault("max_tokens", 5)
            reply = await dm.chat(
                model="sim-small", messages=MSG, extra_headers=headers or {}, **params
            )
            return reply.headers.get("x-doorman-cache", "-")

        assert await call() == "miss"
        assert await call() == "hit"
        assert await call({"cache-control": "no-cache"}) == "refresh"
        assert await call({"x-doorman-cache": "refresh"}) == "refresh"
        assert await call({"cache-control": "no-store"}) == "bypass"
        assert await call({"x-doorman-cache": "bypass"}) == "bypass"
        assert await call(temperature=0.7) == "bypass"  # sampled: never reused by default
        assert await call(temperature=0.7, seed=7) == "miss"
        assert await call(temperature=0.7, seed=7) == "hit"
        assert await call(max_tokens=6) == "miss"  # another parameter, another answer
    # miss, refresh x2, bypass x2, sampled, seeded miss, other max_tokens
    assert upstream_calls() == 8
