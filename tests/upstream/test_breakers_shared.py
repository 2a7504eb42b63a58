"""Breaker telemetry, alerts, and open states shared across replicas through a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from reliability_clock import FakeClock

from doorman.observe.metrics import Metrics
from doorman.upstream.breakers import KEY_PREFIX, BreakerBoard
from doorman.upstream.settings import BreakerSettings
from doorman.upstream.telemetry import ReliabilityMetrics

SETTINGS = BreakerSettings(consecutive_failures=2, cooldown_s=30, sync_interval_s=0.05)


class Alerts:
    def __init__(self) -> None:
        self.opened: list[tuple[str, str | None]] = []

    async def breaker_opened(self, deployment: str, reason: str | None = None) -> None:
        self.opened.append((deployment, reason))


def trip(board: BreakerBoard, key: str) -> None:
    for _ in range(SETTINGS.consecutive_failures):
        permit = board.get(key).allow()
        assert permit is not None
        permit.failure("503")


async def settle(board: BreakerBoard) -> None:
    for _ in range(50):
        if not board._tasks:
            return
        await asyncio.sleep(0.01)


async def test_transitions_reach_metrics_and_alerts(clock: FakeClock) -> None:
    metrics = Metrics()
    alerts = Alerts()
    board = BreakerBoard(
        SETTINGS,
        telemetry=ReliabilityMetrics(metrics),
        alerts=alerts,  # type: ignore[arg-type]
        clock=clock,
    )
    key = "prov/model"
    board.get(key)
    gauge = lambda: metrics.registry.get_sample_value("doorman_breaker_state", {"deployment": key})  # noqa: E731
    assert gauge() == 0.0
    trip(board, key)
    await settle(board)
    assert gauge() == 2.0
    assert (
        alerts.opened
        and alerts.opened[0][0] == key
        and "consecutive" in (alerts.opened[0][1] or "")
    )
    clock.advance(30)
    probe = board.get(key).allow()
    assert gauge() == 1.0
    assert probe is not None
    probe.success()
    assert gauge() == 0.0
    opened = metrics.registry.get_sample_value(
        "doorman_breaker_transitions_total", {"deployment": key, "state": "open"}
    )
    assert opened == 1.0


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_an_open_breaker_is_adopted_by_other_replicas(redis: Redis) -> None:
    key = f"prov-{uuid.uuid4().hex[:8]}/model"
    a_alerts, b_alerts = Alerts(), Alerts()
    a = BreakerBoard(SETTINGS, alerts=a_alerts, redis=redis)  # type: ignore[arg-type]
    b = BreakerBoard(SETTINGS, alerts=b_alerts, redis=redis)  # type: ignore[arg-type]
    try:
        assert b.get(key).state == "closed"
        trip(a, key)
        await settle(a)
        ttl = await redis.pttl(KEY_PREFIX + key)
        assert 0 < ttl <= 30_000
        await b.sync_once()
        assert b.get(key).state == "open"
        assert b.get(key).allow() is None
        assert 25 < b.get(key).retry_in() <= 30
        assert len(a_alerts.opened) == 1 and not b_alerts.opened  # one alert, from the opener
        # The background sync does the same without being asked.
        c = BreakerBoard(SETTINGS, redis=redis)
        c.get(key)
        for _ in range(100):
            if c.get(key).state == "open":
                break
            await asyncio.sleep(0.02)
        assert c.get(key).state == "open"
        await c.close()
    finally:
        await a.close()
        await b.close()


async def test_a_successful_probe_clears_the_shared_state(redis: Redis, clock: FakeClock) -> None:
    key = f"prov-{uuid.uuid4().hex[:8]}/model"
    a = BreakerBoard(SETTINGS, redis=redis, clock=clock)
    trip(a, key)
    await settle(a)
    assert await redis.exists(KEY_PREFIX + key)
    clock.advance(30)
    probe = a.get(key).allow()
    assert probe is not None
    probe.success()
    await settle(a)
    assert not await redis.exists(KEY_PREFIX + key)
    await a.close()


async def test_redis_down_only_costs_the_sharing() -> None:
    dead = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    board = BreakerBoard(SETTINGS, redis=dead)
    key = "prov/model"
    trip(board, key)
    await settle(board)
    assert board.get(key).state == "open"
    with pytest.raises(Exception):  # noqa: B017 - the sync loop logs and carries on
        await board.sync_once()
    await board.close()
    await dead.aclose()
