"""A migrated database (SQLite and PostgreSQL) and its engine for observe tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_async(database_url)
    eng = create_engine(database_url)
    try:
        yield eng
    finally:
        await eng.dispose()
