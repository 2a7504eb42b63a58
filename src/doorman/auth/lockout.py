"""Credential-stuffing defence: failed authentications per client address, exponential lock-out.

``failures_before_lockout`` failures within ``failure_window_s`` lock the address out for
``lockout_base_s``, doubling with each further lock-out (up to ``lockout_max_s``); the count of
lock-outs is forgotten after a quiet period of twice the maximum. Successful requests do not reset
the counter, so a valid key cannot launder guesses. Memory per process, or Redis (one Lua script)
shared by replicas.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from doorman.auth.settings import AuthSettings

_LUA = (Path(__file__).parent / "lua" / "record_failure.lua").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class FailureOutcome:
    failures: int
    lockout_s: float  # > 0 when this failure started a lock-out
    lockouts: int


class FailureGuard(Protocol):
    async def retry_after(self, client: str) -> float | None:
        """Seconds until ``client`` may try again, or None when it is not locked out."""
        ...

    async def record_failure(self, client: str) -> FailureOutcome: ...


@dataclass(slots=True)
class _State:
    window_start: float
    failures: int = 0
    lockouts: int = 0
    locked_until: float = 0.0
    last_lockout: float = 0.0


class MemoryFailureGuard:
    def __init__(
        self, cfg: AuthSettings, clock: Callable[[], float], maxsize: int = 100_000
    ) -> None:
        self.cfg = cfg
        self._clock = clock
        self._maxsize = maxsize
        self._states: OrderedDict[str, _State] = OrderedDict()

    async def retry_after(self, client: str) -> float | None:
        state = self._states.get(client)
        if state is None:
            return None
        remaining = state.locked_until - self._clock()
        return remaining if remaining > 0 else None

    async def record_failure(self, client: str) -> FailureOutcome:
        now = self._clock()
        cfg = self.cfg
        state = self._states.get(client)
        if state is None:
            state = _State(window_start=now)
            self._states[client] = state
            while len(self._states) > self._maxsize:
                self._states.popitem(last=False)
        self._states.move_to_end(client)
        if now - state.window_start >= cfg.failure_window_s:
            state.window_start, state.failures = now, 0
        if state.lockouts and now - state.last_lockout >= 2 * cfg.lockout_max_s:
            state.lockouts = 0
        state.failures += 1
        failures = state.failures
        if failures < cfg.failures_before_lockout:
            return FailureOutcome(failures, 0.0, state.lockouts)
        state.lockouts += 1
        duration = min(cfg.lockout_base_s * 2 ** (state.lockouts - 1), cfg.lockout_max_s)
        state.locked_until = now + duration
        state.last_lockout = now
        state.window_start, state.failures = now, 0
        return FailureOutcome(failures, duration, state.lockouts)


class RedisFailureGuard:
    def __init__(self, redis: Any, cfg: AuthSettings, prefix: str = "doorman:authfail:") -> None:
        self.cfg = cfg
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_LUA)

    def _keys(self, client: str) -> list[str]:
        tag = f"{self._prefix}{{{client}}}"
        return [f"{tag}:n", f"{tag}:lock", f"{tag}:lockouts"]

    async def retry_after(self, client: str) -> float | None:
        ms = await self._redis.pttl(self._keys(client)[1])
        return ms / 1000 if ms and ms > 0 else None

    async def record_failure(self, client: str) -> FailureOutcome:
        cfg = self.cfg
        n, lock_ms, lockouts = await self._script(
            keys=self._keys(client),
            args=[
                int(cfg.failure_window_s * 1000),
                cfg.failures_before_lockout,
                int(cfg.lockout_base_s * 1000),
                int(cfg.lockout_max_s * 1000),
            ],
        )
        return FailureOutcome(int(n), int(lock_ms) / 1000, int(lockouts))
