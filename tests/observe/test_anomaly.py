"""Anomaly detection over a synthetic history: real spikes alert once, new users don't."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.config import TierSettings
from doorman.ledger.row import LedgerRow
from doorman.observe.alerts import AlertSink
from doorman.observe.anomaly import COST, REQUESTS, TOKENS, Anomaly, AnomalyDetector
from doorman.observe.settings import AlertSettings, AnomalySettings

START = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
TIERS = {
    "pro": TierSettings.model_validate({}),
    "risky": TierSettings.model_validate({"anomaly_action": "suspend"}),
}


def row(
    user: str, ts: datetime, tokens: int = 500, cost: float = 0.001, tier: str = "pro"
) -> LedgerRow:
    return LedgerRow(
        request_id=f"r-{ts.timestamp()}", ts=ts, user_id=user, tier=tier,
        input_tokens=tokens // 2, output_tokens=tokens - tokens // 2, cost_usd=cost,
    )  # fmt: skip


async def feed_hour(
    det: AnomalyDetector, user: str, hour: int, requests: int, **kw: object
) -> list[Anomaly]:
    base = START + timedelta(hours=hour)
    found: list[Anomaly] = []
    for i in range(requests):
        ts = base + timedelta(seconds=i * 3600 / max(requests, 1))
        found += await det.observe(row(user, ts, **kw))  # type: ignore[arg-type]
    return found


async def steady_history(
    det: AnomalyDetector, user: str, hours: int, seed: int = 1
) -> list[Anomaly]:
    """A working-hours user: 15-25 requests in active hours, silent at night."""
    rnd = random.Random(seed)
    found: list[Anomaly] = []
    for h in range(hours):
        if h % 24 < 8:
            continue
        found += await feed_hour(
            det, user, h, rnd.randint(15, 25), tokens=rnd.randint(400, 600), cost=0.001
        )
    return found


async def test_steady_history_then_spikes_alert_once_each() -> None:
    alerts = AlertSink(AlertSettings())
    det = AnomalyDetector(AnomalySettings(), alerts=alerts, tiers=TIERS)
    assert await steady_history(det, "u1", 72) == []

    spike = await feed_hour(det, "u1", 80, 150)  # ~7.5x the usual rate
    assert [a.metric for a in spike] == [REQUESTS]
    assert spike[0].severity == "warning" and spike[0].action == "alert"

    big_prompts = await feed_hour(det, "u1", 81, 20, tokens=5000)  # 10x tokens per request
    assert [a.metric for a in big_prompts] == [TOKENS]
    assert big_prompts[0].severity == "critical"  # >= 2x the multiple

    assert await feed_hour(det, "u1", 82, 20) == []  # back to normal: quiet
    kinds = [e.fields["metric"] for e in await alerts.recent()]
    assert sorted(kinds) == sorted([REQUESTS, TOKENS])


async def test_cost_per_day_spike() -> None:
    det = AnomalyDetector(AnomalySettings(), tiers=TIERS)
    assert await steady_history(det, "u2", 24 * 5) == []
    # Same traffic, but an expensive model: 5x the usual daily cost.
    found: list[Anomaly] = []
    for h in range(24 * 5 + 8, 24 * 5 + 24):
        found += await feed_hour(det, "u2", h, 20, cost=0.005)
    assert [a.metric for a in found] == [COST]


async def test_new_user_busy_first_hours_is_not_a_spike() -> None:
    det = AnomalyDetector(AnomalySettings(), tiers=TIERS)
    found: list[Anomaly] = []
    for h in range(5):
        found += await feed_hour(det, "newbie", h, 200, tokens=3000, cost=0.002)
    assert found == []
    # A light new user is not alarmed by ordinary growth during warm-up either.
    for h in range(3):
        found += await feed_hour(det, "light", h, 2 + 10 * h, tokens=100)
    assert found == []


async def test_suspend_action_calls_the_hook() -> None:
    suspended: list[tuple[str, str]] = []

    async def suspend_user(user_id: str, *, reason: str) -> None:
        suspended.append((user_id, reason))

    alerts = AlertSink(AlertSettings())
    det = AnomalyDetector(AnomalySettings(), alerts=alerts, tiers=TIERS, suspend_user=suspend_user)
    for h in range(8, 12):
        await feed_hour(det, "mallory", h, 20, tier="risky")
    found = await feed_hour(det, "mallory", 12, 200, tier="risky")
    assert [a.action for a in found] == ["suspend"]
    assert len(suspended) == 1 and suspended[0][0] == "mallory"
    assert "requests per hour" in suspended[0][1]
    (event,) = await alerts.recent()
    assert event.severity == "critical" and event.fields["action"] == "suspend"


async def test_baselines_survive_a_restart(engine: AsyncEngine) -> None:
    det = AnomalyDetector(AnomalySettings(), engine=engine, tiers=TIERS)
    await det.start()
    await steady_history(det, "u3", 72)
    learned = det.users["u3"].requests
    await det.close()  # flushes

    again = AnomalyDetector(AnomalySettings(), engine=engine, tiers=TIERS)
    await again.start()
    try:
        restored = again.users["u3"].requests
        assert (restored.value, restored.samples) == (learned.value, learned.samples)
        # Without re-learning, the restored baseline still catches a spike.
        spike = await feed_hour(again, "u3", 80, 150)
        assert [a.metric for a in spike] == [REQUESTS]
        # Saving twice (an upsert) is fine; idle users then leave memory ...
        assert await again.flush() == 1
        assert "u3" not in again.users
        # ... and come back from the table on their next request, open hour included (the
        # spike of this hour was already raised: not again).
        assert await feed_hour(again, "u3", 80, 10) == []
        assert again.users["u3"].hour_requests == 160
    finally:
        await again.close()


async def test_two_replicas_alert_once_for_one_spike(engine: AsyncEngine) -> None:
    sinks = [AlertSink(AlertSettings(), engine) for _ in range(2)]
    dets = [AnomalyDetector(AnomalySettings(), alerts=s, tiers=TIERS) for s in sinks]
    for s in sinks:
        await s.start()
    try:
        for det in dets:
            await steady_history(det, "u4", 48)
        results = [await feed_hour(det, "u4", 60, 150) for det in dets]
        assert sum(len(r) for r in results) == 2  # each replica sees it ...
        recent = await sinks[0].recent(kind="anomaly")
        assert len(recent) == 1  # ... but it is raised once
    finally:
        for s in sinks:
            await s.close()
