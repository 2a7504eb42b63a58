"""Builds the app inside each uvicorn worker from the settings the CLI validated."""

from __future__ import annotations

import os

from starlette.types import ASGIApp

from doorman.config import Settings, parse_settings

SETTINGS_ENV = "DOORMAN_SETTINGS_JSON"


def export_settings(settings: Settings) -> None:
    """Hand validated settings to worker processes (no secrets live in Settings)."""
    os.environ[SETTINGS_ENV] = settings.model_dump_json()


def app_from_env() -> ASGIApp:
    from doorman.observe.logging import configure_logging
    from doorman.server.app import create_app

    raw = os.environ.get(SETTINGS_ENV)
    settings = Settings.model_validate_json(raw) if raw else parse_settings({})
    configure_logging(settings.server.log_level)
    return create_app(settings, freeze_heap=True)
