"""Ledger columns of the response cache and provider prompt caching.

``saved_usd``: what a cache hit would have cost (its ``cost_usd`` is 0).
``cache_write_tokens``: prompt tokens the provider wrote to its prompt cache (Anthropic's
``cache_creation_input_tokens``), billed at ``price.cache_write``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("saved_usd", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("cache_write_tokens", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("cache_write_tokens")
        batch.drop_column("saved_usd")
