"""The per-provider concurrency cap and its bounded queue."""

from __future__ import annotations

import asyncio
import time

import pytest

from doorman.upstream.gate import ProviderGate, UpstreamBusy


def far() -> float:
    return time.monotonic() + 60


async def test_unlimited_gate_never_waits() -> None:
    gate = ProviderGate("p", None, max_waiters=0, max_wait_s=0)
    slots = [await gate.acquire(far()) for _ in range(100)]
    assert len(slots) == 100


async def test_waiters_are_served_in_order_when_slots_free() -> None:
    gate = ProviderGate("p", 1, max_waiters=5, max_wait_s=5)
    first = await gate.acquire(far())
    order: list[int] = []

    async def wait(i: int) -> None:
        slot = await gate.acquire(far())
        order.append(i)
        slot.release()

    tasks = [asyncio.create_task(wait(i)) for i in range(3)]
    await asyncio.sleep(0)
    assert gate.waiting == 3
    first.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert gate.active == 0


async def test_full_queue_is_refused_at_once() -> None:
    gate = ProviderGate("p", 1, max_waiters=1, max_wait_s=5)
    await gate.acquire(far())
    waiter = asyncio.create_task(gate.acquire(far()))
    await asyncio.sleep(0)
    with pytest.raises(UpstreamBusy) as err:
        await gate.acquire(far())
    assert err.value.code == "upstream_busy" and err.value.status_code == 503
    waiter.cancel()


async def test_wait_is_bounded_and_leaves_no_trace() -> None:
    gate = ProviderGate("p", 1, max_waiters=5, max_wait_s=0.05)
    held = await gate.acquire(far())
    with pytest.raises(UpstreamBusy):
        await gate.acquire(far())
    assert gate.waiting == 0
    held.release()
    assert gate.active == 0


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    gate = ProviderGate("p", 1, max_waiters=5, max_wait_s=5)
    held = await gate.acquire(far())
    waiter = asyncio.create_task(gate.acquire(far()))
    await asyncio.sleep(0)
    held.release()  # hands the slot to the waiter ...
    waiter.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert gate.active == 0
    slot = await gate.acquire(far())  # capacity is intact
    slot.release()


async def test_release_is_idempotent_and_slots_expire_on_their_own() -> None:
    gate = ProviderGate("p", 1, max_waiters=0, max_wait_s=0)
    slot = await gate.acquire(far())
    slot.release()
    slot.release()
    assert gate.active == 0
    lost = await gate.acquire(far())
    lost.expire_at(time.monotonic() - 1.0)  # the safety timer fires ~1 s after the deadline
    await asyncio.sleep(0.05)
    assert gate.active == 1
    await asyncio.sleep(1.0)
    assert gate.active == 0
