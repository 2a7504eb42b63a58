"""The ``tool_approvals`` table: one row per withheld tool call.

The status column holds what a person decided (``pending``, ``approved``, ``denied``);
``expired`` is never stored — it is a pending (or uncollected approved) row past ``expires_at``,
so no sweeper is needed and every replica agrees on it by the clock alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from doorman.db.models import Base


class ToolApproval(Base):
    __tablename__ = "tool_approvals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    tool_name: Mapped[str] = mapped_column(String(256))
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The call exactly as the caller would have received it (JSON, in ``wire`` format); it may
    # hold secrets, so it is never logged and only handed out once, to its own user.
    tool_call: Mapped[str] = mapped_column(Text)
    wire: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tier: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    consumed_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (
        Index("ix_tool_approvals_status_created", "status", "created_at"),
        Index("ix_tool_approvals_user_id", "user_id"),
    )
