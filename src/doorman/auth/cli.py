"""``doorman keys ...``: key life cycle from the command line (same KeyService as the admin API).

Every command brings the schema up to date first, so ``keys create`` works before the first
``serve``. Commands find the pepper as ``serve`` does, whatever the working directory (see
:mod:`doorman.state`), and stop with a clear error when it is not the one the database's keys
were made with.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from doorman.auth.pepper import PepperMismatch, pepper_for
from doorman.auth.service import KeyService
from doorman.config import ConfigError, Settings, load_settings
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.errors import DoormanError
from doorman.state import state_dir

keys_app = typer.Typer(help="Create, list, revoke and rotate API keys.", no_args_is_help=True)

T = TypeVar("T")
ConfigOption = typer.Option(None, "--config", "-c", help="YAML config file.", dir_okay=False)
JsonOption = typer.Option(False, "--json", help="Print JSON.")


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"config error: {problem}", err=True)
        raise typer.Exit(2) from None


def _run(config: Path | None, action: Callable[[KeyService], Awaitable[T]]) -> T:
    settings = _settings(config)

    async def main() -> T:
        await upgrade_async(settings.database_url)
        engine = create_engine(settings.database_url)
        try:
            pepper = await pepper_for(engine, state_dir(settings))
            return await action(KeyService(engine, settings, pepper=pepper))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DoormanError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except PepperMismatch as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def _labels(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"'{item}' is not k=v", param_hint="--label")
        out[name] = value
    return out


@keys_app.command("create")
def create(
    user: str = typer.Option(..., "--user", "-u", help="User the key belongs to."),
    tier: str | None = typer.Option(
        None, "--tier", "-t", help="Tier from the config (default: the config's default_tier)."
    ),
    expires_days: int | None = typer.Option(
        None, "--expires-days", help="Days until expiry (default: the tier's key_expiry_days)."
    ),
    signing: bool = typer.Option(False, "--signing", help="Require signed requests."),
    models: str | None = typer.Option(None, "--models", help="Allowed models, comma-separated."),
    label: list[str] = typer.Option([], "--label", "-l", help="k=v label (repeatable)."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Create a key. The secret (and signing secret) is printed once and never stored."""
    labels = _labels(label)
    model_list = [m.strip() for m in models.split(",") if m.strip()] if models else None
    issued = _run(
        config,
        lambda s: s.create(
            user=user, tier=tier or s.settings.default_tier, expires_days=expires_days,
            signing=signing,
            models=model_list, labels=labels,
        ),
    )
    _print_json(issued.to_dict())
    if not as_json and sys.stderr.isatty():
        typer.echo("Store the key now: it cannot be shown again.", err=True)


@keys_app.command("list")
def list_keys(
    user: str | None = typer.Option(None, "--user", "-u", help="Only this user's keys."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """List keys (never a secret)."""
    keys = _run(config, lambda s: s.list(user=user))
    rows = [k.to_dict() for k in keys]
    if as_json:
        _print_json(rows)
        return
    table = Table(title="API keys")
    table.add_column("id", no_wrap=True, min_width=16)
    for col in ("user", "tier", "status", "expires", "last used", "signing"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["id"], r["user"], r["tier"], r["status"], _short_time(r["expires_at"]),
            _short_time(r["last_used_at"]), "yes" if r["signing"] else "no",
        )
    Console().print(table)


def _short_time(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "-"


@keys_app.command("show")
def show(key_id: str, config: Path | None = ConfigOption) -> None:
    """Show one key (never its secret)."""
    info = _run(config, lambda s: s.show(key_id))
    _print_json(info.to_dict())


@keys_app.command("revoke")
def revoke(
    key_id: str,
    reason: str | None = typer.Option(None, "--reason", help="Recorded in the audit log."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Revoke a key at once (other replicas follow within a second)."""
    info = _run(config, lambda s: s.revoke(key_id, reason=reason))
    if as_json:
        _print_json(info.to_dict())
    else:
        typer.echo(f"revoked {info.id}")


@keys_app.command("rotate")
def rotate(
    key_id: str,
    grace_hours: float = typer.Option(
        24.0, "--grace-hours", help="Hours the old secret keeps working."
    ),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Issue a new secret; the old one works until the grace period ends."""
    issued = _run(config, lambda s: s.rotate(key_id, grace_hours=grace_hours))
    _print_json(issued.to_dict())
