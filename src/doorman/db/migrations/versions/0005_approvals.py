"""Tool-call approvals: one row per tool call withheld until a person decides.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from doorman.db.models import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tool_approvals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tool_name", sa.String(256), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("tool_call", sa.Text(), nullable=False),
        sa.Column("wire", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("consumed_at", UtcDateTime(), nullable=True),
    )
    op.create_index(
        "ix_tool_approvals_status_created", "tool_approvals", ["status", "created_at"]
    )
    op.create_index("ix_tool_approvals_user_id", "tool_approvals", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_tool_approvals_user_id", table_name="tool_approvals")
    op.drop_index("ix_tool_approvals_status_created", table_name="tool_approvals")
    op.drop_table("tool_approvals")
