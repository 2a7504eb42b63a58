"""Configuration of alerts and anomaly detection (owned by the observe package)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget_thresholds: list[float] = Field(
        default_factory=lambda: [0.5, 0.8, 1.0],
        description="fractions of the daily and monthly budgets that fire an alert once each",
    )
    webhook_url: str | None = Field(default=None, description="Slack-compatible webhook URL")
    webhook_secret_env: str | None = Field(
        default=None, description="env var holding the HMAC-SHA256 key for X-Doorman-Signature"
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=5, ge=1, le=20)
    webhook_backoff_initial_s: float = Field(default=0.5, ge=0)
    webhook_backoff_max_s: float = Field(default=30.0, ge=0)
    queue_size: int = Field(default=1000, ge=1, description="pending alerts before drops")
    recent_size: int = Field(default=200, ge=1, description="alerts kept in memory")

    @field_validator("budget_thresholds")
    @classmethod
    def _sane_thresholds(cls, value: list[float]) -> list[float]:
        for t in value:
            if not 0 < t <= 10:
                raise ValueError(f"threshold {t} must be a fraction in (0, 10], e.g. 0.8")
        return sorted(set(value))


class AnomalySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    requests_multiple: float = Field(default=5.0, gt=1)
    tokens_per_request_multiple: float = Field(default=3.0, gt=1)
    cost_multiple: float = Field(default=3.0, gt=1)
    ewma_alpha: float = Field(default=0.2, gt=0, le=1, description="weight of the newest bucket")
    prior_requests_per_hour: float = Field(default=60.0, gt=0, description="new user's baseline")
    prior_tokens_per_request: float = Field(default=2000.0, gt=0)
    prior_cost_per_day_usd: float = Field(default=1.0, gt=0)
    warmup_samples: int = Field(
        default=3, ge=0, description="closed hours/days before a user's own history is trusted"
    )
    min_requests_per_hour: float = Field(default=10.0, ge=0, description="baseline floor")
    min_tokens_per_request: float = Field(default=100.0, ge=0)
    min_cost_per_day_usd: float = Field(default=0.05, ge=0)
    min_requests_for_tokens: int = Field(
        default=5, ge=1, description="requests in the hour before tokens per request can spike"
    )
    flush_interval_s: float = Field(default=30.0, gt=0, description="how often baselines save")
