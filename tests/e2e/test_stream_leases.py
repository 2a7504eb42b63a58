"""A stream that outlives limits.lease_seconds keeps its concurrency slot (leases are renewed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from harness import Gateway, Proc, serving, sim_config, start_sim

MSG = [{"role": "user", "content": "Tell me a long story."}]


@pytest.fixture(scope="module")
def slow_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = start_sim(tmp_path_factory.mktemp("sim"), "--token-ms", "100")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def gateway(slow_sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(slow_sim, solo={"max_concurrent": 1, "max_output_tokens": 100})
    config["limits"] = {"lease_seconds": 1.5}
    yield from serving(tmp_path_factory, config)


@pytest.mark.slow
def test_long_stream_keeps_its_slot_past_the_lease(gateway: Gateway) -> None:
    key = gateway.create_key("solo-user", "solo")["key"]
    headers = {"authorization": f"Bearer {key}"}
    body = {"model": "sim-small", "messages": MSG, "max_tokens": 60, "stream": True}
    streamed: list[int] = []

    def stream() -> None:  # ~6 s of tokens: four lease lengths
        with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", json=body,
                          headers=headers, timeout=30) as resp:  # fmt: skip
            streamed.append(resp.status_code)
            for _ in resp.iter_bytes():
                pass

    worker = threading.Thread(target=stream)
    worker.start()
    time.sleep(4.0)  # well past lease_seconds: without renewal the slot would be reclaimed
    second = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        json={"model": "sim-small", "messages": MSG, "max_tokens": 5},
        headers=headers,
        timeout=30,
    )
    worker.join(30)
    assert streamed == [200]
    assert second.status_code == 429, second.text
    assert second.json()["error"]["code"] == "concurrency_exceeded"
    # Once the stream has ended, its slot is free again.
    third = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        json={"model": "sim-small", "messages": MSG, "max_tokens": 5},
        headers=headers,
        timeout=30,
    )
    assert third.status_code == 200, third.text
