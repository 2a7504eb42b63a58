"""The response cache shared through Redis: replicas coalesce, and a dead Redis is a miss."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import Gateway, Proc, sim_config, start_gateway
from services import free_port, unavailable, wait_port

pytestmark = pytest.mark.slow

MSG = [{"role": "user", "content": "Which planet is largest?"}]
BODY = {"model": "sim-small", "messages": MSG, "temperature": 0, "max_tokens": 20}


def cached_config(sim: Proc, redis_url: str, tmp: Path) -> dict[str, Any]:
    config = sim_config(sim, shared={"requests_per_minute": 10_000,
                                     "cache": {"mode": "exact", "scope": "user"}})  # fmt: skip
    config["redis_url"] = redis_url
    config["limits"] = {"backend": "memory"}  # the cache, not the limits, is under test
    return config


def new_key(gateway: Gateway, user: str) -> str:
    with gateway.admin() as admin:
        r = admin.post("/admin/keys", json={"user": user, "tier": "shared"})
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def upstream_requests(sim: Proc) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats").json()["requests"])


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis this test may stop (the session one is shared)."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed")
        raise AssertionError
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        assert wait_port("127.0.0.1", port)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.terminate()
        proc.wait(10)


def test_twenty_requests_over_three_replicas_reach_the_provider_once(
    sim: Proc, redis_url: str, tmp_path: Path
) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    httpx.post(f"{sim.url}/sim/reset")
    httpx.post(f"{sim.url}/sim/configure", json={"ttft_ms": 300})
    gateways: list[Gateway] = []
    try:
        for i in range(3):
            gateways.append(start_gateway(tmp_path / f"gw{i}", cached_config(sim, redis_url, tmp_path)))
        # The same user on every replica (each has its own key database here).
        keys = [new_key(gw, "fleet") for gw in gateways]

        async def fire() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=60) as c:
                return list(await asyncio.gather(*(
                    c.post(f"{gateways[i % 3].url}/v1/chat/completions", json=BODY,
                           headers={"authorization": f"Bearer {keys[i % 3]}"}) for i in range(20)
                )))  # fmt: skip

        responses = asyncio.run(fire())
    finally:
        httpx.post(f"{sim.url}/sim/configure", json={"ttft_ms": 0})
        for gw in gateways:
            gw.stop()
    assert [r.status_code for r in responses] == [200] * 20
    assert len({r.json()["choices"][0]["message"]["content"] for r in responses}) == 1
    assert [r.headers["x-doorman-cache"] for r in responses].count("miss") == 1
    assert upstream_requests(sim) == 1
    # Key names are hashes only: nothing of the request or the user is readable in Redis.
    names = [k.decode() for k in redis.Redis.from_url(redis_url).keys("doorman:cache*")]
    assert names and all("fleet" not in n and "sim-small" not in n for n in names)


def test_redis_stopped_mid_run_requests_still_succeed_as_misses(
    sim: Proc, own_redis: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, proc = own_redis
    httpx.post(f"{sim.url}/sim/reset")
    gw = start_gateway(tmp_path / "gw", cached_config(sim, url, tmp_path))
    try:
        key = new_key(gw, "survivor")
        headers = {"authorization": f"Bearer {key}"}
        first = httpx.post(f"{gw.url}/v1/chat/completions", json=BODY, headers=headers, timeout=30)
        second = httpx.post(f"{gw.url}/v1/chat/completions", json=BODY, headers=headers, timeout=30)
        assert [first.headers["x-doorman-cache"], second.headers["x-doorman-cache"]] == ["miss", "hit"]
        proc.terminate()
        proc.wait(10)
        after = [httpx.post(f"{gw.url}/v1/chat/completions", json=BODY, headers=headers, timeout=30)
                 for _ in range(3)]  # fmt: skip
        assert [r.status_code for r in after] == [200, 200, 200]
        assert [r.headers["x-doorman-cache"] for r in after] == ["miss"] * 3
        assert after[0].json()["choices"][0]["message"]["content"]
        metrics = httpx.get(f"{gw.url}/metrics").text
        errors = [line for line in metrics.splitlines()
                  if line.startswith("doorman_cache_errors_total{") and not line.endswith(" 0.0")]  # fmt: skip
        assert errors, "cache failures must be counted"
        assert "cache_error" in gw.proc.log()
    finally:
        gw.stop()
