"""``doorman approvals list|approve|deny`` against the database a config names."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update
from typer.testing import CliRunner

from doorman.approvals.models import ToolApproval
from doorman.approvals.settings import ApprovalSettings
from doorman.approvals.store import ApprovalStore, Requester, WithheldCall, new_approval_id
from doorman.cli import app
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async

runner = CliRunner()
CALL = {"type": "tool_use", "id": "toolu_1", "name": "send_money", "input": {"to": "[red]bob"}}


@pytest.fixture
def setup(database_url: str, tmp_path: Path) -> tuple[Path, list[str]]:
    """A config file and three pending approvals; the last one already expired."""
    config = tmp_path / "doorman.yaml"
    config.write_text(yaml.safe_dump({"database_url": database_url}))
    ids = [new_approval_id() for _ in range(3)]

    async def seed() -> None:
        await upgrade_async(database_url)
        engine = create_engine(database_url)
        try:
            store = ApprovalStore(engine, ApprovalSettings())
            who = Requester("alice", "key_1", "agents", "sim-claude", "req_9", "anthropic")
            await store.record([WithheldCall(i, "send_money", "toolu_1", CALL) for i in ids], who)
            async with engine.begin() as conn:
                past = datetime(2000, 1, 1, tzinfo=UTC)
                await conn.execute(
                    update(ToolApproval).where(ToolApproval.id == ids[2]).values(expires_at=past)
                )
        finally:
            await engine.dispose()

    asyncio.run(seed())
    return config, ids


def test_list_approve_deny_and_refusals(setup: tuple[Path, list[str]]) -> None:
    config, (first, second, expired) = setup
    cfg = ["--config", str(config)]
    listed = runner.invoke(app, ["approvals", "list", "--json", *cfg])
    assert listed.exit_code == 0, listed.output
    assert {a["id"] for a in json.loads(listed.stdout)} == {first, second}  # pending only
    assert json.loads(listed.stdout)[0]["tool_call"] == CALL

    table = runner.invoke(app, ["approvals", "list", "--status", "all", *cfg],
                          env={"COLUMNS": "220"})  # fmt: skip
    assert table.exit_code == 0 and "send_money" in table.stdout and "expired" in table.stdout
    assert '"[red]bob"' in table.stdout  # shown literally, never as terminal markup

    ok = runner.invoke(app, ["approvals", "approve", first, "--reason", "checked", *cfg])
    assert ok.exit_code == 0 and f"{first}: approved" in ok.stdout
    no = runner.invoke(app, ["approvals", "deny", second, *cfg])
    assert no.exit_code == 0 and "denied" in no.stdout

    for args, code in (
        (["approve", first], "approval_already_decided"),
        (["approve", second], "approval_already_decided"),
        (["deny", expired], "approval_expired"),
        (["approve", "apr_nope"], "approval_not_found"),
    ):
        refused = runner.invoke(app, ["approvals", *args, *cfg])
        assert refused.exit_code == 1 and code in refused.stderr, refused.output

    bad = runner.invoke(app, ["approvals", "list", "--status", "maybe", *cfg])
    assert bad.exit_code == 2
