"""A client that hangs up right after the last stream event still gets its request accounted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

import doorman
from doorman.auth.service import KeyService
from doorman.config import parse_settings
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.server.proxy import ProxyEndpoint


@pytest.fixture
async def key_and_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    monkeypatch.setenv("DOORMAN_PEPPER", "stream-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-stream-test-" + "x" * 24)
    settings = parse_settings({
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/d.db",
        "tiers": {"solo": {"max_concurrent": 1, "requests_per_minute": 1000}},
    })  # fmt: skip
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    key = (await KeyService(engine, settings).create(user="streamer", tier="solo")).key
    await engine.dispose()
    return key, settings


def _scope(key: str) -> dict[str, Any]:
    return {
        "type": "http", "method": "POST", "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions", "query_string": b"", "client": ("127.0.0.1", 1),
        "headers": [(b"authorization", f"Bearer {key}".encode()),
                    (b"content-type", b"application/json")],
    }  # fmt: skip


BODY = orjson.dumps({"model": "sim-small", "stream": True, "max_tokens": 4,
                     "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip


def _served(gw: Any) -> float:
    value = gw.metrics.registry.get_sample_value(
        "doorman_requests_total", {"status": "200", "model": "sim-small", "tier": "solo"}
    )
    return value or 0.0


async def test_hang_up_after_done_still_settles_counts_and_logs(
    key_and_settings: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, settings = key_and_settings
    async with doorman.Client(api_key=key, config=settings) as dm:
        gw, pipeline = dm._gateway, dm._pipeline
        assert gw is not None and pipeline is not None
        submit = gw.ledger.submit

        def slow_submit(row: Any) -> asyncio.Future[None]:  # a busy database: commit takes 300 ms
            done = submit(row)
            slow: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.add_done_callback(
                lambda f: asyncio.get_running_loop().call_later(0.3, slow.set_result, None)
            )
            return slow

        monkeypatch.setattr(gw.ledger, "submit", slow_submit)
        body = BODY
        done_sent = asyncio.Event()
        sent: list[dict[str, Any]] = []
        first = True

        async def receive() -> dict[str, Any]:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": body, "more_body": False}
            await done_sent.wait()  # hang up as soon as [DONE] went out
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if b"[DONE]" in message.get("body", b""):
                done_sent.set()

        await ProxyEndpoint("openai", lambda: (gw, pipeline))(_scope(key), receive, send)
        # The shielded bookkeeping finishes in the background, 300 ms or more after [DONE]
        # (more on a loaded machine): wait for it, up to a bound far past any real delay.
        for _ in range(200):
            if _served(gw) == 1.0 and not any(gw.limiter.local._leases.values()):
                break
            await asyncio.sleep(0.05)

        assert sent[0]["status"] == 200
        assert _served(gw) == 1.0  # metrics (and the log line after them) were not skipped
        assert not any(gw.limiter.local._leases.values())  # the concurrency slot was given back


async def test_hang_up_before_the_first_event_frees_the_slot(
    key_and_settings: tuple[str, Any],
) -> None:
    """Writes paused, then the client leaves: the relay never starts, yet the request settles."""
    key, settings = key_and_settings
    async with doorman.Client(api_key=key, config=settings) as dm:
        gw, pipeline = dm._gateway, dm._pipeline
        assert gw is not None and pipeline is not None
        first = True
        started = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": BODY, "more_body": False}
            await started.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.set()
                await asyncio.sleep(3600)  # a client that reads nothing: the write never drains

        await ProxyEndpoint("openai", lambda: (gw, pipeline))(_scope(key), receive, send)
        assert _served(gw) == 1.0  # settled, counted and logged without relaying a byte
        # max_concurrent is 1: the slot must be free again for the next request.
        reply = await dm.chat(model="sim-small", messages=[{"role": "user", "content": "x"}])
        assert reply.text


async def test_hang_up_during_upload_runs_nothing(key_and_settings: tuple[str, Any]) -> None:
    key, settings = key_and_settings
    async with doorman.Client(api_key=key, config=settings) as dm:
        gw, pipeline = dm._gateway, dm._pipeline
        assert gw is not None and pipeline is not None
        sent: list[dict[str, Any]] = []
        messages = iter([
            {"type": "http.request", "body": BODY[:20], "more_body": True},
            {"type": "http.disconnect"},
        ])  # fmt: skip

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await ProxyEndpoint("openai", lambda: (gw, pipeline))(_scope(key), receive, send)
        assert sent == []  # no answer to a client that is gone, and no request was run
        assert gw.metrics.registry.get_sample_value(
            "doorman_rejections_total", {"reason": "invalid_json"}
        ) is None


async def test_client_stream_closed_unread_frees_the_slot(key_and_settings: tuple[str, Any]) -> None:
    key, settings = key_and_settings
    msg = [{"role": "user", "content": "x"}]
    async with doorman.Client(api_key=key, config=settings) as dm:
        async with await dm.stream(model="sim-small", messages=msg, max_tokens=3):
            pass  # never iterated
        assert (await dm.chat(model="sim-small", messages=msg)).text  # max_concurrent 1: free
        stream = await dm.stream(model="sim-small", messages=msg, max_tokens=3)
        events = [e async for e in stream]  # read to the end: settles by itself
        assert events
        assert (await dm.chat(model="sim-small", messages=msg)).text
