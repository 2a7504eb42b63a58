"""Circuit breakers, one per deployment (provider + model).

closed --(failure rate or a run of failures in the window)--> open --(cool-down)--> half-open
half-open --(probe succeeds)--> closed; half-open --(probe fails)--> open again.

Only failures that say "this deployment is unwell" count: 5xx, timeouts and connection errors.
A 429 is the provider pacing us (the pacer handles it) and a 400 is the caller's fault.

A call asks :meth:`Breaker.allow` for a :class:`Permit` and reports exactly one outcome on it
(``success``, ``failure`` or ``release`` for "no verdict"); permits are idempotent, so a
``finally: permit.release()`` never double counts. Everything here is synchronous and local —
no I/O on the hot path; :class:`doorman.upstream.breakers.BreakerBoard` shares open states.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from doorman.upstream.settings import BreakerSettings

State = Literal["closed", "open", "half_open"]
# (breaker, old state, new state, reason, remote): called on every transition.
Listener = Callable[["Breaker", State, State, str, bool], None]


class Permit:
    """Leave to make one call through a breaker; report its outcome once."""

    __slots__ = ("_breaker", "_done", "probe")

    def __init__(self, breaker: Breaker, probe: bool) -> None:
        self._breaker = breaker
        self.probe = probe
        self._done = False

    def success(self) -> None:
        if not self._done:
            self._done = True
            self._breaker._on_success(self.probe)

    def failure(self, reason: str) -> None:
        if not self._done:
            self._done = True
            self._breaker._on_failure(self.probe, reason)

    def release(self) -> None:
        """No verdict (429, client error, cancelled): frees a half-open probe slot."""
        if not self._done:
            self._done = True
            self._breaker._on_release(self.probe)


class Breaker:
    def __init__(
        self,
        key: str,
        settings: BreakerSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        listener: Listener | None = None,
    ) -> None:
        self.key = key
        self.settings = settings
        self.clock = clock
        self.listener = listener
        self._state: State = "closed"
        self._buckets: deque[list[int]] = deque()  # [second, calls, failures]
        self._calls = 0
        self._failures = 0
        self._consecutive = 0
        self._open_until = 0.0
        self._probes = 0

    # ----------------------------------------------------------------- reading
    @property
    def state(self) -> State:
        """The state now (an expired cool-down reads as half-open)."""
        if self._state == "open" and self.clock() >= self._open_until:
            self._transition("half_open", "cooldown elapsed")
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        return max(0.0, self._open_until - self.clock()) if self.state == "open" else 0.0

    def allow(self) -> Permit | None:
        """A permit, or None when the deployment must be skipped right now (no waiting)."""
        if not self.settings.enabled:
            return Permit(self, probe=False)
        state = self.state
        if state == "closed":
            return Permit(self, probe=False)
        if state == "half_open" and self._probes < self.settings.half_open_probes:
            self._probes += 1
            return Permit(self, probe=True)
        return None

    # ----------------------------------------------------------------- changing
    def trip(self, reason: str, *, cooldown_s: float | None = None, remote: bool = False) -> None:
        """Open now for ``cooldown_s`` (default: the configured cool-down)."""
        self._open_until = self.clock() + (
            cooldown_s if cooldown_s is not None else self.settings.cooldown_s
        )
        self._transition("open", reason, remote=remote)

    def _on_success(self, probe: bool) -> None:
        if self._state == "half_open":
            if probe:
                self._probes = max(0, self._probes - 1)
                self._transition("closed", "probe succeeded")
            return
        if self._state == "closed":
            self._record(failed=False)

    def _on_failure(self, probe: bool, reason: str) -> None:
        if not self.settings.enabled:
            return
        if self._state == "half_open":
            if probe:
                self._probes = max(0, self._probes - 1)
                self.trip(f"probe failed: {reason}")
            return
        if self._state != "closed":
            return  # outcome of a call started before the breaker opened
        self._record(failed=True)
        s = self.settings
        if self._consecutive >= s.consecutive_failures:
            self.trip(f"{self._consecutive} consecutive failures, last: {reason}")
        elif self._calls >= s.min_calls and self._failures >= s.failure_rate * self._calls:
            self.trip(
                f"{self._failures}/{self._calls} calls failed in {s.window_s:g}s, last: {reason}"
            )

    def _on_release(self, probe: bool) -> None:
        if probe and self._state == "half_open":
            self._probes = max(0, self._probes - 1)

    def _record(self, *, failed: bool) -> None:
        now = int(self.clock())
        horizon = now - int(self.settings.window_s)
        buckets = self._buckets
        while buckets and buckets[0][0] <= horizon:
            _, calls, failures = buckets.popleft()
            self._calls -= calls
            self._failures -= failures
        if not buckets or buckets[-1][0] != now:
            buckets.append([now, 0, 0])
        bucket = buckets[-1]
        bucket[1] += 1
        self._calls += 1
        if failed:
            bucket[2] += 1
            self._failures += 1
            self._consecutive += 1
        else:
            self._consecutive = 0

    def _transition(self, new: State, reason: str, *, remote: bool = False) -> None:
        old = self._state
        if old == new and new != "open":
            return
        self._state = new
        if new != "half_open":
            self._probes = 0
        if new == "closed":
            self._buckets.clear()
            self._calls = self._failures = self._consecutive = 0
        if self.listener is not None:
            self.listener(self, old, new, reason, remote)
