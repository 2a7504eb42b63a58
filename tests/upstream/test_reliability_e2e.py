"""End to end: `doorman sim` processes behind a `doorman serve` process, over real HTTP.

One gateway serves five models on five simulated providers: flaky, always failing (with and
without a fallback), healthy, and stalled. Behaviour is asserted from what a client sees and
from what each sim says it received (``/sim/stats``) — never from wall-clock time.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness import Gateway, Proc, serving, start_sim

PRICE = {"input": 1.0, "output": 2.0}
MSG = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Proc]]:
    work = tmp_path_factory.mktemp("sims")
    procs = {
        "flaky": start_sim(work, "--error-rate", "0.2", "--rate-limit-rate", "0.05",
                           "--retry-after", "1", "--seed", "7"),
        "dead": start_sim(work, "--error-rate", "1.0"),
        "dead2": start_sim(work, "--error-rate", "1.0"),
        "healthy": start_sim(work),
        "stalled": start_sim(work, "--stall-rate", "1.0"),
    }  # fmt: skip
    yield procs
    procs.pop("stalled").stop(signal.SIGKILL)  # its handlers sleep for an hour
    for proc in procs.values():
        proc.stop()


@pytest.fixture(scope="module")
def gateway(sims: dict[str, Proc], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    providers = {name: {"kind": "openai", "base_url": f"{p.url}/v1"} for name, p in sims.items()}
    models: dict[str, Any] = {
        "flaky-model": {"provider": "flaky"},
        "dead-with-fallback": {"provider": "dead", "fallbacks": ["healthy-model"]},
        "dead-degraded": {"provider": "dead", "degraded": {"mode": "message", "message": "Safe."}},
        "dead-alone": {"provider": "dead2"},
        "healthy-model": {"provider": "healthy"},
        "stalled-model": {"provider": "stalled"},
        "stalled-strict": {"provider": "stalled", "degraded": {"mode": "error"}},
    }
    for m in models.values():
        m["price"] = PRICE
    config = {
        "server": {"request_timeout_s": 5},
        "providers": providers,
        "models": models,
        "reliability": {"breaker": {"cooldown_s": 2}},
        "screening": {"enabled": False},  # not under test here
    }
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    return str(gateway.create_key("rel", "enterprise")["key"])


def chat(gateway: Gateway, key: str, model: str, **kw: Any) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": model, "messages": MSG, "max_tokens": 5, **kw},
        timeout=60,
    )


def sim_calls(sim: Proc, model: str | None = None) -> int:
    stats = httpx.get(f"{sim.url}/sim/stats").json()
    return int(stats["by_model"].get(model, 0) if model else stats["requests"])


@pytest.mark.slow
async def test_flaky_upstream_nearly_always_succeeds_with_few_attempts(
    gateway: Gateway, key: str, sims: dict[str, Proc]
) -> None:
    """20% 500/503 and 5% 429 (retry-after 1 s): 200 requests at concurrency 20."""
    sem = asyncio.Semaphore(20)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:

        async def one() -> int:
            async with sem:
                r = await client.post(
                    "/v1/chat/completions",
                    headers={"authorization": f"Bearer {key}"},
                    json={"model": "flaky-model", "messages": MSG, "max_tokens": 5},
                )
                return r.status_code

        statuses = await asyncio.gather(*(one() for _ in range(200)))
    ok = statuses.count(200)
    attempts = sim_calls(sims["flaky"])
    assert ok >= 198, statuses
    assert attempts / 200 <= 1.5


def test_failing_upstream_with_healthy_fallback_is_served_by_the_fallback(
    gateway: Gateway, key: str, sims: dict[str, Proc]
) -> None:
    for _ in range(5):
        r = chat(gateway, key, "dead-with-fallback")
        assert r.status_code == 200
        assert r.headers["x-doorman-served-by"] == "healthy-model"
        assert "fallback" in r.headers["x-doorman-flags"]
    assert sim_calls(sims["healthy"], "healthy-model") == 5


def test_breaker_opens_stops_calls_and_recovers_after_healing(
    gateway: Gateway, key: str, sims: dict[str, Proc]
) -> None:
    dead = sims["dead2"]
    # Default breaker: 10 consecutive failures; each request tries 5 times.
    for _ in range(3):
        r = chat(gateway, key, "dead-alone")
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "upstream_unavailable"
    opened_at = sim_calls(dead)
    assert opened_at <= 10
    for _ in range(30):
        r = chat(gateway, key, "dead-alone")
        assert r.status_code == 503 and r.json()["error"]["code"] == "upstream_unavailable"
        assert int(r.headers["retry-after"]) >= 1
    # Open: nothing reaches the dead upstream but, at most, one half-open probe per cool-down.
    assert sim_calls(dead) - opened_at <= 2
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert re.search(r'doorman_breaker_state\{deployment="dead2/dead-alone"\} 2\.0', metrics)
    assert (
        'doorman_upstream_skips_total{deployment="dead2/dead-alone",reason="breaker_open"}'
        in metrics
    )
    assert "breaker_opened" in gateway.proc.log()

    httpx.post(f"{dead.url}/sim/configure", json={"error_rate": 0.0})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the cool-down is 2 s; poll until a probe succeeds
        r = chat(gateway, key, "dead-alone")
        if r.status_code == 200:
            break
        time.sleep(0.25)
    assert r.status_code == 200 and r.headers["x-doorman-served-by"] == "dead-alone"
    assert all(chat(gateway, key, "dead-alone").status_code == 200 for _ in range(3))
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert re.search(r'doorman_breaker_state\{deployment="dead2/dead-alone"\} 0\.0', metrics)


def test_degraded_policy_answers_safely(gateway: Gateway, key: str) -> None:
    r = chat(gateway, key, "dead-degraded")
    assert r.status_code == 200
    assert r.headers["x-doorman-degraded"] == "true"
    assert r.json()["choices"][0]["message"]["content"] == "Safe."
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert re.search(
        r'doorman_degraded_answers_total\{cause="upstream_unavailable",model="dead-degraded"\} 1\.0',
        metrics,
    )


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_stalled_upstream_hits_the_deadline_not_a_hang(gateway: Gateway, key: str) -> None:
    r = chat(gateway, key, "stalled-model")
    assert r.status_code == 504
    assert r.json()["error"]["code"] == "upstream_timeout"


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_degraded_error_policy_turns_any_outage_into_503_unavailable(
    gateway: Gateway, key: str
) -> None:
    r = chat(gateway, key, "stalled-strict")  # a timeout underneath, as above
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "upstream_unavailable"


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_stalled_stream_hits_the_deadline_not_a_hang(gateway: Gateway, key: str) -> None:
    r = chat(gateway, key, "stalled-model", stream=True)
    assert r.status_code == 504
