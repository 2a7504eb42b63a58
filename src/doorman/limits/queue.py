"""A bounded priority line per limit: who retries next when a shared limit is full.

Only the head of a line retries (waking at the retry-after the store reported); the others wait
their turn, highest priority first, then first come first served. Lines are per process: across
replicas, priority orders each replica's own waiters.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools


class QueueFull(Exception):
    pass


class Line:
    def __init__(self, max_waiters: int) -> None:
        self.max_waiters = max_waiters
        self._heap: list[tuple[int, int, asyncio.Future[None]]] = []
        self._busy = False
        self._seq = itertools.count()

    @property
    def idle(self) -> bool:
        return not self._busy and not self._heap

    async def acquire(self, priority: int, max_wait: float) -> None:
        """Wait until this caller is at the head; raise TimeoutError/QueueFull otherwise."""
        if not self._busy and not self._heap:
            self._busy = True
            return
        if len(self._heap) >= self.max_waiters:
            raise QueueFull
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (-priority, next(self._seq), fut))
        try:
            await asyncio.wait_for(asyncio.shield(fut), max_wait)
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release()  # we were handed the turn while leaving: pass it on
            else:
                fut.cancel()
            raise

    def release(self) -> None:
        while self._heap:
            _, _, fut = heapq.heappop(self._heap)
            if not fut.done():
                fut.set_result(None)
                return
        self._busy = False


class Lines:
    def __init__(self, max_waiters: int) -> None:
        self.max_waiters = max_waiters
        self._lines: dict[str, Line] = {}

    def get(self, key: str) -> Line:
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = Line(self.max_waiters)
        return line

    def discard_idle(self, key: str) -> None:
        line = self._lines.get(key)
        if line is not None and line.idle:
            del self._lines[key]
