"""Limits engine: reserve the worst case in every scope at once, then settle the actual usage.

limiter = Limiter.create(settings.limits, redis, settings.zone)
specs = build_limits(tier, tier_name, user_id, key_id, model_name, model, provider_name,
                     settings.limits)
admission = await admit(limiter, specs, input_tokens=n, requested_max_tokens=m, tier=tier,
                        model_price=price)
try: ... call upstream ...
finally: await limiter.settle(admission.reservation, tokens=used_tokens, usd=cost)
"""

from doorman.limits.admission import Admission, admit, effective_max_tokens
from doorman.limits.clock import Clock, ManualClock, SystemClock
from doorman.limits.errors import LimitRefused
from doorman.limits.headers import rate_limit_headers
from doorman.limits.limiter import Limiter, Reservation
from doorman.limits.redis_store import connect_redis
from doorman.limits.settings import LimitsSettings, ScopeLimits
from doorman.limits.spec import (
    Demand,
    LimitSpec,
    LimitStatus,
    Scope,
    Window,
    build_limits,
    caller_request_limits,
)

__all__ = [
    "Admission",
    "Clock",
    "Demand",
    "LimitRefused",
    "LimitSpec",
    "LimitStatus",
    "Limiter",
    "LimitsSettings",
    "ManualClock",
    "Reservation",
    "Scope",
    "ScopeLimits",
    "SystemClock",
    "Window",
    "admit",
    "build_limits",
    "caller_request_limits",
    "connect_redis",
    "effective_max_tokens",
    "rate_limit_headers",
]
