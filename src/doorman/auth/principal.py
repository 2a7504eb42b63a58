"""Who is calling: the result of a successful authentication."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    user_id: str
    tier: str
    expires_at: datetime | None
    allowed_models: tuple[str, ...] | None
    labels: dict[str, Any] = field(default_factory=dict)
    expires_in_days: int | None = None
    signed: bool = False
    via_previous_secret: bool = False
