"""The ``doorman`` command line (typer)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console

from doorman.config import ConfigError, Settings, load_settings

app = typer.Typer(
    help="Doorman: a gateway for LLM APIs — keys, limits, budgets, screening, retries, costs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def _load_or_exit(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        err.print(f"[bold red]Invalid configuration[/] ({config}):")
        for problem in exc.problems:
            err.print(f"  - {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _preflight_or_exit(settings: Settings, config: Path | None) -> None:
    """Stop (exit 2) when a named secret is missing or a model has no price."""
    from doorman.preflight import preflight

    problems = preflight(settings)
    if problems:
        err.print(f"[bold red]Not ready to serve[/] ({config or 'built-in defaults'}):")
        for problem in problems:
            err.print(f"  - {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"doorman {version('doorman')}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Doorman: a gateway for LLM APIs — keys, limits, budgets, screening, retries, costs."""


@app.command()
def serve(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML config file."),
    host: str | None = typer.Option(None, help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8080)."),
    workers: int | None = typer.Option(None, help="Worker processes (needs redis_url when > 1)."),
) -> None:
    """Start the gateway. With no config: SQLite, in-process limits, the built-in simulator."""
    import uvicorn

    from doorman.observe.logging import configure_logging
    from doorman.server.factory import export_settings

    settings = _load_or_exit(config)
    server = settings.server
    overrides = {
        k: v for k, v in (("host", host), ("port", port), ("workers", workers)) if v is not None
    }
    if overrides:
        data = settings.model_dump(mode="python", exclude_unset=True)
        data.setdefault("server", {}).update(overrides)
        try:
            from doorman.config import parse_settings

            settings = parse_settings(data)
        except ConfigError as exc:
            for problem in exc.problems:
                err.print(f"  - {problem}", markup=False)
            raise typer.Exit(2) from None
        server = settings.server
    _preflight_or_exit(settings, config)
    configure_logging(server.log_level)
    export_settings(settings)
    err.print(
        f"Doorman starting on http://{server.host}:{server.port}  "
        f"(database: {settings.database_url.split('://', 1)[0]}, "
        f"limits: {'redis' if settings.redis_url else 'in-process'}, "
        f"models: {', '.join(sorted(settings.models))})",
        highlight=False,
    )
    if server.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="doorman-metrics-")
    from doorman.server.protocol import guarded_protocol, raise_open_files_limit

    raise_open_files_limit(server.max_connections)
    uvicorn.run(
        "doorman.server.factory:app_from_env",
        factory=True,
        host=server.host,
        port=server.port,
        workers=server.workers,
        loop="uvloop",
        # httptools plus header/body deadlines, a head size limit and a connection cap
        http=guarded_protocol(server),
        timeout_keep_alive=server.keepalive_timeout_s,  # type: ignore[arg-type]
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For counts only from server.trusted_proxies (app)
        timeout_graceful_shutdown=10,
        server_header=False,  # do not advertise the stack
    )


@app.command()
def sim(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    ttft_ms: float = typer.Option(0.0, help="Latency before the first token."),
    token_ms: float = typer.Option(0.0, help="Latency per output token."),
    error_rate: float = typer.Option(0.0, help="Share of requests answered 500/503."),
    rate_limit_rate: float = typer.Option(0.0, help="Share answered 429."),
    retry_after: float = typer.Option(1.0, help="retry-after seconds on 429s."),
    stall_rate: float = typer.Option(0.0, help="Share that never answer."),
    disconnect_rate: float = typer.Option(0.0, help="Share cut mid-answer."),
    rpm: int | None = typer.Option(None, help="Emulated provider quota (requests/minute)."),
    max_reply_tokens: int = typer.Option(1024),
    seed: int | None = typer.Option(None, help="Seed for reproducible fault injection."),
    api_key: str | None = typer.Option(
        None, "--api-key", help="Answer 401 to any other credential, like a real provider."
    ),
    ignore_max_tokens: bool = typer.Option(
        False, help="Answer max-reply-tokens whatever max_tokens says (a non-compliant provider)."
    ),
) -> None:
    """Run the simulated provider (OpenAI and Anthropic wire formats) as its own server."""
    import uvicorn

    from doorman.sim import SimOptions, create_sim_app

    for name, value in (
        ("error-rate", error_rate),
        ("rate-limit-rate", rate_limit_rate),
        ("stall-rate", stall_rate),
        ("disconnect-rate", disconnect_rate),
    ):
        if not 0.0 <= value <= 1.0:
            err.print(f"--{name} must be between 0 and 1")
            raise typer.Exit(2)
    options = SimOptions(
        ttft_ms=ttft_ms,
        token_ms=token_ms,
        error_rate=error_rate,
        rate_limit_rate=rate_limit_rate,
        retry_after=retry_after,
        stall_rate=stall_rate,
        disconnect_rate=disconnect_rate,
        rpm=rpm,
        max_reply_tokens=max_reply_tokens,
        seed=seed,
        api_key=api_key,
        ignore_max_tokens=ignore_max_tokens,
    )
    err.print(f"doorman sim listening on http://{host}:{port}", highlight=False)
    uvicorn.run(
        create_sim_app(options),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


@app.command("check-config")
def check_config(config: Path = typer.Argument(..., help="YAML config file to validate.")) -> None:
    """Validate a config file and its secrets and prices; print every problem; exit 2 when invalid."""
    settings = _load_or_exit(config)
    _preflight_or_exit(settings, config)
    Console().print(
        f"[green]OK[/] {config}: {len(settings.providers)} providers, {len(settings.models)} models, "
        f"{len(settings.tiers)} tiers"
    )


def _mount_subcommands() -> None:
    from doorman.approvals.cli import approvals_app
    from doorman.auth.cli import keys_app
    from doorman.db.cli import db_app
    from doorman.ledger.cli import ledger_app, usage
    from doorman.screen.redteam import redteam

    app.add_typer(keys_app, name="keys")
    app.add_typer(db_app, name="db")
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(approvals_app, name="approvals")
    app.command("usage")(usage)
    app.command("redteam")(redteam)


_mount_subcommands()


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
