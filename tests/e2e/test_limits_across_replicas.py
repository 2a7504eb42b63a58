"""Issue 4's proof: limits hold across three gateway replicas sharing Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import Gateway, Proc, start_gateway, start_sim

pytestmark = pytest.mark.slow

PRICE = {"input": 10.0, "output": 30.0}  # USD per 1M tokens: a few cents per dozen requests
MSG = [{"role": "user", "content": "Tell me a story about budgets."}]


def replica_config(sim: Proc, redis_url: str, database_url: str) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "redis_url": redis_url,
        "providers": {"sim": {"kind": "openai", "base_url": f"{sim.url}/v1"}},
        "models": {"priced": {"provider": "sim", "price": PRICE}},
        "tiers": {
            "budget": {"daily_budget_usd": 0.05, "max_output_tokens": 100,
                       "requests_per_minute": 100_000, "tokens_per_minute": 100_000_000},
            "rpm50": {"requests_per_minute": 50, "max_output_tokens": 5},
            "conc5": {"max_concurrent": 5, "max_output_tokens": 200, "requests_per_minute": 100_000},
        },
        "screening": {"injection": {"action": "off"}},
        # A loaded 2-core box: Redis round trips get a generous deadline (the default 0.5 s fails
        # closed with 503 limits_unavailable, which never overspends but is not what is tested).
        "limits": {"store_timeout_s": 10.0},
    }


@pytest.fixture
def replicas(
    tmp_path: Path, redis_url: str, postgres_url: str
) -> Iterator[tuple[Proc, list[Gateway]]]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    (tmp_path / "sim").mkdir()
    sim = start_sim(tmp_path / "sim", "--token-ms", "20")
    config = replica_config(sim, redis_url, postgres_url)
    gateways: list[Gateway] = []
    try:
        for i in range(3):
            gateways.append(start_gateway(tmp_path / f"gw{i}", config))
        yield sim, gateways
    finally:
        for gw in gateways:
            gw.stop()
        sim.stop()


async def fire(gateways: list[Gateway], key: str, n: int, body: dict[str, Any]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        headers = {"authorization": f"Bearer {key}"}
        tasks = [
            client.post(f"{gateways[i % len(gateways)].url}/v1/chat/completions", json=body, headers=headers)
            for i in range(n)
        ]
        return list(await asyncio.gather(*tasks))


def test_budget_is_never_exceeded_by_300_concurrent_requests(replicas: tuple[Proc, list[Gateway]]) -> None:
    _, gws = replicas
    key = gws[0].create_key("budget-user", "budget")["key"]
    responses = asyncio.run(fire(gws, key, 300, {"model": "priced", "messages": MSG, "max_tokens": 100}))
    statuses = Counter(r.status_code for r in responses)
    # A fail-closed 503 limits_unavailable is a refusal too: it never reaches the provider.
    assert set(statuses) <= {200, 429, 503}, statuses
    spent = 0.0
    for r in responses:
        if r.status_code == 200:
            u = r.json()["usage"]
            spent += (u["prompt_tokens"] * PRICE["input"] + u["completion_tokens"] * PRICE["output"]) / 1e6
        else:
            code = r.json()["error"]["code"]
            assert code == ("budget_exceeded" if r.status_code == 429 else "limits_unavailable"), code
    assert statuses[200] >= 10  # the budget was actually used, not refused wholesale
    assert spent <= 0.05 + 1e-12, spent


def test_rpm_50_admits_at_most_50_of_200_across_replicas(replicas: tuple[Proc, list[Gateway]]) -> None:
    _, gws = replicas
    key = gws[1].create_key("rpm-user", "rpm50")["key"]
    started = time.monotonic()
    responses = asyncio.run(fire(gws, key, 200, {"model": "priced", "messages": MSG, "max_tokens": 2}))
    elapsed = time.monotonic() - started
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 429}, statuses
    # GCRA allows a burst of 50 and then one request per 1.2 s emission interval: a burst that takes
    # longer than that on a loaded machine has earned one more admission per elapsed interval.
    # It may refuse a few at the very edge, never admit more.
    allowed = 50 + int(elapsed / 1.2)
    assert 45 <= statuses[200] <= allowed, (statuses, elapsed)


def test_abandoned_streams_do_not_leak_concurrency(replicas: tuple[Proc, list[Gateway]]) -> None:
    _, gws = replicas
    key = gws[2].create_key("conc-user", "conc5")["key"]
    headers = {"authorization": f"Bearer {key}"}

    async def abandon_streams() -> None:
        # Five slow streams (200 tokens x 20 ms), each read for one chunk and then dropped.
        for i in range(5):
            async with httpx.AsyncClient(timeout=30) as client:
                body = {"model": "priced", "messages": MSG, "max_tokens": 200, "stream": True}
                url = f"{gws[i % 3].url}/v1/chat/completions"
                async with client.stream("POST", url, json=body, headers=headers) as resp:
                    assert resp.status_code == 200
                    async for _ in resp.aiter_bytes():
                        break
        # Give the replicas a moment to notice the disconnects.
        await asyncio.sleep(1.0)

    asyncio.run(abandon_streams())
    # Six overlapping requests of ~1 s each: exactly five fit in max_concurrent=5.
    started = time.monotonic()
    responses = asyncio.run(fire(gws, key, 6, {"model": "priced", "messages": MSG, "max_tokens": 50}))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({200: 5, 429: 1}), (statuses, time.monotonic() - started)
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "concurrency_exceeded"
