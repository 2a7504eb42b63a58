"""Rolling-window series, summaries, screening and provider activity from the ledger
(SQLite and PostgreSQL: the bucket SQL differs per dialect)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.ledger import LedgerRow
from doorman.ledger.insights import provider_activity, screening, series, summary

sys.path.insert(0, str(Path(__file__).parent))
from seed import NOW, history, seed


def extra_rows() -> list[LedgerRow]:
    """A blocked injection, a flagged PII request served by a fallback, a plain fallback."""
    base = dict(key_id="key-x", tier="free", requested_model="gpt-x", provider="sim")
    return [
        LedgerRow(request_id="req-block", ts=NOW - timedelta(minutes=10), user_id="eve",
                  status=400, error_code="prompt_injection_detected", flags="prompt_injection",
                  **base),  # type: ignore[arg-type]
        LedgerRow(request_id="req-pii", ts=NOW - timedelta(minutes=20), user_id="eve",
                  status=200, served_model="sim-small", flags="pii_detected,fallback",
                  cost_usd=0.01, **base),  # type: ignore[arg-type]
        LedgerRow(request_id="req-fb", ts=NOW - timedelta(minutes=30), user_id="eve",
                  status=200, served_model="sim-small", flags="fallback", retries=2,
                  cost_usd=0.01, **base),  # type: ignore[arg-type]
        LedgerRow(request_id="req-down", ts=NOW - timedelta(minutes=40), user_id="eve",
                  status=502, error_code="upstream_error", **base),  # type: ignore[arg-type]
    ]  # fmt: skip


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    await seed(engine, history(NOW) + extra_rows())
    return engine


async def test_day_series_puts_each_row_in_its_hour(seeded: AsyncEngine) -> None:
    times, lines = await series(seeded, window="day", by="model", now=NOW)
    assert len(times) == 24 and times[-1] == int(NOW.timestamp())  # NOW is on the hour
    by_model = {s.group: s for s in lines}
    assert [s.group for s in lines][:2] == ["sim-large", "sim-small"]  # most expensive first
    assert by_model["sim-large"].cost_usd[-5] == pytest.approx(0.60)  # four hours ago
    # 14:00 to 15:00 holds the row of 14:00 and the two fallbacks; the hour of NOW is empty
    assert by_model["sim-small"].requests[-2:] == [3, 0]
    assert sum(by_model["gpt-x"].errors) == 3  # refused, blocked, upstream down
    total = sum(sum(s.cost_usd) for s in lines)
    assert total == pytest.approx(0.10 + 0.60 + 0.02)


async def test_month_series_by_tier_excludes_older_rows(seeded: AsyncEngine) -> None:
    times, lines = await series(seeded, window="month", by="tier", now=NOW)
    assert len(times) == 30
    by_tier = {s.group: s for s in lines}
    assert sum(by_tier["pro"].requests) == 6  # the 40-day-old row is out of the window
    assert sum(by_tier["pro"].cost_usd) == pytest.approx(1.10)
    assert sum(by_tier["free"].requests) == 4


async def test_hour_summary_rates_and_latency(seeded: AsyncEngine) -> None:
    s = await summary(seeded, window="hour", now=NOW)
    assert s["requests"] == 4 and s["errors"] == 2
    assert s["error_rate"] == pytest.approx(0.5)
    day = await summary(seeded, window="day", now=NOW)
    assert day["cache_hits"] == 1 and day["saved_usd"] == 0.0
    assert day["gateway_ms_p50"] == pytest.approx(10.0)  # 100 ms total minus 90 upstream
    assert day["upstream_ms_p50"] == pytest.approx(90.0)


async def test_screening_counts_detectors_not_other_flags(seeded: AsyncEngine) -> None:
    pdf = LedgerRow(request_id="req-pdf", ts=NOW - timedelta(minutes=35), user_id="eve",
                    tier="free", status=400, error_code="unscreenable_content",
                    flags="unscreenable_content")  # fmt: skip
    await seed(seeded, [pdf])
    report = await screening(seeded, window="day", now=NOW)
    assert report["by_detector"] == [
        {"detector": "pii_detected", "tier": "free", "blocked": 0, "flagged": 1},
        {"detector": "prompt_injection", "tier": "free", "blocked": 1, "flagged": 0},
        {"detector": "unscreenable_content", "tier": "free", "blocked": 1, "flagged": 0},
    ]
    assert report["blocked_requests"] == 2 and report["flagged_requests"] == 1
    assert [e["request_id"] for e in report["events"]] == ["req-block", "req-pii", "req-pdf"]
    assert report["events"][1]["detectors"] == ["pii_detected"]


async def test_provider_activity_counts_failures_retries_and_fallbacks(
    seeded: AsyncEngine,
) -> None:
    activity = await provider_activity(seeded, window="hour", now=NOW)
    small = next(d for d in activity["deployments"] if d["model"] == "sim-small")
    assert small == {"provider": "sim", "model": "sim-small", "requests": 2, "failures": 0,
                     "retries": 2, "fallbacks": 2}  # fmt: skip
    down = next(d for d in activity["deployments"] if d["model"] == "gpt-x")
    assert down["failures"] == 1
    assert [e["request_id"] for e in activity["recent"]] == ["req-pii", "req-fb", "req-down"]
