"""``doorman usage`` and ``doorman ledger export|prune`` against a real database."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from doorman.ledger.cli import ledger_app, usage

sys.path.insert(0, str(Path(__file__).parent))
from seed import seeded_config

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()
    app.command("usage")(usage)
    app.add_typer(ledger_app, name="ledger")
    return app


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Path:
    """A config file pointing at a database seeded with history ending now."""
    return seeded_config(database_url, tmp_path)


def test_usage_json_by_user(config: Path) -> None:
    result = runner.invoke(make_app(), ["usage", "--by", "user", "--days", "7", "--json",
                                        "--config", str(config)])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert {r["group"] for r in data["rows"]} == {"alice", "bob"}
    assert data["total"]["requests"] == 6
    assert {b["user_id"] for b in data["budgets"]} >= {"alice", "bob"}


def test_usage_csv_and_user_filter(config: Path) -> None:
    result = runner.invoke(make_app(), ["usage", "--by", "model", "--user", "bob", "--csv",
                                        "--config", str(config)])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["model"], r["requests"]) for r in rows] == [("sim-large", "1")]


def test_usage_table_and_chart(config: Path) -> None:
    result = runner.invoke(make_app(), ["usage", "--by", "task", "--days", "3",
                                        "--config", str(config)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Spend by task" in result.stdout and "summarize" in result.stdout
    assert "Spend by day" in result.stdout and "█" in result.stdout
    assert "Budget remaining" in result.stdout


def test_usage_rejects_unknown_grouping(config: Path) -> None:
    result = runner.invoke(make_app(), ["usage", "--by", "colour", "--config", str(config)])
    assert result.exit_code != 0


def test_export_jsonl_and_csv_then_prune(config: Path) -> None:
    app = make_app()
    result = runner.invoke(app, ["ledger", "export", "--format", "jsonl", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["request_id"] for r in lines) == [f"req-{i:03d}" for i in range(1, 8)]
    assert all(r["ts"].endswith("+00:00") for r in lines)

    result = runner.invoke(app, ["ledger", "export", "--format", "csv", "--days", "1",
                                 "--config", str(config)])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert "request_id" in rows[0] and len(rows) <= 4

    result = runner.invoke(app, ["ledger", "prune", "--older-than", "30d", "--yes", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "deleted 1 ledger row " in result.stdout
    result = runner.invoke(app, ["ledger", "export", "--config", str(config)])
    assert len(result.stdout.splitlines()) == 6


def test_prune_rejects_bad_age(config: Path) -> None:
    result = runner.invoke(make_app(), ["ledger", "prune", "--older-than", "soon",
                                        "--config", str(config)])  # fmt: skip
    assert result.exit_code != 0
