"""The dispatcher against scripted upstreams (real HTTP, in-process aiohttp servers).

Sleeps between tries are recorded instead of slept, so these run fast and show the waits.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from doorman.config import parse_settings
from doorman.errors import DoormanError, RateLimited, UpstreamTimeout
from doorman.upstream.deployment import Deployment, Wire, deployments_for
from doorman.upstream.dispatch import Dispatcher
from doorman.upstream.pool import UpstreamPool
from services import free_port

OK = orjson.dumps({"id": "x", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}})


@dataclass
class Step:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes = OK


class Scripted:
    """An upstream that answers from a script, then with ``default``; counts calls."""

    def __init__(self) -> None:
        self.script: deque[Step] = deque()
        self.default = Step()
        self.calls = 0
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.calls += 1
        await request.read()
        step = self.script.popleft() if self.script else self.default
        if step.delay:
            await asyncio.sleep(step.delay)
        return web.Response(
            status=step.status,
            headers=step.headers,
            body=step.body,
            content_type="application/json",
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.2)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


class Harness:
    def __init__(self, dispatcher: Dispatcher, sleeps: list[float]) -> None:
        self.dispatcher = dispatcher
        self.sleeps = sleeps

    async def send(self, model: str, *, budget_s: float = 10.0, stream: bool = False) -> Any:
        settings = self.dispatcher.settings
        deps = deployments_for(settings, model)

        def body(dep: Deployment, wire: Wire) -> dict[str, Any]:
            return {"model": dep.upstream_model, "messages": [{"role": "user", "content": "hi"}]}

        return await self.dispatcher.send(
            deps, "openai", body, stream=stream, deadline=time.monotonic() + budget_s
        )


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def upstream_a() -> AsyncIterator[Scripted]:
    s = Scripted()
    await s.start()
    yield s
    assert s.runner is not None
    await s.runner.cleanup()


@pytest.fixture
async def upstream_b() -> AsyncIterator[Scripted]:
    s = Scripted()
    await s.start()
    yield s
    assert s.runner is not None
    await s.runner.cleanup()


@pytest.fixture
async def make(upstream_a: Scripted, upstream_b: Scripted) -> AsyncIterator[MakeHarness]:
    pools: list[UpstreamPool] = []
    dispatchers: list[Dispatcher] = []

    async def build(reliability: dict[str, Any] | None = None, **provider_a: Any) -> Harness:
        settings = parse_settings(
            {
                "providers": {
                    "a": {"kind": "openai", "base_url": upstream_a.url, **provider_a},
                    "b": {"kind": "openai", "base_url": upstream_b.url},
                    "gone": {"kind": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
                },
                "models": {
                    "solo": {"provider": "a"},
                    "main": {"provider": "a", "fallbacks": ["backup"]},
                    "backup": {"provider": "b"},
                    "lost": {"provider": "gone"},
                },
                "reliability": {
                    "backoff_base_s": 0.05,
                    "backoff_max_s": 0.2,
                    **(reliability or {}),
                },
            }
        )
        pool = UpstreamPool(settings)
        sleeps: list[float] = []

        async def record(seconds: float) -> None:
            sleeps.append(seconds)

        dispatcher = Dispatcher(settings, pool, sleep=record)
        pools.append(pool)
        dispatchers.append(dispatcher)
        return Harness(dispatcher, sleeps)

    yield build
    for d in dispatchers:
        await d.close()
    for p in pools:
        await p.close()


async def test_transient_5xx_is_retried_with_jittered_backoff(
    make: MakeHarness, upstream_a: Scripted
) -> None:
    h = await make()
    upstream_a.script.extend([Step(500), Step(503)])
    reply = await h.send("solo")
    assert reply.status == 200 and upstream_a.calls == 3
    assert len(h.sleeps) == 2 and all(0 <= s <= 0.2 for s in h.sleeps)


async def test_client_errors_are_neither_retried_nor_fallen_back(
    make: MakeHarness, upstream_a: Scripted, upstream_b: Scripted
) -> None:
    h = await make()
    upstream_a.script.append(Step(400, body=b'{"error": {"message": "bad field"}}'))
    with pytest.raises(DoormanError) as err:
        await h.send("main")
    assert err.value.status_code == 400 and "bad field" in err.value.message
    assert upstream_a.calls == 1 and upstream_b.calls == 0


async def test_retry_after_is_honoured(make: MakeHarness, upstream_a: Scripted) -> None:
    h = await make()
    upstream_a.script.append(Step(429, {"retry-after": "2"}))
    reply = await h.send("solo")
    assert reply.status == 200 and upstream_a.calls == 2
    assert h.sleeps and h.sleeps[0] >= 2.0


async def test_retry_after_as_http_date(make: MakeHarness, upstream_a: Scripted) -> None:
    from email.utils import formatdate

    h = await make()
    upstream_a.script.append(Step(503, {"retry-after": formatdate(time.time() + 3, usegmt=True)}))
    await h.send("solo")
    assert 1.5 <= h.sleeps[0] <= 5.0


async def test_retry_after_beyond_the_deadline_returns_at_once_with_it(
    make: MakeHarness, upstream_a: Scripted
) -> None:
    h = await make()
    upstream_a.default = Step(429, {"retry-after": "30"})
    with pytest.raises(RateLimited) as err:
        await h.send("solo", budget_s=5)
    assert err.value.status_code == 429 and err.value.code == "upstream_rate_limited"
    assert err.value.headers["retry-after"] == "30"
    assert upstream_a.calls == 1 and not h.sleeps


async def test_attempts_are_bounded_and_the_error_is_upstream_unavailable(
    make: MakeHarness, upstream_a: Scripted
) -> None:
    h = await make({"max_attempts": 3})
    upstream_a.default = Step(500)
    with pytest.raises(DoormanError) as err:
        await h.send("solo")
    assert err.value.status_code == 503 and err.value.code == "upstream_unavailable"
    assert upstream_a.calls == 3


async def test_connection_errors_are_retried(make: MakeHarness) -> None:
    h = await make({"max_attempts": 2})
    with pytest.raises(DoormanError) as err:
        await h.send("lost")
    assert err.value.code == "upstream_unavailable"
    assert len(h.sleeps) == 1


async def test_exhausted_retries_fall_back_in_order(
    make: MakeHarness, upstream_a: Scripted, upstream_b: Scripted
) -> None:
    h = await make({"max_attempts": 2})
    upstream_a.default = Step(502)
    reply = await h.send("main")
    assert reply.deployment.model == "backup"
    assert upstream_a.calls == 2 and upstream_b.calls == 1
    fallbacks = h.dispatcher.telemetry.fallbacks.labels("main", "backup")._value.get()
    assert fallbacks == 1


async def test_open_breaker_skips_the_deployment_without_calling_it(
    make: MakeHarness, upstream_a: Scripted, upstream_b: Scripted
) -> None:
    h = await make({"max_attempts": 2, "breaker": {"consecutive_failures": 4, "cooldown_s": 60}})
    upstream_a.default = Step(500)
    for _ in range(2):
        with pytest.raises(DoormanError):
            await h.send("solo")
    assert upstream_a.calls == 4
    assert h.dispatcher.breakers.get("a/solo").state == "open"
    with pytest.raises(DoormanError) as err:
        await h.send("solo")
    assert err.value.status_code == 503 and err.value.code == "upstream_unavailable"
    assert int(err.value.headers["retry-after"]) > 50
    reply = await h.send("main")  # same provider, another deployment: its own breaker
    assert reply.deployment.model in ("main", "backup")
    assert upstream_a.calls == 6  # 4 + main's two tries, nothing for the open "solo"


async def test_deadline_holds_against_a_stalled_upstream(
    make: MakeHarness, upstream_a: Scripted
) -> None:
    h = await make()
    upstream_a.default = Step(delay=30)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as err:
        await h.send("solo", budget_s=0.5)
    assert err.value.status_code == 504
    assert time.monotonic() - started < 5  # generous: it must not hang


async def test_stalled_primary_falls_back_while_time_remains(
    make: MakeHarness, upstream_a: Scripted, upstream_b: Scripted
) -> None:
    h = await make({"max_attempts": 1}, total_timeout_s=0.3)
    upstream_a.default = Step(delay=30)
    reply = await h.send("main", budget_s=5)
    assert reply.deployment.model == "backup"


async def test_rate_limit_headers_pace_the_next_request(
    make: MakeHarness, upstream_a: Scripted
) -> None:
    h = await make()
    upstream_a.script.append(
        Step(headers={
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "2s",
        })
    )  # fmt: skip
    await h.send("solo")
    assert not h.sleeps
    await h.send("solo")
    assert h.sleeps and 1.5 < h.sleeps[0] <= 2.0  # waited for the reset instead of meeting a 429


async def test_spent_quota_past_the_pacing_limit_goes_to_the_fallback(
    make: MakeHarness, upstream_a: Scripted, upstream_b: Scripted
) -> None:
    h = await make({"pacing": {"max_delay_s": 1}})
    upstream_a.script.append(
        Step(headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"})
    )
    await h.send("main")
    reply = await h.send("main")
    assert reply.deployment.model == "backup" and upstream_a.calls == 1


async def test_spent_quota_without_fallback_is_a_429_with_the_reset(
    make: MakeHarness, upstream_a: Scripted
) -> None:
    h = await make({"pacing": {"max_delay_s": 1}})
    upstream_a.script.append(
        Step(headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"})
    )
    await h.send("solo")
    with pytest.raises(RateLimited) as err:
        await h.send("solo")
    assert int(err.value.headers["retry-after"]) >= 350 and upstream_a.calls == 1


async def test_concurrency_cap_queue_full_is_upstream_busy_and_others_unaffected(
    make: MakeHarness, upstream_a: Scripted, upstream_b: Scripted
) -> None:
    h = await make({"queue": {"max_waiters": 0}}, max_concurrent=1)
    upstream_a.default = Step(delay=0.5)
    first = asyncio.create_task(h.send("solo"))
    await asyncio.sleep(0.1)
    with pytest.raises(DoormanError) as err:
        await h.send("solo")
    assert err.value.status_code == 503 and err.value.code == "upstream_busy"
    reply = await h.send("main")  # a's slot is taken: main falls back to b at once
    assert reply.deployment.model == "backup"
    assert (await first).status == 200
    assert h.dispatcher.gate("a").active == 0


async def test_stream_holds_its_slot_until_released(
    make: MakeHarness, upstream_a: Scripted
) -> None:
    h = await make({}, max_concurrent=2)
    upstream_a.script.append(Step(503))
    reply = await h.send("solo", stream=True)
    assert reply.response is not None and len(h.sleeps) == 1  # retried before any byte was sent
    assert h.dispatcher.gate("a").active == 1
    reply.release()
    reply.release()
    assert h.dispatcher.gate("a").active == 0
