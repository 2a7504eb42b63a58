"""Configuration of retries, circuit breakers, pacing and upstream queues (the `reliability:` section).

Every field has a production-safe default, so a config file only names what it changes::

    reliability:
      max_attempts: 4
      breaker: {consecutive_failures: 5, cooldown_s: 10}
      pacing: {low_fraction: 0.1}
      queue: {max_waiters: 100, max_wait_s: 5}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BreakerSettings(_Strict):
    """When a deployment (provider + model) is taken out of rotation, and how it comes back."""

    enabled: bool = True
    window_s: float = Field(
        default=30.0, gt=0, description="outcomes older than this are forgotten"
    )
    min_calls: int = Field(
        default=20, ge=1, description="calls in the window before the rate counts"
    )
    failure_rate: float = Field(default=0.5, gt=0, le=1, description="open at this failure share")
    consecutive_failures: int = Field(default=10, ge=1, description="open after this many in a row")
    cooldown_s: float = Field(default=15.0, gt=0, description="open -> half-open after this long")
    half_open_probes: int = Field(
        default=1, ge=1, description="probes allowed at once when half-open"
    )
    sync_interval_s: float = Field(
        default=1.0, gt=0, description="how often open states are read from Redis (when configured)"
    )


class PacingSettings(_Strict):
    """Proactive slowdown from the providers' rate-limit headers, before they answer 429."""

    enabled: bool = True
    low_fraction: float = Field(
        default=0.1, ge=0, le=1, description="pace once remaining falls to this share of the limit"
    )
    low_remaining: int = Field(
        default=2, ge=0, description="... or to this many, whichever is larger (used when no limit)"
    )
    max_delay_s: float = Field(
        default=30.0,
        ge=0,
        description="longest a request waits for pacing before trying a fallback",
    )


class QueueSettings(_Strict):
    """The bounded queue in front of a provider's `max_concurrent` cap."""

    max_waiters: int = Field(default=100, ge=0, description="requests allowed to wait for a slot")
    max_wait_s: float = Field(
        default=10.0, ge=0, description="longest wait for a slot -> upstream_busy"
    )


class ReliabilitySettings(_Strict):
    max_attempts: int = Field(default=5, ge=1, le=10, description="tries per deployment")
    backoff_base_s: float = Field(default=0.25, gt=0)
    backoff_max_s: float = Field(default=8.0, gt=0)
    max_retry_after_s: float = Field(
        default=60.0, ge=0, description="a longer upstream retry-after is returned, not waited for"
    )
    retry_after_jitter: float = Field(
        default=0.5, ge=0, description="extra random wait after a retry-after, as a share of it"
    )
    breaker: BreakerSettings = Field(default_factory=lambda: BreakerSettings())
    pacing: PacingSettings = Field(default_factory=lambda: PacingSettings())
    queue: QueueSettings = Field(default_factory=lambda: QueueSettings())
