"""Configuration of the limits engine: the ``limits:`` section of the YAML file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ScopeLimits(BaseModel):
    """Rate and concurrency limits for one provider (keeps Doorman under the provider's quota)."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    max_concurrent: int | None = Field(None, ge=1)


class LimitsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["auto", "memory", "redis"] = "auto"
    on_store_failure: Literal["closed", "open"] = Field(
        "closed",
        description="Redis unreachable: 'closed' refuses with 503 limits_unavailable; 'open' "
        "enforces conservative per-replica limits in memory until Redis answers again",
    )
    fail_open_fraction: float = Field(
        0.5,
        gt=0,
        le=1,
        description="share of every capacity a replica allows itself while failing open",
    )
    store_timeout_s: float = Field(0.5, gt=0, description="deadline of one Redis round trip")
    redis_max_in_flight: int = Field(
        64, ge=1, description="concurrent limit scripts per process (keeps the pool healthy)"
    )
    store_retry_s: float = Field(
        2.0, gt=0, description="after a Redis failure, how long to skip Redis before probing again"
    )
    lease_seconds: float = Field(900.0, gt=0)
    stream_unreported_tokens: int = Field(
        64,
        ge=0,
        description="a stream that ends without the provider's usage is charged its counted "
        "output plus this many tokens (generated but not yet delivered when it was cut)",
    )
    count_safety_factor: float | None = Field(
        None,
        ge=1,
        le=10,
        description="multiplies counted text tokens for every model (default: 1 where the "
        "model's own tokenizer is used, 1.35 for Anthropic models, 1.5 for unknown models)",
    )
    key_prefix: str = Field("doorman", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    cross_scope: Literal["auto", "atomic", "compensate"] = Field(
        "auto",
        description="Redis: 'atomic' reserves every scope in one script (single node); "
        "'compensate' reserves scope by scope and rolls back on refusal (Redis Cluster); "
        "'auto' picks compensate for a RedisCluster client",
    )
    per_key: list[
        Literal[
            "requests_per_minute",
            "tokens_per_minute",
            "tokens_per_day",
            "daily_budget_usd",
            "monthly_budget_usd",
            "max_concurrent",
        ]
    ] = Field(
        default_factory=list,
        description="tier limits also enforced per key (they always apply per user)",
    )
    global_requests_per_minute: int | None = Field(None, ge=1)
    global_tokens_per_minute: int | None = Field(None, ge=1)
    global_max_concurrent: int | None = Field(None, ge=1)
    providers: dict[str, ScopeLimits] = Field(
        default_factory=dict, description="per-provider rate and concurrency limits"
    )
    queue_max_wait_s: float = Field(
        0.0,
        ge=0,
        le=600,
        description="wait up to this long for a provider/model/global limit instead of failing "
        "(0 disables queueing)",
    )
    queue_max_waiters: int = Field(1000, ge=1, description="per limit; beyond it, fail at once")
    queue_poll_s: float = Field(0.05, gt=0, description="how often a queued request re-tries")
