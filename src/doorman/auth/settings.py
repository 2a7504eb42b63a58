"""Tunables of caller authentication (an optional ``auth:`` section of the config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AuthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cache_ttl_s: float = Field(
        default=1.0, gt=0, le=1.0,
        description="key lookup cache TTL; bounds how long other replicas miss a revocation",
    )
    cache_size: int = Field(default=10_000, ge=1)
    signature_skew_s: int = Field(
        default=300, ge=1, description="allowed clock skew of signed requests"
    )
    max_credential_bytes: int = Field(default=512, ge=64)
    failure_window_s: float = Field(default=60.0, gt=0)
    failures_before_lockout: int = Field(default=10, ge=1)
    lockout_base_s: float = Field(default=30.0, gt=0)
    lockout_max_s: float = Field(default=3600.0, gt=0)
    last_used_flush_s: float = Field(default=30.0, gt=0)
    single_replica: bool = Field(
        default=False,
        description="confirm that only one gateway process uses this PostgreSQL database, so "
        "signed requests may keep their replay nonces in memory (otherwise set redis_url)",
    )


class ConsoleSettings(BaseModel):
    """The browser console at ``/console/`` (an optional ``console:`` section of the config)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=True, description="serve /console/ and accept console session cookies"
    )
    session_minutes: int = Field(
        default=60, ge=5, le=24 * 60, description="lifetime of a console sign-in"
    )
