"""Spend reports, budgets and totals computed from the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.config import TierSettings
from doorman.ledger import reports
from doorman.ledger.row import LedgerRow, task_label

sys.path.insert(0, str(Path(__file__).parent))
from seed import NOW, seed


def by_group(rows: list[reports.SpendRow]) -> dict[str | None, reports.SpendRow]:
    return {r.group: r for r in rows}


async def test_spend_by_each_grouping(engine: AsyncEngine) -> None:
    await seed(engine)
    users = by_group(await reports.spend(engine, by="user", days=7, now=NOW))
    assert set(users) == {"alice", "bob"}  # carol is 40 days old
    assert users["alice"].requests == 5 and users["alice"].errors == 1
    assert users["alice"].cost_usd == pytest.approx(0.50)
    assert users["alice"].cache_hits == 1
    assert users["bob"].cost_usd == pytest.approx(0.60)

    ordered = await reports.spend(engine, by="user", days=7, now=NOW)
    assert [r.group for r in ordered] == ["bob", "alice"]  # most expensive first

    models = by_group(await reports.spend(engine, by="model", days=7, now=NOW))
    # A refused request without a served model falls back to the requested name.
    assert set(models) == {"sim-small", "sim-large", "gpt-x"}
    tasks = by_group(await reports.spend(engine, by="task", days=7, now=NOW))
    assert tasks["summarize"].requests == 2 and tasks["chat"].requests == 4
    keys = by_group(await reports.spend(engine, by="key", days=1, now=NOW))
    assert keys["key-alice"].requests == 3 and keys["key-bob"].requests == 1

    only_alice = await reports.spend(engine, by="model", days=7, user="alice", now=NOW)
    assert sum(r.requests for r in only_alice) == 5


async def test_spend_by_day_uses_local_calendar_days(engine: AsyncEngine) -> None:
    zone = ZoneInfo("Asia/Kathmandu")  # UTC+5:45, a quarter-hour zone
    late = datetime(2026, 5, 13, 18, 20, tzinfo=UTC)  # 00:05 on the 14th in Kathmandu
    early = datetime(2026, 5, 13, 18, 10, tzinfo=UTC)  # 23:55 on the 13th in Kathmandu
    await seed(engine, [
        LedgerRow(request_id="a", ts=early, user_id="u", cost_usd=1.0),
        LedgerRow(request_id="b", ts=late, user_id="u", cost_usd=2.0),
        LedgerRow(request_id="c", ts=late + timedelta(minutes=1), user_id="u", cost_usd=4.0),
    ])  # fmt: skip
    days = await reports.spend(engine, by="day", days=3, zone=zone, now=NOW)
    assert [(d.group, d.cost_usd) for d in days] == [("2026-05-13", 1.0), ("2026-05-14", 6.0)]


async def test_budget_remaining_per_user(engine: AsyncEngine) -> None:
    await seed(engine)
    pro = TierSettings.model_validate({"daily_budget_usd": 1.0, "monthly_budget_usd": 2.0})
    tiers = {"pro": pro}
    status = {b.user_id: b for b in await reports.budgets(engine, tiers, now=NOW)}
    assert set(status) == {"alice", "bob"}
    alice = status["alice"]
    assert alice.spent_today_usd == pytest.approx(0.10)
    assert alice.spent_month_usd == pytest.approx(0.50)
    assert alice.daily_remaining_usd == pytest.approx(0.90)
    assert alice.monthly_remaining_usd == pytest.approx(1.50)
    assert await reports.user_spend(engine, "bob", now=NOW) == pytest.approx((0.60, 0.60))


async def test_totals_and_cache_hit_rate(engine: AsyncEngine) -> None:
    await seed(engine)
    t = await reports.totals(engine, days=1, now=NOW)
    assert t.requests == 4 and t.errors == 1 and t.cache_hits == 1
    assert t.cache_hit_rate == pytest.approx(0.25)
    assert t.cost_usd == pytest.approx(0.70)
    assert t.latency_ms_p95 == 100.0 and t.ttft_ms_p50 == 80.0


async def test_export_and_prune(engine: AsyncEngine) -> None:
    rows = await seed(engine)
    exported = [r async for r in reports.iter_rows(engine)]
    assert [r["request_id"] for r in exported] == [
        r.request_id for r in sorted(rows, key=lambda r: r.ts)
    ]
    assert exported[0]["ts"].tzinfo is not None
    deleted = await reports.prune(engine, older_than=timedelta(days=30), now=NOW)
    assert deleted == 1
    assert len([r async for r in reports.iter_rows(engine)]) == 6


def test_parse_age() -> None:
    assert reports.parse_age("90d") == timedelta(days=90)
    assert reports.parse_age("12h") == timedelta(hours=12)
    assert reports.parse_age("2w") == timedelta(days=14)
    assert reports.parse_age("30min") == timedelta(minutes=30)
    for bad in ("", "abc", "-3d", "0d", "3m", "10s", "90"):
        with pytest.raises(ValueError):
            reports.parse_age(bad)


def test_task_label_from_header_or_metadata() -> None:
    assert task_label({"x-doorman-task": " triage "}, {"task": "x"}) == "triage"
    assert task_label({}, {"task": "summarize"}) == "summarize"
    assert task_label(None, {"task": 42}) is None
    assert task_label({"x-doorman-task": "a" * 500}) == "a" * 64


def test_window_start_is_local_midnight() -> None:
    zone = ZoneInfo("America/New_York")
    assert reports.window_start(1, zone, NOW) == datetime(2026, 5, 14, 4, 0, tzinfo=UTC)
    assert reports.window_start(3, UTC, NOW) == datetime(2026, 5, 12, tzinfo=UTC)
