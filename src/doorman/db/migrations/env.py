"""Alembic environment: runs on the connection handed over by doorman.db.migrate."""

from __future__ import annotations

from alembic import context

import doorman.approvals.models  # registers the approvals table on Base.metadata
import doorman.ledger.models  # noqa: F401  (registers the ledger tables on Base.metadata)
from doorman.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via doorman.db.migrate
    raise RuntimeError("run migrations through doorman.db.migrate.upgrade(url)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
