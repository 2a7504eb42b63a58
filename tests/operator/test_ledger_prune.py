"""Issue 19 item 4: ``ledger prune`` says what it will delete and never guesses a unit.

Ambiguous ages ('3m': minutes or months?, '10s', a bare number) are refused; ``--dry-run``
deletes nothing; without ``--yes`` it asks on a terminal and refuses in a pipe. Real SQLite
database with ledger rows, the real command (in-process runner and a pseudo-terminal).
"""

from __future__ import annotations

import asyncio
import os
import pty
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from doorman.cli import app
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.ledger.models import LedgerEntry
from doorman.ledger.row import LedgerRow

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    url = f"sqlite+aiosqlite:///{tmp_path}/d.db"

    async def seed() -> None:
        await upgrade_async(url)
        engine = create_engine(url)
        now = datetime.now(UTC)
        try:
            async with engine.begin() as conn:
                for i, age in enumerate(
                    (timedelta(days=200), timedelta(days=100), timedelta(hours=1))
                ):
                    row = LedgerRow(
                        request_id=f"req-{i}", ts=now - age, user_id="alice", status=200
                    )
                    await conn.execute(LedgerEntry.__table__.insert().values(**row.as_dict()))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    path = tmp_path / "doorman.yaml"
    path.write_text(f"database_url: '{url}'\n")
    return path


def _rows(config: Path) -> int:
    url = config.read_text().split("'")[1]

    async def count() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return int(await conn.scalar(select(func.count()).select_from(LedgerEntry)) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(count())


@pytest.mark.parametrize("age", ["3m", "10s", "90", "soon"])
def test_ambiguous_or_unitless_ages_are_refused(config: Path, age: str) -> None:
    result = runner.invoke(
        app, ["ledger", "prune", "--older-than", age, "--yes", "--config", str(config)]
    )
    assert result.exit_code == 2
    assert "--older-than" in result.output
    assert _rows(config) == 3


def test_dry_run_shows_what_would_go_and_deletes_nothing(config: Path) -> None:
    result = runner.invoke(
        app, ["ledger", "prune", "--older-than", "90d", "--dry-run", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 ledger rows older than 90d, before ")
    assert "dry run: nothing deleted" in result.output
    assert _rows(config) == 3


def test_without_yes_a_pipe_is_refused_and_yes_deletes(config: Path) -> None:
    args = ["ledger", "prune", "--older-than", "150d", "--config", str(config)]
    refused = runner.invoke(app, args)  # stdin is not a terminal
    assert refused.exit_code == 1 and "refusing to delete 1 ledger row" in refused.output
    assert _rows(config) == 3
    done = runner.invoke(app, [*args, "--yes"])
    assert done.exit_code == 0 and "deleted 1 ledger row older than 150d" in done.output
    assert _rows(config) == 2


def test_a_terminal_is_asked_and_no_keeps_the_rows(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    master, slave = pty.openpty()
    stdin = os.fdopen(slave, "r")
    os.write(master, b"n\n")
    monkeypatch.setattr("sys.stdin", stdin)
    try:
        from doorman.ledger.cli import prune

        with pytest.raises(Exception) as stopped:
            prune(older_than="90d", dry_run=False, yes=False, config=config)
    finally:
        stdin.close()
        os.close(master)
    assert getattr(stopped.value, "exit_code", None) == 1
    assert _rows(config) == 3
