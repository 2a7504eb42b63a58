"""Counters kept at module level (auth failures, unconfirmed Redis settlements) reach /metrics.

They live in prometheus_client's default registry, not the gateway's own: the scrape must show
them, once each, counting each event once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from doorman.config import parse_settings
from doorman.limits.redis_store import settle_failed
from doorman.server.app import create_app


def _sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_auth_failures_and_lost_settlements_are_scraped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOORMAN_PEPPER", "metrics-wide-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-metrics-wide-" + "x" * 24)
    monkeypatch.chdir(tmp_path)
    settings = parse_settings({"database_url": f"sqlite+aiosqlite:///{tmp_path}/d.db"})
    with TestClient(create_app(settings)) as client:
        before = client.get("/metrics").text
        bad = client.post(
            "/v1/chat/completions",
            headers={"authorization": "Bearer dm-not-a-real-key-0123456789abcdef"},
            json={"model": "sim-small", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert bad.status_code == 401
        settle_failed("connection dropped before the reply", lease="lease-test")
        after = client.get("/metrics").text

    auth = "doorman_auth_failures_total"
    assert any(line.startswith(auth + "{") for line in after.splitlines())
    total_before = sum(float(v) for v in re.findall(rf"^{auth}{{[^}}]*}} (\S+)$", before, re.M))
    total_after = sum(float(v) for v in re.findall(rf"^{auth}{{[^}}]*}} (\S+)$", after, re.M))
    assert total_after == total_before + 1
    lost = "doorman_limits_settle_failures_total"
    assert _sample(after, lost) == _sample(before, lost) + 1
    # Each family is rendered once (a scraper rejects duplicates).
    assert after.count(f"# TYPE {lost} counter") == 1
