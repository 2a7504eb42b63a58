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


async def test_hang_up_after_done_still_settles_counts_and_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOORMAN_PEPPER", "stream-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-stream-test-" + "x" * 24)
    settings = parse_settings({"database_url": f"sqlite+aiosqlite:///{tmp_path}/d.db"})
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    key = (await KeyService(engine, settings).create(user="streamer", tier="pro")).key
    await engine.dispose()

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
        body = orjson.dumps({"model": "sim-small", "stream": True, "max_tokens": 4,
                             "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
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

        scope = {
            "type": "http", "method": "POST", "path": "/v1/chat/completions",
            "raw_path": b"/v1/chat/completions", "query_string": b"", "client": ("127.0.0.1", 1),
            "headers": [(b"authorization", f"Bearer {key}".encode()),
                        (b"content-type", b"application/json")],
        }  # fmt: skip
        await ProxyEndpoint("openai", lambda: (gw, pipeline))(scope, receive, send)
        await asyncio.sleep(0.5)  # the shielded bookkeeping finishes in the background

        assert sent[0]["status"] == 200
        counted = gw.metrics.registry.get_sample_value(
            "doorman_requests_total", {"status": "200", "model": "sim-small", "tier": "pro"}
        )
        assert counted == 1.0  # metrics (and the log line after them) were not skipped
        assert not any(gw.limiter.local._leases.values())  # the concurrency slot was given back
