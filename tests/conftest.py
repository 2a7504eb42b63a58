"""Shared fixtures: real Redis / PostgreSQL servers (see tests/services.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from services import (
    create_database,
    drop_created_databases,
    drop_database,
    postgres_server,
    redis_server,
)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis server for this test session (flushed before each use by users)."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_base_url() -> Iterator[str]:
    with postgres_server() as url:
        try:
            yield url
        finally:
            drop_created_databases()  # any a test made by hand with create_database


@pytest.fixture
def postgres_url(postgres_base_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped after it."""
    url = create_database(postgres_base_url)
    yield url
    drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Runs a test against both databases: a fresh SQLite file and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/doorman.db"
    return str(request.getfixturevalue("postgres_url"))
