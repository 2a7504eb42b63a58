"""One way to open the database: SQLite (WAL, busy timeout) or PostgreSQL (pooled asyncpg).

Why pragmas on every connection: SQLite settings like ``busy_timeout`` and ``foreign_keys`` are
per connection, and WAL lets the CLI read while ``serve`` writes.
"""

from __future__ import annotations

import os
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
        create_private_file(Path(database).expanduser())  # type: ignore[arg-type]
    options.update(overrides)
    engine = _create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas(wal=not in_memory))
    return engine


def create_sync_sqlite_engine(url: str) -> Engine:
    """A blocking engine on the same SQLite file, with the same pragmas, for a writer thread."""
    parsed = make_url(url).set(drivername="sqlite+pysqlite")
    if parsed.database:
        create_private_file(Path(parsed.database).expanduser())
    engine = _create_engine(parsed)
    event.listen(engine, "connect", _sqlite_pragmas(wal=True))
    return engine


def create_private_file(path: Path) -> None:
    """Create the SQLite file 0600 (its directory 0700 when we create it) before SQLite does.

    SQLite would create it with the process umask (usually 0644: keys' hashes, the audit log
    and the ledger readable by every local user); it gives the ``-wal`` and ``-shm`` files the
    database file's own mode, so those follow. An existing file is left as its owner set it.
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another process won the race; it created it the same way
        return
    os.close(fd)


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
