"""Proactive slowdown: spend a provider's remaining rate limit evenly instead of hitting 429.

Every reply carries the provider's view of our quota — OpenAI ``x-ratelimit-{limit,remaining,
reset}-{requests,tokens}`` (reset as a duration: ``1s``, ``6m0s``, ``20ms``), Anthropic
``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}``
(reset as an RFC 3339 time). While plenty remains nothing waits. Once a budget falls to
``low_fraction`` of its limit, admissions are spaced evenly across what is left of the reset
window; when it is spent, they wait for the reset and then go at the limit's per-minute rate.
Between replies the pacer counts its own admissions down, so a burst cannot overshoot.

Token budgets are converted to "requests" with a running estimate of tokens per request
learned from how far the remaining count falls between replies.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from doorman.upstream.settings import PacingSettings

BUDGETS = ("requests", "tokens", "input-tokens", "output-tokens")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
INITIAL_TOKENS_PER_REQUEST = 1000.0


def parse_duration(value: str) -> float | None:
    """Seconds from a Go-style duration (``1s``, ``6m0s``, ``1h2m3.5s``, ``20ms``) or a number."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    pos = 0
    total = 0.0
    for match in _DURATION.finditer(value):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    return total if pos == len(value) and pos > 0 else None


def parse_reset(value: str | None, wall_now: float) -> float | None:
    """Seconds until a reset given as a duration or an RFC 3339 timestamp."""
    if not value:
        return None
    seconds = parse_duration(value)
    if seconds is not None:
        return seconds
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - wall_now)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


@dataclass(slots=True)
class Budget:
    limit: int | None
    remaining: float
    reset_at: float  # monotonic
    next_at: float = 0.0


# (budget, ((limit, remaining, reset) header names, OpenAI style then Anthropic style))
_BUDGET_HEADERS = tuple(
    (
        name,
        (
            (f"x-ratelimit-limit-{name}", f"x-ratelimit-remaining-{name}",
             f"x-ratelimit-reset-{name}"),
            (f"anthropic-ratelimit-{name}-limit", f"anthropic-ratelimit-{name}-remaining",
             f"anthropic-ratelimit-{name}-reset"),
        ),
    )
    for name in BUDGETS
)  # fmt: skip


def read_budgets(
    headers: Mapping[str, str], wall_now: float
) -> dict[str, tuple[int | None, int, float]]:
    """name -> (limit, remaining, seconds to reset) for every budget the headers describe."""
    found: dict[str, tuple[int | None, int, float]] = {}
    for name, variants in _BUDGET_HEADERS:
        for limit_h, remaining_h, reset_h in variants:
            remaining = _int(headers.get(remaining_h))
            if remaining is None:
                continue
            reset = parse_reset(headers.get(reset_h), wall_now)
            if reset is None:
                continue
            found[name] = (_int(headers.get(limit_h)), remaining, reset)
            break
    return found


class Pacer:
    """One per deployment: rate limits are per provider account and model."""

    def __init__(
        self,
        settings: PacingSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.wall = wall
        self.budgets: dict[str, Budget] = {}
        self.tokens_per_request = INITIAL_TOKENS_PER_REQUEST
        self._admitted_since: dict[str, int] = {}

    def observe(self, headers: Mapping[str, str]) -> None:
        """Update from a reply's headers (lower-case keys)."""
        if not self.settings.enabled:
            return
        now = self.clock()
        for name, (limit, remaining, reset_s) in read_budgets(headers, self.wall()).items():
            old = self.budgets.get(name)
            reset_at = now + reset_s
            if name != "requests" and old is not None and reset_at <= old.reset_at + 1.0:
                calls = self._admitted_since.get(name, 0)
                drop = old.remaining - remaining
                if calls > 0 and drop > 0:
                    sample = drop / calls
                    self.tokens_per_request = 0.8 * self.tokens_per_request + 0.2 * sample
            self._admitted_since[name] = 0
            next_at = old.next_at if old is not None else 0.0
            self.budgets[name] = Budget(limit, float(remaining), reset_at, next_at)

    def reserve(self, max_delay_s: float) -> float:
        """Seconds this request must wait before it goes. Its place is reserved only when that
        is at most ``max_delay_s``; otherwise nothing changes and the caller tries elsewhere
        or answers 429 with the returned delay as retry-after."""
        if not self.settings.enabled or not self.budgets:
            return 0.0
        now = self.clock()
        plans: list[tuple[Budget, float, float, float]] = []
        start_at = now
        for name, b in list(self.budgets.items()):
            if b.reset_at <= now and b.next_at <= now:
                del self.budgets[name]  # the window rolled over: the next reply tells us more
                continue
            cost = 1.0 if name == "requests" else self.tokens_per_request
            start, interval = self._slot(b, now, cost)
            plans.append((b, start, interval, cost))
            start_at = max(start_at, start)
        delay = start_at - now
        if delay > max_delay_s:
            return delay
        for b, _, interval, cost in plans:
            b.next_at = start_at + interval
            b.remaining = max(0.0, b.remaining - cost)
        for name in self.budgets:
            self._admitted_since[name] = self._admitted_since.get(name, 0) + 1
        return delay

    def _slot(self, b: Budget, now: float, cost: float) -> tuple[float, float]:
        """(earliest start, spacing to the next admission) for one budget."""
        left = b.remaining / cost  # in requests
        limit = b.limit / cost if b.limit else None
        low = max(float(self.settings.low_remaining), self.settings.low_fraction * (limit or 0.0))
        if left > low:
            return now, 0.0
        steady = 60.0 / limit if limit else 0.0  # limits are per minute for both providers
        if left < 1:
            return max(now, b.next_at, b.reset_at), steady
        start = max(now, b.next_at)
        return start, max(steady, max(0.0, b.reset_at - start) / left)
