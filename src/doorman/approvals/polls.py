"""Bounds on ``GET /v1/approvals/{id}``: a poll is a request, and long-polls are capped.

Every poll is one request of the caller's own request-rate limits (user, and key where
``limits.per_key`` says so) — like a cache hit: no tokens, no dollars, no provider quota — so a
caller cannot poll or probe ids past its tier's rate. A long-poll (``?wait=N``) also holds a
connection and re-reads the database every ``poll_interval_seconds``: one user may hold at most
``approvals.max_waits_per_user`` at once (per replica: the count lives in this process).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from doorman.errors import PermissionDenied, RateLimited
from doorman.limits import Demand, caller_request_limits, rate_limit_headers

if TYPE_CHECKING:
    from doorman.auth.principal import Principal
    from doorman.server.state import Gateway


class WaitSlots:
    """How many long-polls each user holds open in this process."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self.open: dict[str, int] = {}

    @contextmanager
    def hold(self, user_id: str) -> Iterator[None]:
        """One wait of ``user_id`` for the ``with`` block; 429 ``too_many_waits`` past the cap."""
        held = self.open.get(user_id, 0)
        if held >= self.per_user:
            raise RateLimited(
                f"This user already holds {held} long-poll(s) on approvals, the most allowed "
                f"(approvals.max_waits_per_user: {self.per_user}); wait for one to end or poll "
                "without ?wait.",
                code="too_many_waits",
                retry_after=1.0,
            )
        self.open[user_id] = held + 1
        try:
            yield
        finally:
            left = self.open[user_id] - 1
            if left:
                self.open[user_id] = left
            else:
                del self.open[user_id]


async def count_poll(gw: Gateway, principal: Principal) -> dict[str, str]:
    """Take one request from the caller's request-rate limits (429 when they are spent);
    the rate-limit headers to answer with."""
    tier = gw.settings.tiers.get(principal.tier)
    if tier is None:
        raise PermissionDenied(
            f"The key's tier '{principal.tier}' is not configured.", code="unknown_tier"
        )
    specs = caller_request_limits(tier, principal.user_id, principal.key_id, gw.settings.limits)
    if not specs:
        return {}
    reservation = await gw.limiter.reserve(specs, Demand(requests=1), priority=tier.priority)
    await gw.limiter.settle(reservation)  # the request stays counted; nothing is held open
    return rate_limit_headers(reservation)


async def poll(
    gw: Gateway, principal: Principal, approval_id: str, wait: float = 0.0
) -> tuple[dict[str, Any], dict[str, str]]:
    """What ``GET /v1/approvals/{id}`` answers (and ``doorman.Client.approval``), within the
    caller's limits: the answer and the rate-limit headers. Raises as the store does, or 429."""
    headers = await count_poll(gw, principal)
    store = gw.approvals
    if wait <= 0:
        return await store.answer(approval_id, principal.user_id), headers
    with store.waits.hold(principal.user_id):
        return await store.answer(approval_id, principal.user_id, wait=wait), headers
