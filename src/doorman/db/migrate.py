"""Bring a database to the newest schema with Alembic, from the migration files in the package.

Idempotent and safe at every ``serve`` start: an up-to-date database is a no-op, and on
PostgreSQL a transaction-scoped advisory lock serialises replicas (and ``doorman db upgrade``
runs) that start at the same moment: it is released by the commit, never before.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from doorman.db.engine import create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
log = structlog.get_logger("doorman.db")
# Alembic's per-migration INFO lines ("Context impl SQLiteImpl", "Running upgrade ...") are not
# ours to print at every start; the one line above says what changed.
logging.getLogger("alembic").setLevel(logging.WARNING)
_PG_LOCK_ID = 0x646F6F72  # "door"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade_sync(connection: Connection, revision: str) -> None:
    # A transaction-scoped lock: held until this connection's transaction commits, so a replica
    # waiting for it sees the committed schema (a session lock released before the commit let
    # it run migration 0001 again).
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    before = _current_sync(connection)
    command.upgrade(cfg, revision)
    after = _current_sync(connection)
    # Only where logging was set up (serve: JSON on stderr): an unconfigured structlog would
    # print on stdout, into a CLI command's --json output (`db upgrade` prints its own line).
    if after != before and structlog.is_configured():
        log.info("database_migrated", from_revision=before or "empty", to_revision=after)


def _current_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Apply every pending migration (``head`` = newest)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_sync, revision)
    finally:
        await engine.dispose()


async def current_revision_async(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current_sync)
    finally:
        await engine.dispose()


def _run(coro_factory: Any) -> Any:
    """Run a coroutine from sync code, also when an event loop is already running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro_factory())
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target, name="doorman-migrate")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def upgrade(url: str, revision: str = "head") -> None:
    """Synchronous :func:`upgrade_async` (callable from inside a running event loop too)."""
    _run(lambda: upgrade_async(url, revision))


def current_revision(url: str) -> str | None:
    value: str | None = _run(lambda: current_revision_async(url))
    return value
