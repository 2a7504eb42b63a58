"""``GET /v1/approvals/{id}`` is held to the caller's limits like any other request.

Found: the approvals route authenticated the caller and nothing more. A caller could poll (or
probe ids) without end, far past its tier's ``requests_per_minute``, and open as many
long-polls (``?wait=N``, each holding a connection and re-reading the database every second)
as it liked. Now every poll is one request of the caller's own request-rate limits (like a cache
hit: no tokens, no dollars, no provider quota), and one user may hold at most
``approvals.max_waits_per_user`` long-polls at once; past either, a 429 with ``retry-after`` in
the asking SDK's error format.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from harness import Gateway, serving

TOOL = {"type": "function", "function": {"name": "wire_funds", "parameters": {
    "type": "object", "properties": {"memo": {"type": "string"}}}}}  # fmt: skip
UNKNOWN = "apr_" + "x" * 32


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = {
        "screening": {"enabled": False},
        "approvals": {"max_waits_per_user": 1, "max_wait_seconds": 30},
        "tiers": {
            "slow": {"requests_per_minute": 4, "tools": {"require_approval": ["wire_*"]}},
            "agents": {"requests_per_minute": 1000, "tools": {"require_approval": ["wire_*"]}},
        },
    }
    yield from serving(tmp_path_factory, config)


def _poll(gateway: Gateway, key: str, approval_id: str, *, anthropic: bool = False,
          **params: Any) -> httpx.Response:  # fmt: skip
    headers = ({"x-api-key": key, "anthropic-version": "2023-06-01"} if anthropic
               else {"authorization": f"Bearer {key}"})  # fmt: skip
    return httpx.get(f"{gateway.url}/v1/approvals/{approval_id}", headers=headers,
                     params=params, timeout=60)  # fmt: skip


def test_polls_count_against_the_tiers_request_rate(gateway: Gateway) -> None:
    key = str(gateway.create_key("poller", "slow")["key"])
    statuses = [_poll(gateway, key, UNKNOWN).status_code for _ in range(4)]
    assert statuses == [404] * 4  # probing ids: each one a request of the caller's
    refused = _poll(gateway, key, UNKNOWN)
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["type"] == "rate_limit_error"  # OpenAI's shape
    claude = _poll(gateway, key, UNKNOWN, anthropic=True)  # the asking SDK's own error shape
    assert claude.status_code == 429
    assert claude.json()["type"] == "error" and claude.json()["error"]["type"] == "rate_limit_error"
    # The same limit as every other request of this user: a chat request is refused too.
    chat = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=30,
                      headers={"authorization": f"Bearer {key}"},
                      json={"model": "sim-small", "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    assert chat.status_code == 429


def test_a_user_holds_at_most_the_configured_long_polls(gateway: Gateway) -> None:
    key = str(gateway.create_key("waiter", "agents")["key"])
    reply = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=30,
                       headers={"authorization": f"Bearer {key}"},
                       json={"model": "sim-small", "tools": [TOOL],
                             "messages": [{"role": "user", "content": "memo pay rent"}]})  # fmt: skip
    approval_id = reply.headers["x-doorman-approval"]
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_poll, gateway, key, approval_id, wait=8)
        time.sleep(3)  # ordering only (the first wait is open), never asserted as a duration
        second = _poll(gateway, key, approval_id, wait=8)
        assert second.status_code == 429, second.text
        assert second.json()["error"]["code"] == "too_many_waits"
        assert "retry-after" in second.headers
        assert first.result().json()["status"] == "pending"  # the open wait ran its course
    # Polls that do not wait are not capped; once the wait ended, a new one may open.
    assert _poll(gateway, key, approval_id).json()["status"] == "pending"
    assert _poll(gateway, key, approval_id, wait=1).json()["status"] == "pending"
