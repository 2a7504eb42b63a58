"""Issue 19 item 7: the test helpers remove the PostgreSQL databases they create."""

from __future__ import annotations

import asyncio

import asyncpg

from services import create_database, drop_created_databases, drop_database


def _exists(base_url: str, name: str) -> bool:
    async def query() -> bool:
        dsn = base_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
        conn = await asyncpg.connect(dsn)
        try:
            found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        finally:
            await conn.close()
        return found == 1

    return asyncio.run(query())


def test_created_databases_are_dropped_even_while_connected(postgres_base_url: str) -> None:
    one = create_database(postgres_base_url)
    two = create_database(postgres_base_url)
    name_one, name_two = one.rsplit("/", 1)[1], two.rsplit("/", 1)[1]
    assert _exists(postgres_base_url, name_one) and _exists(postgres_base_url, name_two)

    async def hold_open() -> asyncpg.Connection:
        return await asyncpg.connect(one.replace("postgresql+asyncpg://", "postgresql://"))

    loop = asyncio.new_event_loop()
    try:
        conn = loop.run_until_complete(hold_open())  # a leaked engine must not block the drop
        drop_database(one)
        assert not _exists(postgres_base_url, name_one)
        drop_created_databases()  # what the session fixture runs at the end
        assert not _exists(postgres_base_url, name_two)
        conn.terminate()
    finally:
        loop.close()
