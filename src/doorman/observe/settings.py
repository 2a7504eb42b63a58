"""Configuration of alerts and anomaly detection (owned by the observe package)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget_thresholds: list[float] = Field(default_factory=lambda: [0.5, 0.8, 1.0])
    webhook_url: str | None = None
    webhook_secret_env: str | None = None


class AnomalySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    requests_multiple: float = Field(5.0, gt=1)
    tokens_per_request_multiple: float = Field(3.0, gt=1)
    cost_multiple: float = Field(3.0, gt=1)
