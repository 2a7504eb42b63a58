"""``doorman db ...``: schema management from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from doorman.config import ConfigError, load_settings
from doorman.db.migrate import current_revision, head_revision, upgrade

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)

ConfigOption = typer.Option(None, "--config", "-c", help="YAML config file.", dir_okay=False)


def _database_url(config: Path | None) -> str:
    try:
        return load_settings(config).database_url
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"config error: {problem}", err=True)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def upgrade_command(config: Path | None = ConfigOption) -> None:
    """Apply pending migrations (safe to run any time; a no-op when up to date)."""
    url = _database_url(config)
    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    if after != before:
        typer.echo(f"database upgraded from {before or 'empty'} to {after} (head {head_revision()})")
    else:
        typer.echo(f"database at revision {after} (head {head_revision()}): nothing to do")


@db_app.command("current")
def current_command(config: Path | None = ConfigOption) -> None:
    """Show the database's schema revision."""
    url = _database_url(config)
    typer.echo(current_revision(url) or "empty (no migrations applied)")
