"""Redis-specific behaviour: key layout, script reloads, and the store-failure policy."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from doorman.errors import ServiceUnavailable
from doorman.limits import Demand, Limiter, LimitRefused, LimitsSettings, ManualClock, Scope
from doorman.limits.redis_store import connect_redis
from doorman.limits.spec import CONCURRENCY, DAY, MINUTE, LimitSpec
from services import free_port, wait_port

ALICE = Scope("user", "alice")
RPM10 = LimitSpec(ALICE, "requests_per_minute", "requests", 10, MINUTE)
UTC = ZoneInfo("UTC")


@pytest.fixture
async def redis(redis_url: str) -> Redis:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def start_redis(binary: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


async def test_keys_are_hash_tagged_per_scope(redis: Redis) -> None:
    clock = ManualClock()
    p = prefix()
    limiter = Limiter.create(LimitsSettings(key_prefix=p, store_timeout_s=10), redis, UTC,
                             clock=clock)
    specs = [
        RPM10,
        LimitSpec(ALICE, "daily_budget_usd", "usd", 1.0, DAY),
        LimitSpec(Scope("model", "gpt{x}"), "max_concurrent", "concurrent", 3, CONCURRENCY),
    ]
    await limiter.reserve(specs, Demand(usd=0.5))
    keys = sorted(k.decode() for k in await redis.keys(f"{p}:*"))
    assert keys == [
        f"{p}:{{model:gpt%7Bx%7D}}:max_concurrent",
        f"{p}:{{user:alice}}:daily_budget_usd:20270115",
        f"{p}:{{user:alice}}:daily_budget_usd:20270115:holds",
        f"{p}:{{user:alice}}:requests_per_minute",
    ]
    for key in keys:
        assert await redis.ttl(key) > 0  # nothing lives forever


async def test_scripts_are_reloaded_after_script_flush(redis: Redis) -> None:
    limiter = Limiter.create(
        LimitsSettings(key_prefix=prefix(), store_timeout_s=10), redis, UTC, clock=ManualClock()
    )
    await limiter.reserve([RPM10], Demand())
    await redis.script_flush()
    res = await limiter.reserve([RPM10], Demand())
    await redis.script_flush()
    await limiter.settle(res)
    (status,) = await limiter.peek([RPM10])
    assert status.remaining == 8


async def test_closed_policy_refuses_fast_with_503() -> None:
    dead = connect_redis(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
    limiter = Limiter.create(LimitsSettings(store_timeout_s=0.2), dead, UTC, clock=ManualClock())
    for _ in range(3):
        with pytest.raises(ServiceUnavailable) as err:
            await limiter.reserve([RPM10], Demand())
        assert err.value.code == "limits_unavailable"
        assert err.value.status_code == 503
        assert "retry-after" in err.value.headers
    await dead.aclose()


@pytest.fixture
def redis_port() -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield free_port(), procs
    for proc in procs:
        proc.terminate()
        proc.wait(10)


async def test_open_policy_uses_conservative_local_limits_and_recovers(
    redis_port: tuple[int, list[subprocess.Popen[bytes]]],
) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server to bring the store back")
    port, procs = redis_port
    client = connect_redis(f"redis://127.0.0.1:{port}/0", timeout_s=0.2)
    clock = ManualClock()
    settings = LimitsSettings(
        on_store_failure="open", fail_open_fraction=0.5, store_retry_s=5, key_prefix=prefix()
    )
    limiter = Limiter.create(settings, client, UTC, clock=clock)

    admitted = 0
    with capture_logs() as logs:
        for _ in range(10):
            try:
                res = await limiter.reserve([RPM10], Demand())
                admitted += 1
            except LimitRefused:
                break
    assert admitted == 5  # half of 10, enforced locally while Redis is down
    assert [e["log_level"] for e in logs] == ["error"]  # loud once, not per request
    assert logs[0]["event"] == "limits_store_unreachable_failing_open"
    await limiter.settle(res)

    procs.append(start_redis(binary, port))
    assert await asyncio.to_thread(wait_port, "127.0.0.1", port)
    clock.advance(6)  # past store_retry_s: the next request probes Redis again
    for _ in range(10):
        await limiter.reserve([RPM10], Demand())
    assert await client.exists(f"{settings.key_prefix}:{{user:alice}}:requests_per_minute")
    with pytest.raises(LimitRefused):
        await limiter.reserve([RPM10], Demand())
    await client.aclose()


async def test_a_slow_reply_fails_one_request_not_the_replica(
    redis_port: tuple[int, list[subprocess.Popen[bytes]]],
) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server")
    port, procs = redis_port
    procs.append(start_redis(binary, port))
    assert await asyncio.to_thread(wait_port, "127.0.0.1", port)
    admin = Redis(port=port)
    client = connect_redis(f"redis://127.0.0.1:{port}/0", timeout_s=0.3)
    limiter = Limiter.create(
        LimitsSettings(store_timeout_s=0.3, key_prefix=prefix()), client, UTC, clock=ManualClock()
    )
    budget = LimitSpec(ALICE, "daily_budget_usd", "usd", 1.0, DAY)
    await limiter.reserve([RPM10], Demand())  # connected, scripts loaded
    await admin.execute_command("CLIENT", "PAUSE", "1500", "ALL")
    with pytest.raises(ServiceUnavailable) as err:
        await limiter.reserve([RPM10, budget], Demand(usd=0.5))
    assert err.value.code == "limits_unavailable"
    await admin.execute_command("CLIENT", "UNPAUSE")
    # Not marked down: the next request goes to Redis at once (no store_retry_s wait).
    res = await limiter.reserve([RPM10], Demand())
    # The timed-out reserve did run once Redis woke up; its budget hold is undone shortly
    # after (its rolling-window request stays counted, and decays within the minute).
    assert res.statuses[0].remaining == 8
    for _ in range(50):
        if (await limiter.peek([budget]))[0].remaining == 1.0:
            break
        await asyncio.sleep(0.05)
    assert (await limiter.peek([budget]))[0].remaining == 1.0
    await client.aclose()
    await admin.aclose()


def start_cluster_node(binary: str, port: int, workdir: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--cluster-enabled", "yes", "--cluster-port", str(free_port()),
         "--cluster-config-file", f"{workdir}/nodes.conf",
         "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_redis_cluster_compensates_across_slots(
    redis_port: tuple[int, list[subprocess.Popen[bytes]]], tmp_path: object
) -> None:
    """A one-node Redis Cluster still refuses scripts whose keys span slots (CROSSSLOT)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server")
    from redis.asyncio import Redis as Plain
    from redis.asyncio.cluster import RedisCluster

    port, procs = redis_port
    procs.append(start_cluster_node(binary, port, str(tmp_path)))
    assert await asyncio.to_thread(wait_port, "127.0.0.1", port)
    admin = Plain(port=port)
    await admin.execute_command("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
    for _ in range(100):
        info = (await admin.execute_command("CLUSTER", "INFO")).decode()
        if "cluster_state:ok" in info:
            break
        await asyncio.sleep(0.05)
    await admin.aclose()

    cluster = RedisCluster(host="127.0.0.1", port=port)
    limiter = Limiter.create(LimitsSettings(store_timeout_s=10), cluster, UTC, clock=ManualClock())
    assert not limiter.atomic
    model_rpm = LimitSpec(Scope("model", "m"), "requests_per_minute", "requests", 1, MINUTE)
    budget = LimitSpec(ALICE, "daily_budget_usd", "usd", 1.0, DAY)
    specs = [RPM10, budget, model_rpm]
    res = await limiter.reserve(specs, Demand(usd=0.25))
    with pytest.raises(LimitRefused) as err:
        await limiter.reserve(specs, Demand(usd=0.25))
    assert err.value.spec == model_rpm
    statuses = await limiter.peek(specs)
    assert [s.remaining for s in statuses] == [9, 0.75, 0]  # the refused request was rolled back
    await limiter.settle(res, usd=0.1)
    assert (await limiter.peek([budget]))[0].remaining == pytest.approx(0.9)
    await cluster.aclose()


async def test_three_replicas_sharing_redis_stay_exact(redis_url: str) -> None:
    """Three limiters (as three gateway replicas would) share one Redis: limits do not multiply."""
    p = prefix()
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    replicas = [
        Limiter.create(LimitsSettings(key_prefix=p, store_timeout_s=10), c, UTC, clock=ManualClock())
        for c in clients
    ]
    budget = LimitSpec(ALICE, "daily_budget_usd", "usd", 0.05, DAY)
    rpm50 = LimitSpec(Scope("model", "m"), "requests_per_minute", "requests", 50, MINUTE)

    async def call(i: int, specs: list[LimitSpec], usd: float) -> bool:
        try:
            await replicas[i % 3].reserve(specs, Demand(usd=usd))
        except LimitRefused:
            return False
        return True

    admitted = await asyncio.gather(*(call(i, [budget], 0.0007) for i in range(300)))
    assert sum(admitted) == 71  # floor(0.05 / 0.0007)
    admitted = await asyncio.gather(*(call(i, [rpm50], 0.0) for i in range(200)))
    assert sum(admitted) == 50
    for c in clients:
        await c.aclose()
