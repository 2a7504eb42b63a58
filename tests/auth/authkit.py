"""Helpers shared by the auth tests (a module of its own: `conftest` names collide)."""

from __future__ import annotations

PEPPER = b"test-pepper-0123456789abcdef"
START = 1_800_000_000.0  # 2027-01-15


class Clock:
    """A controllable time.time()."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}
