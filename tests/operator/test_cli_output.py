"""Issue 19 item 8: command output a person or a script can read.

Money in JSON is rounded to the micro-dollar (no 0.0005512000000000002), and tables keep key
ids whole on a narrow terminal. Real SQLite ledger rows, the real commands.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doorman.cli import app
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.ledger.models import LedgerEntry
from doorman.ledger.row import LedgerRow

KEY_ID = "key_9x8y7w6v5u4t"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    url = f"sqlite+aiosqlite:///{tmp_path}/d.db"

    async def seed() -> None:
        await upgrade_async(url)
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                for i, cost in enumerate((0.0001837, 0.0001837, 0.0001838)):  # float-noisy sum
                    row = LedgerRow(request_id=f"r{i}", user_id="alice", key_id=KEY_ID,
                                    requested_model="sim-small", cost_usd=cost)  # fmt: skip
                    await conn.execute(LedgerEntry.__table__.insert().values(**row.as_dict()))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    path = tmp_path / "doorman.yaml"
    path.write_text(f"database_url: '{url}'\n")
    return path


def test_usage_json_money_is_rounded_to_the_micro_dollar(config: Path) -> None:
    result = CliRunner().invoke(app, ["usage", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    total = data["total"]["cost_usd"]
    assert total == 0.000551
    for row in data["rows"]:
        assert row["cost_usd"] == round(row["cost_usd"], 6)
    assert "0000000000" not in result.output  # no float noise anywhere


def test_tables_keep_key_ids_whole_on_a_narrow_terminal(config: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "60"})
    usage = runner.invoke(app, ["usage", "--by", "key", "--config", str(config)])
    assert usage.exit_code == 0, usage.output
    assert KEY_ID in usage.output
    assert max(len(line) for line in usage.output.splitlines()) <= 60
