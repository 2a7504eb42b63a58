"""The key life cycle through `doorman keys ...`, and the zero-config pepper file."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest
from authkit import bearer
from typer.testing import CliRunner

from doorman.auth.authenticator import Authenticator
from doorman.auth.cli import keys_app
from doorman.auth.pepper import load_pepper
from doorman.config import load_settings
from doorman.db.engine import create_engine
from doorman.errors import AuthenticationFailed

runner = CliRunner()


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "doorman.yaml"
    path.write_text(
        f"database_url: '{database_url}'\n"
        "tiers:\n  robots:\n    requests_per_minute: 5\n    key_expiry_days: 10\n"
    )
    return path


def cli(*args: str) -> str:
    result = runner.invoke(keys_app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def check(config: Path, secret: str) -> str:
    """Authenticate like the gateway would; returns the key id or the error code."""

    async def run() -> str:
        settings = load_settings(config)
        engine = create_engine(settings.database_url)
        auth = Authenticator(engine, settings)
        try:
            p = await auth.authenticate(bearer(secret), "POST", "/v1/x", b"", "1.2.3.4")
            return p.key_id
        except AuthenticationFailed as exc:
            return exc.code
        finally:
            await auth.close()
            await engine.dispose()

    return asyncio.run(run())


def test_key_life_cycle_through_cli(config: Path) -> None:
    c = str(config)
    created = json.loads(
        cli("create", "--user", "alice", "--tier", "robots", "--label", "site=lab",
            "--models", "sim-small,sim-large", "--json", "--config", c)
    )
    assert set(created) >= {"id", "key", "user", "tier", "expires_at"}
    assert created["user"] == "alice" and created["tier"] == "robots"
    assert "signing_secret" not in created
    assert created["labels"] == {"site": "lab"}
    assert created["allowed_models"] == ["sim-small", "sim-large"]
    assert check(config, created["key"]) == created["id"]

    listed = cli("list", "--json", "--config", c)
    assert created["key"] not in listed
    assert [k["id"] for k in json.loads(listed)] == [created["id"]]
    table = cli("list", "--config", c)
    assert created["id"] in table and created["key"] not in table
    shown = json.loads(cli("show", created["id"], "--config", c))
    assert shown["status"] == "active" and "key" not in shown

    rotated = json.loads(
        cli("rotate", created["id"], "--grace-hours", "1", "--json", "--config", c)
    )
    assert rotated["id"] == created["id"] and rotated["key"] != created["key"]
    assert check(config, created["key"]) == created["id"]  # still within grace
    assert check(config, rotated["key"]) == created["id"]

    assert "revoked" in cli("revoke", created["id"], "--config", c)
    assert check(config, rotated["key"]) == "revoked_api_key"
    assert check(config, created["key"]) == "revoked_api_key"


def test_create_with_signing_and_custom_expiry(config: Path) -> None:
    created = json.loads(
        cli("create", "--user", "bob", "--tier", "pro", "--signing", "--expires-days", "3",
            "--config", str(config))
    )
    assert created["signing_secret"].startswith("dms-")
    assert created["signing"] is True
    assert check(config, created["key"]) == "missing_signature"


def test_cli_errors(config: Path) -> None:
    c = str(config)
    bad_tier = runner.invoke(keys_app, ["create", "--user", "x", "--tier", "gold", "--config", c])
    assert bad_tier.exit_code == 1 and "unknown tier 'gold'" in bad_tier.output
    missing = runner.invoke(keys_app, ["revoke", "key_nothere00000", "--config", c])
    assert missing.exit_code == 1 and "no key" in missing.output
    bad_label = runner.invoke(
        keys_app, ["create", "--user", "x", "--tier", "pro", "--label", "novalue", "--config", c]
    )
    assert bad_label.exit_code != 0


def test_pepper_file_is_generated_once_with_mode_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOORMAN_PEPPER", raising=False)
    monkeypatch.chdir(tmp_path)
    first = load_pepper()
    assert first == load_pepper()
    path = tmp_path / ".doorman" / "pepper"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) >= 40


def test_create_without_tier_uses_the_configs_default_tier(config: Path) -> None:
    config.write_text(config.read_text() + "default_tier: robots\n")
    made = json.loads(cli("create", "--user", "rob", "--json", "--config", str(config)))
    assert made["tier"] == "robots"
