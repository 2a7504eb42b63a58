"""Configuration of retries, circuit breakers and fallbacks (owned by the upstream package)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ReliabilitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(3, ge=1, le=10)
    backoff_base_s: float = Field(0.25, gt=0)
    backoff_max_s: float = Field(8.0, gt=0)
