"""Review of issue 15: when every upstream is down, does an output contract still hold?

Attack (as a skeptical robot integrator): the model's provider fails and the model has a
``degraded: {mode: message}`` policy. The degraded text ("Service is degraded") is not the JSON
the contract promises; a robot parsing the answer gets prose. And a ``stream: true`` request under
a contract is turned into a full upstream call (to be checked), so the degraded reply came back as
a JSON body to a client that asked for SSE. Found: both. Now the contract's safe answer stands in
for the degraded text (streamed when the caller asked for a stream), and a contract without a safe
answer gets the upstream error rather than text that breaks it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from harness import Gateway, Proc, serving, simulating

CONTRACT = {"json_schema": {"type": "object", "required": ["action"]},
            "allowed_values": {"action": ["stop", "go"]}}  # fmt: skip
DEGRADED = {"mode": "message", "message": "Service is degraded, try later."}
PRICE = {"input": 1.0, "output": 2.0}
MSG = [{"role": "user", "content": "next move?"}]


@pytest.fixture(scope="module")
def dead(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    yield from simulating(tmp_path_factory, "dead-sim", "--error-rate", "1.0")


@pytest.fixture(scope="module")
def gateway(dead: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = {
        "providers": {"dead": {"kind": "openai", "base_url": f"{dead.url}/v1"}},
        "models": {
            "robot": {
                "provider": "dead",
                "degraded": DEGRADED,
                "price": PRICE,
                "output": {**CONTRACT, "retry": 0, "safe_answer": {"action": "stop"}},
            },
            "robot-nosafe": {
                "provider": "dead",
                "degraded": DEGRADED,
                "price": PRICE,
                "output": {**CONTRACT, "retry": 0},
            },
        },
        "screening": {"enabled": False},
    }
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    return str(gateway.create_key("robot-owner", "enterprise")["key"])


def _post(gateway: Gateway, key: str, model: str, **kw: Any) -> httpx.Response:
    return httpx.post(f"{gateway.url}/v1/chat/completions",
                      headers={"authorization": f"Bearer {key}"},
                      json={"model": model, "messages": MSG, "max_tokens": 20, **kw}, timeout=60)  # fmt: skip


def test_a_degraded_answer_under_a_contract_is_the_safe_answer(gateway: Gateway, key: str) -> None:
    r = _post(gateway, key, "robot")
    assert r.status_code == 200 and r.headers["x-doorman-degraded"] == "true"
    assert orjson.loads(r.json()["choices"][0]["message"]["content"]) == {"action": "stop"}


def test_a_degraded_stream_under_a_contract_is_still_a_stream(gateway: Gateway, key: str) -> None:
    r = _post(gateway, key, "robot", stream=True)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream"), r.headers
    text = ""
    for line in r.text.splitlines():
        if line.startswith("data: {"):
            for choice in orjson.loads(line[6:]).get("choices") or []:
                text += (choice.get("delta") or {}).get("content") or ""
    assert orjson.loads(text) == {"action": "stop"}


def test_without_a_safe_answer_the_caller_gets_the_error_not_prose(
    gateway: Gateway, key: str
) -> None:
    r = _post(gateway, key, "robot-nosafe")
    assert r.status_code >= 500, r.text
    assert r.json()["error"]["code"] and DEGRADED["message"] not in r.text
