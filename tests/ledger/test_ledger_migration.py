"""Migration 0002 creates exactly the tables the ledger/observe models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.db.models import Base
from doorman.ledger import models  # noqa: F401  (registers the tables on Base)

OWN_TABLES = {"ledger", "alert_events", "anomaly_baselines"}


def _diff(conn: Connection) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    diffs = compare_metadata(ctx, Base.metadata)
    own = []
    for d in diffs:
        flat = d if isinstance(d, list) else [d]
        for item in flat:
            text = repr(item)
            if any(f"'{t}'" in text or f"name='{t}'" in text or t in text for t in OWN_TABLES):
                own.append(item)
    return own


def _indexes(conn: Connection) -> dict[str, set[str]]:
    insp = inspect(conn)
    return {t: {ix["name"] for ix in insp.get_indexes(t)} for t in OWN_TABLES}  # type: ignore[misc]


async def test_models_match_migration(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diffs = await conn.run_sync(_diff)
        indexes = await conn.run_sync(_indexes)
    assert diffs == []
    assert {"ix_ledger_ts", "ix_ledger_user_id_ts"} <= indexes["ledger"]
