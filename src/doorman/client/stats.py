"""``Client.stats``: what this process's calls cost and saved, kept as they finish.

The seed's milestone asks a client to answer "how many calls, what did they cost, how often did
the cache answer, what did that save, and how much budget is left" without a database query.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from doorman.exchange import Exchange


@dataclass(slots=True)
class ClientStats:
    calls: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0
    budget_remaining_usd: float | None = None  # the tightest of the user's dollar budgets

    @property
    def hit_rate(self) -> float:
        return self.cache_hits / self.calls if self.calls else 0.0

    def copy(self) -> ClientStats:
        return dataclasses.replace(self)

    def record(self, ex: Exchange) -> None:
        """Count one finished call (settled: its cost is final)."""
        self.calls += 1
        self.cache_hits += int(ex.cache_hit)
        self.cost_usd += ex.cost_usd
        self.saved_usd += ex.saved_usd
        remaining = _budget_remaining(ex)
        if remaining is not None:
            self.budget_remaining_usd = remaining

    def as_dict(self) -> dict[str, float | int | None]:
        data = dataclasses.asdict(self)
        data["hit_rate"] = self.hit_rate
        return data


def _budget_remaining(ex: Exchange) -> float | None:
    """Dollars left in the user's tightest budget after this call settled.

    The reservation's snapshot was taken with the worst case held; the actual cost replaces it.
    """
    res = ex.reservation
    if res is None:
        return None
    left: float | None = None
    for status in res.statuses:
        spec = status.spec
        if spec.unit == "usd" and spec.scope.kind == "user":
            value = max(0.0, status.remaining + ex.reserved_usd - ex.cost_usd)
            left = value if left is None else min(left, value)
    return left
