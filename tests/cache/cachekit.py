"""Helpers shared by the cache tests: keys and ledger rows straight from the database."""

from __future__ import annotations

from typing import Any

from doorman.auth.service import KeyService
from doorman.config import Settings
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.ledger.reports import iter_rows


async def new_key(settings: Settings, user: str, tier: str = "pro") -> str:
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        return (await KeyService(engine, settings).create(user=user, tier=tier)).key
    finally:
        await engine.dispose()


async def ledger(settings: Settings) -> list[dict[str, Any]]:
    engine = create_engine(settings.database_url)
    try:
        return [r async for r in iter_rows(engine)]
    finally:
        await engine.dispose()
