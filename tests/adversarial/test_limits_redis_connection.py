"""The limits store's own Redis connection under attack: killed mid-call, killed while idle,
killed before a settlement's reply, and behind a password or an ACL user."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from structlog.testing import capture_logs

from doorman.errors import ServiceUnavailable
from doorman.limits import Demand, Limiter, LimitsSettings, ManualClock, Scope
from doorman.limits.redis_store import connect_redis
from doorman.limits.spec import CONCURRENCY, DAY, MINUTE, LimitSpec
from services import free_port, wait_port

ALICE = Scope("user", "alice")
RPM = LimitSpec(ALICE, "requests_per_minute", "requests", 1000, MINUTE)
BUDGET = LimitSpec(ALICE, "daily_budget_usd", "usd", 1.0, DAY)
SLOTS = LimitSpec(ALICE, "max_concurrent", "concurrent", 5, CONCURRENCY)
UTC = ZoneInfo("UTC")


def start_server(port: int, *extra: str) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server")
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
async def plain() -> AsyncIterator[int]:
    """A private redis-server: these tests pause it and kill its clients."""
    port = free_port()
    proc = start_server(port)
    assert await asyncio.to_thread(wait_port, "127.0.0.1", port)
    yield port
    proc.terminate()
    proc.wait(10)


def limiter_for(url: str, clock: ManualClock) -> tuple[Limiter, Redis]:
    client = connect_redis(url, timeout_s=2)
    settings = LimitsSettings(key_prefix=f"t{uuid.uuid4().hex[:10]}", store_timeout_s=2,
                              store_retry_s=5)  # fmt: skip
    return Limiter.create(settings, client, UTC, clock=clock), client


async def test_a_connection_killed_mid_call_fails_closed_and_the_next_admission_reconnects(
    plain: int,
) -> None:
    clock = ManualClock()
    limiter, client = limiter_for(f"redis://127.0.0.1:{plain}/0", clock)
    admin = Redis(port=plain)
    await limiter.reserve([RPM, BUDGET, SLOTS], Demand(usd=0.01))  # connected, scripts loaded
    # Scripts wait (a write pause) while the admin connection kills every normal client.
    await admin.execute_command("CLIENT", "PAUSE", "3000", "WRITE")
    calls = [
        asyncio.ensure_future(limiter.reserve([RPM, BUDGET, SLOTS], Demand(usd=0.01)))
        for _ in range(5)
    ]
    await asyncio.sleep(0.2)  # written, waiting on the paused server
    killed = await admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    assert killed >= 1
    results = await asyncio.gather(*calls, return_exceptions=True)
    await admin.execute_command("CLIENT", "UNPAUSE")
    # Fail closed, with the served gateway's answer: 503 limits_unavailable.
    assert all(isinstance(r, ServiceUnavailable) for r in results), results
    assert {r.code for r in results if isinstance(r, ServiceUnavailable)} == {"limits_unavailable"}
    assert all(r.status_code == 503 for r in results if isinstance(r, ServiceUnavailable))
    clock.advance(6)  # past store_retry_s: the next admission tries Redis again
    res = await limiter.reserve([RPM, BUDGET, SLOTS], Demand(usd=0.01))
    # The killed calls never ran: the budget and the slots hold the first reservation and
    # this one only (the per-minute count has refilled over the 6 s).
    assert [st.remaining for st in res.statuses[1:]] == [pytest.approx(0.98), 3]
    await limiter.aclose()
    await client.aclose()
    await admin.aclose()


async def test_a_connection_killed_while_idle_is_replaced_without_a_failed_request(
    plain: int,
) -> None:
    limiter, client = limiter_for(f"redis://127.0.0.1:{plain}/0", ManualClock())
    admin = Redis(port=plain)
    first = await limiter.reserve([RPM, SLOTS], Demand())
    await admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    await asyncio.sleep(0.1)  # the close reaches this process
    await limiter.settle(first)
    second = await limiter.reserve([RPM, SLOTS], Demand())
    assert [st.remaining for st in second.statuses] == [998, 4]
    await limiter.aclose()
    await client.aclose()
    await admin.aclose()


def failures() -> float:
    return REGISTRY.get_sample_value("doorman_limits_settle_failures_total") or 0.0


async def test_a_settlement_whose_reply_is_lost_is_logged_counted_and_expires_with_its_lease(
    plain: int,
) -> None:
    clock = ManualClock()
    limiter, client = limiter_for(f"redis://127.0.0.1:{plain}/0", clock)
    admin = Redis(port=plain)
    await limiter.settle(await limiter.reserve([BUDGET, SLOTS], Demand()))  # scripts loaded
    res = await limiter.reserve([BUDGET, SLOTS], Demand(usd=0.5), lease_seconds=30)
    before = failures()
    await admin.execute_command("CLIENT", "PAUSE", "3000", "WRITE")
    with capture_logs() as logs:
        assert limiter.settle_nowait(res, usd=0.9)  # written; its reply never comes
        await asyncio.sleep(0.2)
        await admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        for _ in range(50):
            if failures() > before:
                break
            await asyncio.sleep(0.02)
    await admin.execute_command("CLIENT", "UNPAUSE")
    assert failures() == before + 1
    (event,) = [e for e in logs if e["event"] == "limits_settle_failed"]
    assert event["log_level"] == "error" and event["reservation"] == res.id
    # Not applied (the connection was gone before Redis ran it), not retried: the hold and
    # the slot come back when the lease ends, and nothing stays held for ever.
    clock.advance(31)
    budget, slots = await limiter.peek([BUDGET, SLOTS])
    assert budget.remaining == pytest.approx(1.0)
    assert slots.remaining == 5
    await limiter.aclose()
    await client.aclose()
    await admin.aclose()


async def test_a_password_and_an_acl_user_and_a_database_number_are_honoured() -> None:
    port = free_port()
    proc = start_server(port, "--requirepass", "s3cret-default")
    try:
        assert await asyncio.to_thread(wait_port, "127.0.0.1", port)
        admin = Redis(port=port, password="s3cret-default")
        await admin.execute_command(
            "ACL", "SETUSER", "limits", "on", ">s3cret-user", "~*", "+@all"
        )
        for url in (
            f"redis://:s3cret-default@127.0.0.1:{port}/3",
            f"redis://limits:s3cret-user@127.0.0.1:{port}/4",
        ):
            limiter, client = limiter_for(url, ManualClock())
            store = limiter.remote
            assert store is not None and store._fast is not None  # the pipelined connection
            await limiter.settle(await limiter.reserve([RPM, BUDGET], Demand()))
            res = await limiter.reserve([RPM, BUDGET], Demand(usd=0.25))
            assert limiter.settle_nowait(res, usd=0.25)
            (_, budget) = await limiter.peek([RPM, BUDGET])
            assert budget.remaining == pytest.approx(0.75)  # settled, in order, on one connection
            db = int(url.rsplit("/", 1)[1])
            assert await Redis(port=port, password="s3cret-default", db=db).keys("t*")
            await limiter.aclose()
            await client.aclose()
        wrong, client = limiter_for(f"redis://:wrong@127.0.0.1:{port}/0", ManualClock())
        with pytest.raises(ServiceUnavailable):
            await wrong.reserve([RPM], Demand())
        await client.aclose()
        await admin.aclose()
    finally:
        proc.terminate()
        proc.wait(10)
