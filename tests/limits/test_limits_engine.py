"""Behaviour of the limits engine, run against the memory store and a real Redis alike."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from doorman.errors import RateLimited
from doorman.limits import (
    Demand,
    Limiter,
    LimitRefused,
    LimitSpec,
    ManualClock,
    Scope,
    rate_limit_headers,
)
from doorman.limits.spec import CONCURRENCY, DAY, MINUTE, MONTH

MakeLimiter = Callable[..., Limiter]

ALICE = Scope("user", "alice")
MODEL = Scope("model", "sim-large")


def rpm(scope: Scope, n: int) -> LimitSpec:
    return LimitSpec(scope, "requests_per_minute", "requests", n, MINUTE)


def tpm(scope: Scope, n: int) -> LimitSpec:
    return LimitSpec(scope, "tokens_per_minute", "tokens", n, MINUTE)


def daily_usd(scope: Scope, usd: float) -> LimitSpec:
    return LimitSpec(scope, "daily_budget_usd", "usd", usd, DAY)


def monthly_usd(scope: Scope, usd: float) -> LimitSpec:
    return LimitSpec(scope, "monthly_budget_usd", "usd", usd, MONTH)


def concurrent(scope: Scope, n: int) -> LimitSpec:
    return LimitSpec(scope, "max_concurrent", "concurrent", n, CONCURRENCY)


async def remaining(limiter: object, spec: LimitSpec) -> float:
    (status,) = await limiter.peek([spec])  # type: ignore[attr-defined]
    return float(status.remaining)


# --------------------------------------------------------------------------- all or none


@pytest.mark.parametrize("cross_scope", ["atomic", "compensate"])
async def test_all_or_none_across_scopes(make_limiter: MakeLimiter, cross_scope: str) -> None:
    limiter = make_limiter(cross_scope=cross_scope)
    user_rpm, user_budget, model_rpm = rpm(ALICE, 10), daily_usd(ALICE, 1.0), rpm(MODEL, 1)
    specs = [user_rpm, user_budget, model_rpm]
    await limiter.reserve(specs, Demand(tokens=10, usd=0.2))

    with pytest.raises(LimitRefused) as err:
        await limiter.reserve(specs, Demand(tokens=10, usd=0.2))
    assert err.value.code == "rate_limit_exceeded"
    assert err.value.spec == model_rpm
    # The user's scopes, which passed, kept nothing of the refused request.
    assert await remaining(limiter, user_rpm) == 9
    assert await remaining(limiter, user_budget) == pytest.approx(0.8)


async def test_rejected_request_consumes_nothing(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    budget, tokens, slots = daily_usd(ALICE, 1.0), tpm(ALICE, 1000), concurrent(ALICE, 2)
    specs = [budget, tokens, slots]
    for _ in range(5):
        with pytest.raises(LimitRefused) as err:
            await limiter.reserve(specs, Demand(tokens=100, usd=1.5))
        assert err.value.code == "budget_exceeded"
        assert err.value.retry_after is None  # more than the whole budget: never fits
    assert await remaining(limiter, budget) == 1.0
    assert await remaining(limiter, tokens) == 1000
    assert await remaining(limiter, slots) == 2


# --------------------------------------------------------------------------- settlement


async def test_settle_replaces_reservation_and_refunds(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    budget, tokens, slots = daily_usd(ALICE, 1.0), tpm(ALICE, 1000), concurrent(ALICE, 1)
    specs = [budget, tokens, slots]
    res = await limiter.reserve(specs, Demand(tokens=600, usd=0.5))
    assert await remaining(limiter, budget) == pytest.approx(0.5)
    assert await remaining(limiter, tokens) == 400
    assert await remaining(limiter, slots) == 0

    await limiter.settle(res, tokens=100, usd=0.125)
    await limiter.settle(res, tokens=100, usd=0.125)  # idempotent
    assert await remaining(limiter, budget) == 0.875
    assert await remaining(limiter, tokens) == 900
    assert await remaining(limiter, slots) == 1

    res2 = await limiter.reserve(specs, Demand(tokens=500, usd=0.8))
    await limiter.release(res2)
    await limiter.release(res2)
    assert await remaining(limiter, budget) == 0.875
    assert await remaining(limiter, tokens) == 900
    assert await remaining(limiter, slots) == 1


async def test_settle_may_exceed_reservation_when_provider_overspends(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    budget = daily_usd(ALICE, 1.0)
    res = await limiter.reserve([budget], Demand(usd=0.1))
    await limiter.settle(res, usd=0.3)
    assert await remaining(limiter, budget) == pytest.approx(0.7)


async def test_budget_holds_exactly_under_300_concurrent_requests(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    budget = daily_usd(ALICE, 0.05)
    specs = [budget, rpm(ALICE, 10_000)]
    rng = random.Random(7)
    spent: list[float] = []

    async def call() -> bool:
        try:
            res = await limiter.reserve(specs, Demand(tokens=1000, usd=0.001))
        except LimitRefused as exc:
            assert exc.code == "budget_exceeded"
            return False
        await asyncio.sleep(0)
        actual = rng.randint(100, 1000) / 1_000_000  # never more than reserved
        spent.append(actual)
        await limiter.settle(res, tokens=500, usd=actual)
        return True

    outcomes = await asyncio.gather(*(call() for _ in range(300)))
    assert sum(outcomes) >= 50
    assert sum(outcomes) < 300
    total_nanos = sum(round(s * 1e9) for s in spent)
    assert total_nanos <= 50_000_000
    left = await remaining(limiter, budget)
    assert round(left * 1e9) == 50_000_000 - total_nanos  # exact accounting


async def test_reservations_alone_never_exceed_budget(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    specs = [daily_usd(ALICE, 0.05)]

    async def call() -> bool:
        try:
            await limiter.reserve(specs, Demand(usd=0.001))
        except LimitRefused:
            return False
        return True

    outcomes = await asyncio.gather(*(call() for _ in range(300)))
    assert sum(outcomes) == 50


# --------------------------------------------------------------------------- rolling windows


async def test_rpm_50_with_200_concurrent_admits_exactly_50(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    specs = [rpm(ALICE, 50), concurrent(ALICE, 1000)]
    results = await asyncio.gather(
        *(limiter.reserve(specs, Demand()) for _ in range(200)), return_exceptions=True
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(admitted) == 50
    assert all(isinstance(r, LimitRefused) for r in refused)
    assert all(r.code == "rate_limit_exceeded" for r in refused)  # type: ignore[union-attr]
    assert all(0 < r.retry_after <= 60 for r in refused)  # type: ignore[union-attr,operator]


async def test_rolling_window_refills_gradually_without_double_burst(
    make_limiter: MakeLimiter, clock: ManualClock
) -> None:
    limiter = make_limiter()
    specs = [rpm(ALICE, 60)]
    for _ in range(60):
        await limiter.reserve(specs, Demand())
    with pytest.raises(LimitRefused) as err:
        await limiter.reserve(specs, Demand())
    assert 0 < err.value.retry_after <= 1.0 + 1e-6  # type: ignore[operator]
    # Crossing a minute boundary does not hand out a second full burst.
    clock.advance(30)
    admitted = 0
    for _ in range(60):
        try:
            await limiter.reserve(specs, Demand())
            admitted += 1
        except LimitRefused:
            break
    assert admitted == 30


async def test_retry_after_is_when_the_tokens_fit(
    make_limiter: MakeLimiter, clock: ManualClock
) -> None:
    limiter = make_limiter()
    specs = [tpm(ALICE, 1000)]
    await limiter.reserve(specs, Demand(tokens=600))
    with pytest.raises(LimitRefused) as err:
        await limiter.reserve(specs, Demand(tokens=600))
    assert err.value.code == "tokens_exceeded"
    assert err.value.retry_after == pytest.approx(12.0, abs=1e-3)
    assert err.value.headers["retry-after"] == "12"
    clock.advance(err.value.retry_after or 0)
    await limiter.reserve(specs, Demand(tokens=600))

    with pytest.raises(LimitRefused) as never:
        await limiter.reserve(specs, Demand(tokens=1001))
    assert never.value.retry_after is None
    assert "larger than the limit" in never.value.message


# --------------------------------------------------------------------------- leases


async def test_concurrency_leases_expire_and_are_reclaimed(
    make_limiter: MakeLimiter, clock: ManualClock
) -> None:
    limiter = make_limiter()
    specs = [concurrent(ALICE, 5)]
    for _ in range(5):  # five abandoned streams: never settled
        await limiter.reserve(specs, Demand(), lease_seconds=30)
    with pytest.raises(LimitRefused) as err:
        await limiter.reserve(specs, Demand(), lease_seconds=30)
    assert err.value.code == "concurrency_exceeded"
    assert err.value.retry_after is not None and 0 < err.value.retry_after <= 1

    clock.advance(31)
    held = [await limiter.reserve(specs, Demand(), lease_seconds=30) for _ in range(5)]
    with pytest.raises(LimitRefused):
        await limiter.reserve(specs, Demand())
    await limiter.settle(held[0])
    await limiter.reserve(specs, Demand())


async def test_renewed_leases_outlive_their_first_deadline(
    make_limiter: MakeLimiter, clock: ManualClock
) -> None:
    limiter = make_limiter()
    specs = [concurrent(ALICE, 1), daily_usd(ALICE, 1.0), rpm(ALICE, 100)]
    stream = await limiter.reserve(specs, Demand(usd=0.6), lease_seconds=30)
    clock.advance(25)
    assert await limiter.renew(stream, lease_seconds=30)  # a long stream heartbeats
    clock.advance(25)
    with pytest.raises(LimitRefused) as err:
        await limiter.reserve(specs, Demand(usd=0.6))
    assert err.value.code in ("concurrency_exceeded", "budget_exceeded")
    clock.advance(10)  # now past the renewed deadline: reclaimed
    assert not await limiter.renew(stream)
    other = await limiter.reserve(specs, Demand(usd=0.6))
    await limiter.settle(stream, usd=0.3)  # late settle still charges what was spent
    await limiter.settle(other, usd=0.2)
    assert await remaining(limiter, specs[1]) == pytest.approx(0.5)


async def test_budget_holds_expire_with_their_lease(
    make_limiter: MakeLimiter, clock: ManualClock
) -> None:
    limiter = make_limiter()
    budget = daily_usd(ALICE, 1.0)
    await limiter.reserve([budget], Demand(usd=0.9), lease_seconds=60)  # replica dies
    with pytest.raises(LimitRefused) as err:
        await limiter.reserve([budget], Demand(usd=0.5))
    assert err.value.retry_after == 1.0  # only an in-flight hold is in the way
    clock.advance(61)
    assert await remaining(limiter, budget) == 1.0
    await limiter.reserve([budget], Demand(usd=0.5))


# --------------------------------------------------------------------------- calendar windows


async def test_day_budget_resets_at_local_midnight(
    make_limiter: MakeLimiter, clock: ManualClock
) -> None:
    zone = ZoneInfo("America/New_York")
    # 23:30 in New York is already the next day in UTC.
    clock.set(datetime(2026, 3, 10, 23, 30, tzinfo=zone).timestamp())
    limiter = make_limiter(zone="America/New_York")
    budget = daily_usd(ALICE, 1.0)
    res = await limiter.reserve([budget], Demand(usd=1.0))
    await limiter.settle(res, usd=1.0)

    with pytest.raises(LimitRefused) as err:
        await limiter.reserve([budget], Demand(usd=0.01))
    assert err.value.code == "budget_exceeded"
    assert err.value.retry_after == pytest.approx(30 * 60, abs=1)
    clock.advance(29 * 60)
    with pytest.raises(LimitRefused):
        await limiter.reserve([budget], Demand(usd=0.01))
    clock.advance(61)  # 00:00:01 local
    await limiter.reserve([budget], Demand(usd=0.01))
    assert await remaining(limiter, budget) == pytest.approx(0.99)


async def test_month_budget_resets_on_the_first_local_day(
    make_limiter: MakeLimiter, clock: ManualClock
) -> None:
    zone = ZoneInfo("Asia/Tokyo")
    clock.set(datetime(2026, 12, 31, 23, 0, tzinfo=zone).timestamp())
    limiter = make_limiter(zone="Asia/Tokyo")
    budget = monthly_usd(ALICE, 5.0)
    res = await limiter.reserve([budget], Demand(usd=5.0))
    await limiter.settle(res)
    with pytest.raises(LimitRefused) as err:
        await limiter.reserve([budget], Demand(usd=1.0))
    assert err.value.retry_after == pytest.approx(3600, abs=1)
    clock.advance(3601)
    await limiter.reserve([budget], Demand(usd=1.0))


# --------------------------------------------------------------------------- headers


async def test_headers_on_success_and_refusal(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    specs = [rpm(ALICE, 3), tpm(ALICE, 1000), rpm(MODEL, 100), daily_usd(ALICE, 1.0)]
    res = await limiter.reserve(specs, Demand(tokens=250))
    headers = rate_limit_headers(res)
    assert headers["x-ratelimit-limit-requests"] == "3"
    assert headers["x-ratelimit-remaining-requests"] == "2"
    assert headers["x-ratelimit-reset-requests"] == "20s"
    assert headers["x-ratelimit-limit-tokens"] == "1000"
    assert headers["x-ratelimit-remaining-tokens"] == "750"
    assert headers["x-ratelimit-reset-tokens"] == "15s"
    assert '"user-requests_per_minute";q=3;w=60' in headers["ratelimit-policy"]
    assert '"user-requests_per_minute";r=2;t=20' in headers["ratelimit"]

    await limiter.reserve(specs, Demand())
    await limiter.reserve(specs, Demand())
    with pytest.raises(RateLimited) as err:
        await limiter.reserve(specs, Demand())
    refused = err.value
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "20"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert rate_limit_headers(refused) == {
        k: v for k, v in refused.headers.items() if k != "retry-after"
    }
    body = refused.body()["error"]
    assert body["code"] == "rate_limit_exceeded" and body["type"] == "rate_limit_error"


# --------------------------------------------------------------------------- queueing


async def test_shared_limit_queues_up_to_its_bound(
    make_limiter: MakeLimiter, clock: ManualClock
) -> None:
    limiter = make_limiter()
    specs = [rpm(MODEL, 2)]
    start = clock.now()
    await limiter.reserve(specs, Demand())
    await limiter.reserve(specs, Demand())
    with pytest.raises(LimitRefused):  # 30 s away; will not wait 10 s for it
        await limiter.reserve(specs, Demand(), wait_up_to=10)
    depths: list[int] = []
    limiter.on_queue_depth = depths.append
    await limiter.reserve(specs, Demand(), wait_up_to=60)
    assert clock.now() - start == pytest.approx(30, abs=0.1)
    assert depths == [1, 0] and limiter.queued == 0  # what doorman_queue_depth shows


async def test_user_limits_never_queue(make_limiter: MakeLimiter, clock: ManualClock) -> None:
    limiter = make_limiter(queue_max_wait_s=60)
    specs = [rpm(ALICE, 1)]
    await limiter.reserve(specs, Demand())
    with pytest.raises(LimitRefused):
        await limiter.reserve(specs, Demand())
    assert clock.now() == ManualClock().now()


async def test_queue_serves_higher_priority_first(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(queue_poll_s=0.01)
    specs = [concurrent(MODEL, 1)]
    hold = await limiter.reserve(specs, Demand(), lease_seconds=10**7)

    async def waiter(priority: int) -> object:
        return await limiter.reserve(
            specs, Demand(), lease_seconds=10**7, wait_up_to=10**6, priority=priority
        )

    head = asyncio.create_task(waiter(0))
    for _ in range(20):
        await asyncio.sleep(0.005)
    low = asyncio.create_task(waiter(0))
    await asyncio.sleep(0.02)
    high = asyncio.create_task(waiter(5))
    await asyncio.sleep(0.02)
    assert not (head.done() or low.done() or high.done())

    await limiter.release(hold)
    first = await asyncio.wait_for(head, 5)
    await limiter.release(first)  # type: ignore[arg-type]
    second = await asyncio.wait_for(high, 5)
    assert not low.done()
    await limiter.release(second)  # type: ignore[arg-type]
    await asyncio.wait_for(low, 5)
