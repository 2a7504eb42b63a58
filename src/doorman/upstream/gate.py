"""A provider's concurrency cap with a bounded, first-come-first-served queue (a bulkhead).

``ProviderSettings.max_concurrent`` calls may be in flight to one provider; up to
``queue.max_waiters`` more wait, each at most ``queue.max_wait_s`` (and never past its own
deadline). Anything beyond is refused at once with 503 ``upstream_busy``, so a slow provider
holds a bounded number of requests and never the gateway's whole event loop or memory.

A :class:`Slot` is released exactly once: by the caller, or — for a stream the pipeline never
started reading — by a timer at the request's deadline, so a lost release cannot leak capacity.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

from doorman.errors import ServiceUnavailable


class UpstreamBusy(ServiceUnavailable):
    default_code = "upstream_busy"


class Slot:
    __slots__ = ("_gate", "_timer")

    def __init__(self, gate: ProviderGate | None) -> None:
        self._gate = gate
        self._timer: asyncio.TimerHandle | None = None

    def expire_at(self, deadline: float) -> None:
        """Release on its own at ``deadline`` (time.monotonic) if nobody did before."""
        if self._gate is None:
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, deadline - time.monotonic()) + 1.0, self.release)

    def release(self) -> None:
        gate, self._gate = self._gate, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if gate is not None:
            gate._release()


UNLIMITED = Slot(None)


class ProviderGate:
    def __init__(
        self,
        name: str,
        limit: int | None,
        *,
        max_waiters: int,
        max_wait_s: float,
        on_depth: Callable[[str, int], None] | None = None,
    ) -> None:
        self.name = name
        self.limit = limit
        self.max_waiters = max_waiters
        self.max_wait_s = max_wait_s
        self.on_depth = on_depth
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self, deadline: float) -> Slot:
        """A slot, or :class:`UpstreamBusy` when the queue is full or the wait too long."""
        if self.limit is None:
            return UNLIMITED
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return Slot(self)
        if len(self._waiters) >= self.max_waiters:
            raise self._busy("its queue is full")
        wait_s = min(self.max_wait_s, deadline - time.monotonic())
        if wait_s <= 0:
            raise self._busy("no slot is free")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._depth()
        try:
            async with asyncio.timeout(wait_s):
                await fut
        except BaseException as exc:
            handed_over = fut.done() and not fut.cancelled()
            if not handed_over:
                fut.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(fut)
            else:
                self._release()  # a slot arrived just as we gave up: pass it on
            self._depth()
            if isinstance(exc, TimeoutError):
                raise self._busy(f"no slot freed within {wait_s:.1f}s") from None
            raise
        self._depth()
        return Slot(self)

    def _release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the slot moves to the first waiter; active unchanged
                return
        self.active = max(0, self.active - 1)

    def _depth(self) -> None:
        if self.on_depth is not None:
            self.on_depth(self.name, len(self._waiters))

    def _busy(self, why: str) -> UpstreamBusy:
        return UpstreamBusy(
            f"The upstream provider '{self.name}' is at its concurrency limit and {why}; "
            "please retry shortly.",
            headers={"retry-after": "1"},
        )
