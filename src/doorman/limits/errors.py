"""The refusal the limiter raises: a 429 that knows which limit refused and carries headers."""

from __future__ import annotations

from doorman.errors import RateLimited
from doorman.limits.headers import headers_for
from doorman.limits.spec import SHARED_SCOPES, LimitSpec, LimitStatus

CODES = {
    "requests": "rate_limit_exceeded",
    "tokens": "tokens_exceeded",
    "usd": "budget_exceeded",
    "concurrent": "concurrency_exceeded",
    "audio_seconds": "audio_seconds_exceeded",
}

_WHAT = {
    "requests_per_minute": "requests per minute",
    "tokens_per_minute": "tokens per minute",
    "tokens_per_day": "tokens per day",
    "daily_budget_usd": "daily budget",
    "monthly_budget_usd": "monthly budget",
    "max_concurrent": "concurrent requests",
    "audio_seconds_per_minute": "audio seconds per minute",
    "audio_seconds_per_day": "audio seconds per day",
}


def _message(spec: LimitSpec, retry_after: float | None) -> str:
    what = _WHAT.get(spec.name, spec.name)
    cap = f"${spec.capacity:g}" if spec.unit == "usd" else f"{spec.capacity:g}"
    scope = {"user": "your", "key": "this key's", "global": "the gateway's"}.get(
        spec.scope.kind, f"the {spec.scope.kind}'s"
    )
    text = f"Limit reached: {scope} {what} ({cap})."
    if retry_after is None:
        return text + " This request alone is larger than the limit allows."
    return text + f" Try again in {max(1, int(-(-retry_after // 1)))}s."


class LimitRefused(RateLimited):
    """429 from the limits engine. ``statuses`` describe every limit checked (for headers)."""

    def __init__(
        self,
        spec: LimitSpec,
        retry_after: float | None,
        statuses: list[LimitStatus],
        key: str,
    ) -> None:
        super().__init__(
            _message(spec, retry_after),
            code=CODES[spec.unit],
            retry_after=retry_after,
            headers=headers_for(statuses),
        )
        self.spec = spec
        self.statuses = statuses
        self.key = key

    @property
    def queueable(self) -> bool:
        """Shared-quota rate/concurrency refusals may wait in a queue; budgets never do."""
        return (
            self.spec.scope.kind in SHARED_SCOPES
            and self.spec.unit != "usd"
            and self.spec.window.kind in ("rolling", "concurrency")
            and self.retry_after is not None
        )
