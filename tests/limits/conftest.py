"""A limiter factory parametrized over both backends: in-process memory and a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from doorman.limits import Limiter, LimitsSettings, ManualClock

MakeLimiter = Callable[..., Limiter]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make_limiter(
    request: pytest.FixtureRequest, backend: str, clock: ManualClock
) -> AsyncIterator[MakeLimiter]:
    """``make_limiter(zone="UTC", **limits_settings)``; each test gets its own key prefix."""
    clients: list[Redis] = []
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    prefix = f"t{uuid.uuid4().hex[:10]}"

    def make(zone: str = "UTC", **overrides: Any) -> Limiter:
        # Generous store timeout: CI machines are busy; timeouts have their own tests.
        settings = LimitsSettings.model_validate(
            {"key_prefix": prefix, "store_timeout_s": 10.0, **overrides}
        )
        redis = None
        if url is not None:
            redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            clients.append(redis)
        return Limiter.create(settings, redis, ZoneInfo(zone), clock=clock)

    yield make
    for client in clients:
        await client.aclose()
