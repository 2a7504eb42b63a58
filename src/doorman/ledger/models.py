"""Tables of the ledger and of the observe package (alert events, anomaly baselines).

``ledger`` is insert-only: every aggregate (spend, budgets, stats) is computed from it, so
there is no hot row to UPDATE and nothing to deadlock on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from doorman.db.models import Base

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(Base):
    """One row per request (see :class:`doorman.ledger.row.LedgerRow`)."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime]
    key_id: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(String(128))
    tier: Mapped[str | None] = mapped_column(String(64))
    task: Mapped[str | None] = mapped_column(String(64))
    requested_model: Mapped[str | None] = mapped_column(String(128))
    served_model: Mapped[str | None] = mapped_column(String(128))
    provider: Mapped[str | None] = mapped_column(String(64))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    reserved_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    upstream_ms: Mapped[float | None] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[int] = mapped_column(SmallInteger)
    error_code: Mapped[str | None] = mapped_column(String(64))
    retries: Mapped[int] = mapped_column(SmallInteger, default=0)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    saved_usd: Mapped[float] = mapped_column(Float, default=0.0)
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[str | None] = mapped_column(Text)
    wire: Mapped[str] = mapped_column(String(16))
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    audio_seconds_received: Mapped[float | None] = mapped_column(Float)
    audio_seconds_sent: Mapped[float | None] = mapped_column(Float)
    audio_saved_usd: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_ledger_ts", "ts"),
        Index("ix_ledger_user_id_ts", "user_id", "ts"),
        Index("ix_ledger_request_id", "request_id"),
    )


class AlertEventEntry(Base):
    """An alert as shown by ``/admin/alerts``.

    ``dedupe_key`` is unique (NULLs allowed): a budget threshold inserts
    ``budget:<user>:<period>:<period-id>:<threshold>`` and only the replica whose insert wins
    sends the alert — exactly once across replicas and restarts.
    """

    __tablename__ = "alert_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_alert_events_ts", "ts"),
        UniqueConstraint("dedupe_key", name="uq_alert_events_dedupe_key"),
    )


class AnomalyBaseline(Base):
    """Per-user EWMA baselines, flushed periodically so they survive restarts."""

    __tablename__ = "anomaly_baselines"

    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tier: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]
