"""Issue 19 item 5: every response says what it cost and which limits it was held to.

Streams end with an SSE comment carrying the settled cost (the headers left before the cost was
known), which the official SDKs skip; errors after the limits were evaluated carry the
rate-limit headers and the cost; a stream the client abandons is recorded as ``client_closed``.
Real processes: ``doorman sim`` (slow tokens) behind ``doorman serve``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from harness import Gateway, Proc, sim_config, start_gateway, start_sim

MSG = [{"role": "user", "content": "Tell me a long story."}]


@pytest.fixture(scope="module")
def slow_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = start_sim(tmp_path_factory.mktemp("sim"), "--token-ms", "20")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def gw(slow_sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(
        slow_sim, pro={"requests_per_minute": 1000}, tiny={"requests_per_minute": 1}
    )
    gateway = start_gateway(Path(tmp_path_factory.mktemp("gw")), config)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def key(gw: Gateway) -> str:
    return str(gw.create_key("alice", "pro")["key"])


def _ledger(gw: Gateway, request_id: str) -> dict[str, Any]:
    """The ledger row of one request (the ledger writes in batches: poll for it)."""
    for _ in range(100):
        out = gw.cli("ledger", "export", "--config", str(gw.config_path))
        for line in out.stdout.splitlines():
            row = json.loads(line)
            if row["request_id"] == request_id:
                return dict(row)
        time.sleep(0.2)
    raise AssertionError(f"no ledger row for {request_id}")


def test_a_stream_ends_with_its_cost_and_the_ledger_agrees(gw: Gateway, key: str) -> None:
    body = {"model": "sim-small", "messages": MSG, "max_tokens": 8, "stream": True}
    with httpx.stream(
        "POST", f"{gw.url}/v1/chat/completions", json=body,
        headers={"authorization": f"Bearer {key}"}, timeout=30,
    ) as resp:  # fmt: skip
        assert resp.status_code == 200
        request_id = resp.headers["x-request-id"]
        assert "x-ratelimit-remaining-requests" in resp.headers
        text = resp.read().decode()
    last = text.rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith(": x-doorman-cost-usd="), text[-200:]
    cost = float(last.split("=", 1)[1])
    assert cost > 0
    assert text.index("data: [DONE]") < text.index(": x-doorman-cost-usd=")
    row = _ledger(gw, request_id)
    assert abs(row["cost_usd"] - cost) < 1e-8 and row["error_code"] is None

    # The official SDK reads the same stream to its end without tripping on the comment.
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0)
    chunks = list(client.chat.completions.create(**body))
    assert any(c.choices and c.choices[0].delta.content for c in chunks)


def test_errors_after_admission_carry_limits_and_cost(
    gw: Gateway, key: str, slow_sim: Proc
) -> None:
    httpx.post(f"{slow_sim.url}/sim/configure", json={"error_rate": 1.0}).raise_for_status()
    try:
        r = httpx.post(
            f"{gw.url}/v1/chat/completions",
            json={"model": "sim-small", "messages": MSG, "max_tokens": 8},
            headers={"authorization": f"Bearer {key}"},
            timeout=60,
        )
    finally:
        httpx.post(f"{slow_sim.url}/sim/configure", json={"error_rate": 0.0}).raise_for_status()
    assert r.status_code >= 500
    assert "x-ratelimit-remaining-requests" in r.headers and "ratelimit" in r.headers
    assert r.headers["x-doorman-cost-usd"] == "0.00000000"
    assert r.headers["x-request-id"]


def test_refusals_carry_request_id_cost_and_the_limit_that_refused(gw: Gateway) -> None:
    tiny = gw.create_key("bob", "tiny")["key"]
    body = {"model": "sim-small", "messages": MSG, "max_tokens": 4}
    auth = {"authorization": f"Bearer {tiny}"}
    first = httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers=auth, timeout=30)
    assert first.status_code == 200
    refused = httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers=auth, timeout=30)
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-doorman-cost-usd"] == "0.00000000"
    unknown = httpx.post(
        f"{gw.url}/v1/chat/completions", json=body, headers={"authorization": "Bearer dm-nope"}
    )
    assert unknown.status_code == 401
    assert unknown.headers["x-request-id"] and unknown.headers["x-doorman-cost-usd"]


def test_an_abandoned_stream_is_recorded_as_client_closed(gw: Gateway, key: str) -> None:
    body = {"model": "sim-small", "messages": MSG, "max_tokens": 400, "stream": True}
    with httpx.stream(
        "POST", f"{gw.url}/v1/chat/completions", json=body,
        headers={"authorization": f"Bearer {key}"}, timeout=30,
    ) as resp:  # fmt: skip
        request_id = resp.headers["x-request-id"]
        for _ in resp.iter_bytes():
            break  # one chunk of a ~8 s stream, then hang up
    row = _ledger(gw, request_id)
    assert row["error_code"] == "client_closed"
    assert "stream_incomplete" in (row["flags"] or "")
