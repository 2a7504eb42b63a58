"""Budget alerts fire once per (user, threshold, period); webhooks are signed and retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.config import TierSettings
from doorman.observe.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, AlertSink, verify_signature
from doorman.observe.settings import AlertSettings

TIER = TierSettings.model_validate({"daily_budget_usd": 1.0, "monthly_budget_usd": 10.0})
NOW = datetime(2026, 5, 14, 12, 0, tzinfo=UTC)


def thresholds(events: list[Any], period: str) -> list[float]:
    return sorted(e.fields["threshold"] for e in events if e.fields["period"] == period)


async def test_each_threshold_fires_exactly_once(engine: AsyncEngine) -> None:
    sink = AlertSink(AlertSettings(), engine)
    await sink.start()
    fired = []
    try:
        for spent in (0.1, 0.3, 0.55, 0.6, 0.79, 0.85, 0.9, 1.2, 1.5, 3.0):
            fired += await sink.check_budget("alice", "pro", spent, spent, TIER, now=NOW)
    finally:
        await sink.close()
    assert thresholds(fired, "daily") == [0.5, 0.8, 1.0]
    assert thresholds(fired, "monthly") == []  # 3.0 of 10.0 is under 50%
    assert [e.severity for e in sorted(fired, key=lambda e: e.fields["threshold"])] == [
        "info", "warning", "critical",
    ]  # fmt: skip
    assert all(e.user_id == "alice" for e in fired)


async def test_jump_over_several_thresholds_fires_each_once(engine: AsyncEngine) -> None:
    sink = AlertSink(AlertSettings(), engine)
    await sink.start()
    try:
        fired = await sink.check_budget("bob", "pro", 0.2, 9.0, TIER, now=NOW)
        again = await sink.check_budget("bob", "pro", 0.2, 9.5, TIER, now=NOW)
    finally:
        await sink.close()
    assert thresholds(fired, "monthly") == [0.5, 0.8]
    assert again == []


async def test_two_replicas_sharing_a_database_fire_once(engine: AsyncEngine) -> None:
    a, b = AlertSink(AlertSettings(), engine), AlertSink(AlertSettings(), engine)
    await a.start()
    await b.start()
    try:
        results = await asyncio.gather(
            *(
                sink.check_budget("carol", "pro", spent, spent, TIER, now=NOW)
                for spent in (0.6, 0.9, 1.1)
                for sink in (a, b)
            )
        )
        # A restarted replica (fresh memory) does not fire them again either.
        c = AlertSink(AlertSettings(), engine)
        await c.start()
        results.append(await c.check_budget("carol", "pro", 1.2, 1.2, TIER, now=NOW))
        await c.close()
        fired = [e for r in results for e in r]
        assert thresholds(fired, "daily") == [0.5, 0.8, 1.0]
        # The next local day is a new period: the daily thresholds fire again.
        tomorrow = NOW + timedelta(days=1)
        fired_next = await a.check_budget("carol", "pro", 0.6, 1.8, TIER, now=tomorrow)
        assert thresholds(fired_next, "daily") == [0.5]
        # Both replicas see every alert in the shared table (/admin/alerts).
        await asyncio.sleep(0)
        recent = await b.recent(limit=50, kind="budget")
        assert len(recent) == 4
    finally:
        await a.close()
        await b.close()


async def test_day_boundary_follows_the_configured_zone(engine: AsyncEngine) -> None:
    from zoneinfo import ZoneInfo

    sink = AlertSink(AlertSettings(), engine, zone=ZoneInfo("America/New_York"))
    await sink.start()
    try:
        # 02:00 UTC on the 15th is still the 14th in New York: same daily period as NOW.
        first = await sink.check_budget("dan", "pro", 0.6, 0.6, TIER, now=NOW)
        same_day = await sink.check_budget(
            "dan", "pro", 0.6, 0.6, TIER, now=datetime(2026, 5, 15, 2, 0, tzinfo=UTC)
        )
    finally:
        await sink.close()
    assert first[0].fields["period_id"] == "2026-05-14"
    assert same_day == []


class Receiver:
    """A tiny webhook receiver: fails the first ``failures`` deliveries with 503."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: list[tuple[bytes, dict[str, str]]] = []
        self.delivered = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts.append((body, dict(request.headers)))
        await self.release.wait()
        if len(self.attempts) <= self.failures:
            return web.Response(status=503)
        self.delivered.set()
        return web.Response(text="ok")


@pytest.fixture
async def receiver_url() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver(failures=2)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield receiver, f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_webhook_is_signed_retried_and_never_blocks(
    receiver_url: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, url = receiver_url
    monkeypatch.setenv("TEST_ALERT_SECRET", "s3cret")
    settings = AlertSettings(
        webhook_url=url,
        webhook_secret_env="TEST_ALERT_SECRET",
        webhook_backoff_initial_s=0.01,
        webhook_backoff_max_s=0.05,
    )
    sink = AlertSink(settings)
    await sink.start()
    receiver.release.clear()  # the receiver hangs: emit must still return
    try:
        event = await sink.emit("breaker_open", "warning", "breaker opened", deployment="sim")
        assert event is not None and not receiver.delivered.is_set()
        receiver.release.set()
        await asyncio.wait_for(receiver.delivered.wait(), 10)
    finally:
        await sink.close()
    assert len(receiver.attempts) == 3  # two 503s, then delivered
    for body, headers in receiver.attempts:
        stamp = headers[TIMESTAMP_HEADER]
        assert verify_signature("s3cret", body, headers[SIGNATURE_HEADER], stamp)
        assert not verify_signature("wrong", body, headers[SIGNATURE_HEADER], stamp)
        # replaying the delivery with a fresh timestamp, or much later, fails
        assert not verify_signature("s3cret", body, headers[SIGNATURE_HEADER], str(int(stamp) + 1))
        assert not verify_signature(
            "s3cret", body, headers[SIGNATURE_HEADER], stamp, now=int(stamp) + 3600
        )
    payload = orjson.loads(receiver.attempts[-1][0])
    assert "breaker opened" in payload["text"]
    assert payload["kind"] == "breaker_open" and payload["fields"] == {"deployment": "sim"}
    assert sink.webhook_failures == 0


async def test_webhook_gives_up_after_max_attempts(
    receiver_url: tuple[Receiver, str],
) -> None:
    receiver, url = receiver_url
    receiver.failures = 100
    settings = AlertSettings(
        webhook_url=url, webhook_max_attempts=3, webhook_backoff_initial_s=0.01,
        webhook_backoff_max_s=0.02,
    )  # fmt: skip
    sink = AlertSink(settings)
    await sink.start()
    await sink.emit("test", "info")
    await sink.close()
    assert len(receiver.attempts) == 3
    assert SIGNATURE_HEADER not in receiver.attempts[0][1]  # no secret configured: unsigned
    assert sink.webhook_failures == 1
