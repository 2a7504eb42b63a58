"""Configuration of the response cache: the per-tier ``cache:`` block and the store settings.

Per tier (``tiers.<name>.cache``) decides *whether and for whom* answers are reused; the
top-level ``response_cache:`` section decides *where* they live (process memory or Redis) and
how long a follower waits for an identical request already in flight.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CacheMode = Literal["off", "exact"]
CacheScope = Literal["user", "tier", "global"]


class TierCache(BaseModel):
    """``tiers.<name>.cache``: off by default, since a reused answer is a product decision."""

    model_config = ConfigDict(extra="forbid")

    mode: CacheMode = "off"
    scope: CacheScope = Field(
        "user",
        description="who may receive an answer cached for another request: the same user "
        "(default), anyone in the same tier, or everyone",
    )
    ttl_seconds: int = Field(3600, ge=1, le=30 * 86400)
    cache_nondeterministic: bool = Field(
        False,
        description="also cache requests sampled with temperature > 0 and no seed (the "
        "caller then always gets the first sample)",
    )


class ResponseCacheSettings(BaseModel):
    """``response_cache:`` — the store shared by every tier that turns caching on."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["auto", "memory", "redis"] = Field(
        "auto", description="auto: Redis when redis_url is set, else process memory"
    )
    max_entries: int = Field(10_000, ge=1, description="memory backend: most answers kept")
    max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="memory backend: most bytes")
    max_entry_bytes: int = Field(
        1024 * 1024, ge=256, description="answers larger than this are not cached"
    )
    coalesce_wait_seconds: float = Field(
        30.0,
        ge=0,
        description="how long an identical request waits for one already in flight before "
        "going upstream itself (0 turns coalescing off)",
    )
    redis_timeout_seconds: float = Field(
        0.25, gt=0, description="a Redis call slower than this counts as a miss"
    )
