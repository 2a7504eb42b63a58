"""`server.metrics_token_env`: /metrics behind a bearer token, failing closed when it is missing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from doorman.config import Settings, parse_settings
from doorman.server.app import create_app

TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DOORMAN_PEPPER", "metrics-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-metrics-test-" + "x" * 24)
    monkeypatch.chdir(tmp_path)
    return parse_settings(
        {
            "database_url": f"sqlite+aiosqlite:///{tmp_path}/d.db",
            "server": {"metrics_token_env": "SCRAPE_TOKEN"},
        }
    )


@pytest.fixture
def client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("SCRAPE_TOKEN", TOKEN)
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_scraper_with_the_token_gets_the_metrics(client: TestClient) -> None:
    r = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    assert "doorman_requests_total" in r.text or "doorman_requests" in r.text


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "]
)
def test_anyone_else_gets_401_and_no_metrics(client: TestClient, header: str | None) -> None:
    r = client.get("/metrics", headers={"authorization": header} if header else {})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "metrics_token_required"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "doorman_" not in r.text


def test_an_embedded_app_without_the_secret_fails_closed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCRAPE_TOKEN", raising=False)
    with TestClient(create_app(settings)) as c:
        assert c.get("/metrics", headers={"authorization": "Bearer "}).status_code == 401
        assert c.get("/healthz").status_code == 200  # the rest of the gateway is unaffected


def test_serve_refuses_to_start_without_the_secret(tmp_path: Path) -> None:
    config = tmp_path / "doorman.yaml"
    config.write_text(yaml.safe_dump({"server": {"metrics_token_env": "SCRAPE_TOKEN"}}))
    out = subprocess.run(
        [str(Path(sys.executable).parent / "doorman"), "serve", "--config", str(config), "--port", "0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 2
    assert "SCRAPE_TOKEN" in out.stderr and "metrics_token_env" in out.stderr
