"""Ledger (one insert-only row per request), alert events, anomaly baselines.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from doorman.db.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("id", _BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("ts", UtcDateTime(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("task", sa.String(64), nullable=True),
        sa.Column("requested_model", sa.String(128), nullable=True),
        sa.Column("served_model", sa.String(128), nullable=True),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("reserved_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("upstream_ms", sa.Float(), nullable=True),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("retries", sa.SmallInteger(), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.Text(), nullable=True),
        sa.Column("wire", sa.String(16), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_ledger_ts", "ledger", ["ts"])
    op.create_index("ix_ledger_user_id_ts", "ledger", ["user_id", "ts"])
    op.create_index("ix_ledger_request_id", "ledger", ["request_id"])

    op.create_table(
        "alert_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("ts", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_alert_events_dedupe_key"),
    )
    op.create_index("ix_alert_events_ts", "alert_events", ["ts"])

    op.create_table(
        "anomaly_baselines",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("anomaly_baselines")
    op.drop_index("ix_alert_events_ts", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_ledger_request_id", table_name="ledger")
    op.drop_index("ix_ledger_user_id_ts", table_name="ledger")
    op.drop_index("ix_ledger_ts", table_name="ledger")
    op.drop_table("ledger")
