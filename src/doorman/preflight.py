"""Checks of a valid configuration against its environment, before anything is served.

:class:`doorman.config.Settings` validates the file on its own; these checks need the world
around it: every secret the file names must be readable (environment, ``NAME_FILE`` or
``.env``), and every model must have a price — a model without one would cost $0 and no
budget would hold for it. ``doorman check-config`` prints each problem by path and exits 2;
``doorman serve`` refuses to start. The built-in simulator needs no key.
"""

from __future__ import annotations

from doorman.config import Settings
from doorman.cost.prices import price_for
from doorman.secrets import read_secret


def _missing(path: str, name: str | None, why: str) -> str | None:
    if not name or read_secret(name):
        return None
    return f"{path}: the secret {name} is not set (environment, {name}_FILE or .env); {why}"


def missing_secrets(settings: Settings) -> list[str]:
    """Every secret the config names (provider keys, metrics token, webhook key) that is unset."""
    found = [
        _missing(
            f"providers.{name}.api_key_env",
            provider.api_key_env,
            "every request to this provider would be refused",
        )
        for name, provider in settings.providers.items()
    ]
    found.append(
        _missing(
            "server.metrics_token_env",
            settings.server.metrics_token_env,
            "/metrics would refuse every scrape",
        )
    )
    found.append(
        _missing(
            "alerts.webhook_secret_env",
            settings.alerts.webhook_secret_env,
            "alert webhooks could not be signed",
        )
    )
    return [p for p in found if p is not None]


def unpriced_models(settings: Settings) -> list[str]:
    """Models with neither a configured price, a built-in one, nor an explicit ``price: free``."""
    problems = []
    for name, model in settings.models.items():
        if price_for(name, model) is None:
            upstream = model.upstream_model or name
            problems.append(
                f"models.{name}.price: no price is known for '{upstream}', so its calls would "
                "cost $0 and no budget would hold; set price: {input: ..., output: ...} "
                "(USD per 1M tokens) or price: free"
            )
    return problems


def preflight(settings: Settings) -> list[str]:
    """Every problem that must stop ``serve``, as 'path: message' lines (empty when ready)."""
    return missing_secrets(settings) + unpriced_models(settings)
