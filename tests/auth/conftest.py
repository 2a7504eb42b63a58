"""Fixtures for auth tests: a migrated database, an injectable clock, services under test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from authkit import PEPPER, Clock
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.auth.authenticator import Authenticator
from doorman.auth.service import KeyService
from doorman.auth.settings import AuthSettings
from doorman.config import Settings, parse_settings
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORMAN_PEPPER", PEPPER.decode())
    monkeypatch.delenv("DOORMAN_MASTER_KEY", raising=False)
    monkeypatch.delenv("DOORMAN_DATABASE_URL", raising=False)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> Settings:
    return parse_settings(
        {"tiers": {"secure": {"require_signature": True, "key_expiry_days": 7}}}
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_async(database_url)
    eng = create_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def service(engine: AsyncEngine, settings: Settings, clock: Clock) -> KeyService:
    return KeyService(engine, settings, pepper=PEPPER, clock=clock)


@pytest.fixture
def auth_settings() -> AuthSettings:
    return AuthSettings(failures_before_lockout=5, lockout_base_s=30, failure_window_s=60)


@pytest.fixture
async def authenticator(
    engine: AsyncEngine, settings: Settings, clock: Clock, auth_settings: AuthSettings
) -> AsyncIterator[Authenticator]:
    auth = Authenticator(engine, settings, clock=clock, pepper=PEPPER, auth_settings=auth_settings)
    yield auth
    await auth.close()
