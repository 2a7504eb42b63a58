"""`doorman serve` freezes its start-up heap; an app embedded in another process does not.

Under load, full collections re-scanning the tokenizer, the screening model and the config cost
the served gateway ~15% of its CPU and most of its p99 (bench/RESULTS.md). Freezing is right for a
process that only serves Doorman and wrong for someone else's process (a test suite, an app
mounting the gateway), whose collector is not ours to tune.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from doorman.config import parse_settings
from doorman.server.app import create_app
from doorman.server.factory import SETTINGS_ENV, app_from_env


@pytest.fixture
def unfrozen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DOORMAN_PEPPER", "heap-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-heap-test-" + "x" * 24)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_served_app_freezes_what_start_up_built(
    unfrozen: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = parse_settings({"database_url": f"sqlite+aiosqlite:///{tmp_path}/d.db"})
    monkeypatch.setenv(SETTINGS_ENV, settings.model_dump_json())  # what `serve` hands its workers
    with TestClient(app_from_env()) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 10_000  # the tokenizer, model and config at least


def test_an_embedded_app_leaves_the_host_collector_alone(unfrozen: None, tmp_path: Path) -> None:
    settings = parse_settings({"database_url": f"sqlite+aiosqlite:///{tmp_path}/d.db"})
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == 0
