"""``approvals:`` — how long a withheld tool call waits for a person, and long-poll bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ApprovalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_seconds: int = Field(
        3600,
        ge=10,
        le=30 * 86400,
        description="a pending approval expires this long after it was requested; an approved "
        "call must be collected within this long of the decision",
    )
    max_wait_seconds: int = Field(
        60, ge=0, le=300, description="the longest `GET /v1/approvals/{id}?wait=N` may hold"
    )
    max_waits_per_user: int = Field(
        4,
        ge=1,
        le=1000,
        description="long-polls (`?wait=N`) one user may hold open at once on one replica; "
        "more get 429 too_many_waits (every poll also counts against the tier's request rate)",
    )
    poll_interval_seconds: float = Field(
        1.0,
        ge=0.05,
        le=10.0,
        description="how often a long-poll re-reads the database (a decision may come from "
        "another replica)",
    )
