"""Schema migrations: idempotent, run from package files, same result on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from doorman.db.cli import db_app
from doorman.db.engine import create_engine
from doorman.db.migrate import current_revision_async, head_revision, upgrade, upgrade_async

AUTH_TABLES = {"users", "api_keys", "audit_log", "settings"}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_creates_tables_and_is_idempotent(database_url: str) -> None:
    await upgrade_async(database_url)
    await upgrade_async(database_url)  # second run: a no-op, not an error
    assert await _tables(database_url) >= AUTH_TABLES
    assert await current_revision_async(database_url) == head_revision()


async def test_sync_upgrade_works_inside_a_running_event_loop(database_url: str) -> None:
    upgrade(database_url)  # e.g. called from a server lifespan
    assert "api_keys" in await _tables(database_url)


async def test_first_revision_is_0001(database_url: str) -> None:
    await upgrade_async(database_url, "0001")
    assert await current_revision_async(database_url) == "0001"


async def test_sqlite_creates_parent_dir_and_uses_wal(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/nested/dir/doorman.db"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
    finally:
        await engine.dispose()
    assert mode == "wal"
    assert busy and int(busy) >= 1000
    assert (tmp_path / "nested" / "dir").is_dir()


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        create_engine("mysql+aiomysql://x/y")


def test_db_upgrade_command(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOORMAN_DATABASE_URL", raising=False)
    config = tmp_path / "doorman.yaml"
    config.write_text(f"database_url: '{database_url}'\n")
    runner = CliRunner()
    first = runner.invoke(db_app, ["upgrade", "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert f"upgraded from empty to {head_revision()}" in first.output
    again = runner.invoke(db_app, ["upgrade", "--config", str(config)])
    assert again.exit_code == 0, again.output
    assert f"revision {head_revision()}" in again.output and "nothing to do" in again.output
    current = runner.invoke(db_app, ["current", "--config", str(config)])
    assert current.output.strip() == head_revision()


def test_db_upgrade_reports_config_errors(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("database_url: 'mysql://nope'\n")
    result = CliRunner().invoke(db_app, ["upgrade", "--config", str(config)])
    assert result.exit_code == 2
    assert "database_url" in result.output


def test_migrations_ship_inside_the_package() -> None:
    import doorman.db.migrate as m

    assert (m.MIGRATIONS_DIR / "env.py").is_file()
    assert (m.MIGRATIONS_DIR / "versions" / "0001_auth.py").is_file()
    assert not os.path.exists(m.MIGRATIONS_DIR.parent / "alembic.ini")
