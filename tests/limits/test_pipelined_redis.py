"""The limits store's own Redis connection: many callers on one socket, each gets its own reply."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from doorman.limits.pipelined import PipelinedRedis
from doorman.limits.redis_store import connect_redis
from services import free_port


@pytest.fixture
async def client(redis_url: str) -> Redis:
    redis = connect_redis(redis_url, timeout_s=2)
    yield redis
    await redis.aclose()


async def test_concurrent_callers_each_get_their_own_reply(client: Redis) -> None:
    fast = PipelinedRedis.from_client(client)
    assert fast is not None
    key = f"t{uuid.uuid4().hex[:10]}"
    echoes = await asyncio.gather(*(fast.execute("ECHO", f"n{i}", timeout_s=5) for i in range(300)))
    assert echoes == [f"n{i}".encode() for i in range(300)]
    counts = await asyncio.gather(*(fast.execute("INCR", key, timeout_s=5) for _ in range(100)))
    assert sorted(counts) == list(range(1, 101))
    assert await client.get(key) == b"100"  # the same server and database as the client's
    await client.delete(key)
    await fast.aclose()


async def test_a_caller_that_gives_up_never_shifts_the_replies(client: Redis) -> None:
    fast = PipelinedRedis.from_client(client)
    assert fast is not None
    await fast.execute("PING", timeout_s=5)
    first = asyncio.ensure_future(fast.execute("ECHO", "abandoned", timeout_s=5))
    await asyncio.sleep(0)  # sent
    first.cancel()
    assert await fast.execute("ECHO", "mine", timeout_s=5) == b"mine"
    with pytest.raises(ResponseError):
        await fast.execute("NOSUCHCOMMAND", timeout_s=5)
    assert await fast.execute("ECHO", "after an error", timeout_s=5) == b"after an error"
    await fast.aclose()


async def test_a_stalled_server_fails_the_calls_as_slow_and_the_next_call_reconnects(
    client: Redis, redis_url: str
) -> None:
    fast = PipelinedRedis.from_client(client)
    assert fast is not None
    key = f"t{uuid.uuid4().hex[:10]}"
    await fast.execute("PING", timeout_s=5)
    admin = Redis.from_url(redis_url)
    await admin.execute_command("CLIENT", "PAUSE", "800", "ALL")
    try:
        results = await asyncio.gather(
            *(fast.execute("INCR", key, timeout_s=0.2) for _ in range(5)), return_exceptions=True
        )
    finally:
        await admin.execute_command("CLIENT", "UNPAUSE")
    assert all(isinstance(r, RedisTimeoutError) for r in results)
    # The connection was dropped with the calls still queued on it: none of them ran.
    assert await fast.execute("INCR", key, timeout_s=5) == 1
    await admin.delete(key)
    await admin.aclose()
    await fast.aclose()


async def test_an_unreachable_server_is_a_connection_error() -> None:
    dead = connect_redis(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
    fast = PipelinedRedis.from_client(dead)
    assert fast is not None
    with pytest.raises((RedisConnectionError, OSError)):
        await fast.execute("PING", timeout_s=0.5)
    await dead.aclose()


def test_only_plain_tcp_clients_get_the_pipelined_connection() -> None:
    assert PipelinedRedis.from_client(Redis.from_url("rediss://127.0.0.1:6379/0")) is None
    assert PipelinedRedis.from_client(Redis(unix_socket_path="/tmp/none.sock")) is None
