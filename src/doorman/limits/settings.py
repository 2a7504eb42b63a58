"""Configuration of the limits engine (owned by the limits package)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LimitsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["auto", "memory", "redis"] = "auto"
    on_store_failure: Literal["closed", "open"] = "closed"
    lease_seconds: float = Field(900.0, gt=0)
    global_requests_per_minute: int | None = Field(None, ge=1)
    global_tokens_per_minute: int | None = Field(None, ge=1)
    global_max_concurrent: int | None = Field(None, ge=1)
