"""One way to open the database: SQLite (WAL, busy timeout) or PostgreSQL (pooled asyncpg).

Why pragmas on every connection: SQLite settings like ``busy_timeout`` and ``foreign_keys`` are
per connection, and WAL lets the CLI read while ``serve`` writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as _create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 5000


def create_engine(url: str, **overrides: Any) -> AsyncEngine:
    """An AsyncEngine for ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URLs."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database, overrides)
    if backend == "postgresql":
        options: dict[str, Any] = {
            "pool_size": 10,
            "max_overflow": 20,
            "pool_pre_ping": True,
            "pool_recycle": 1800,
            "pool_timeout": 10,
        }
        options.update(overrides)
        return _create_async_engine(url, **options)
    raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")


def _sqlite_engine(url: str, database: str | None, overrides: dict[str, Any]) -> AsyncEngine:
    in_memory = is_in_memory_sqlite(url)
    options: dict[str, Any] = {}
    if in_memory:
        # One shared connection, otherwise every connection sees its own empty database.
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
    options.update(overrides)
    engine = _create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas(wal=not in_memory))
    return engine


def create_sync_sqlite_engine(url: str) -> Engine:
    """A blocking engine on the same SQLite file, with the same pragmas, for a writer thread."""
    parsed = make_url(url).set(drivername="sqlite+pysqlite")
    engine = _create_engine(parsed)
    event.listen(engine, "connect", _sqlite_pragmas(wal=True))
    return engine


def _sqlite_pragmas(*, wal: bool) -> Any:
    def apply(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return apply


def is_in_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database
    return parsed.get_backend_name() == "sqlite" and (
        not database or database == ":memory:" or database.startswith("file::memory:")
    )


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
