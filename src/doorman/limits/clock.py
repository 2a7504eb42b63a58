"""Time for the limits engine, injectable so tests can cross midnight without sleeping."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = float(when)

    async def sleep(self, seconds: float) -> None:
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)


def calendar_window(kind: str, now: float, zone: ZoneInfo) -> tuple[str, float, float]:
    """(window id, start, reset) of the local calendar day or month holding ``now``.

    Reset is local midnight of the next day (or of the first of the next month) in ``zone``.
    """
    local = datetime.fromtimestamp(now, zone)
    if kind == "day":
        start_day = local.date()
        next_day = start_day + timedelta(days=1)
        wid = start_day.strftime("%Y%m%d")
    elif kind == "month":
        start_day = date(local.year, local.month, 1)
        next_day = date(local.year + local.month // 12, local.month % 12 + 1, 1)
        wid = start_day.strftime("%Y%m")
    else:
        raise ValueError(f"not a calendar window: {kind}")
    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=zone).timestamp()
    reset = datetime(next_day.year, next_day.month, next_day.day, tzinfo=zone).timestamp()
    return wid, start, reset
