"""Ledger: audio seconds received and sent, and the dollars silence trimming saved.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = ("audio_seconds_received", "audio_seconds_sent", "audio_saved_usd")


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
