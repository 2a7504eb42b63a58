"""Proactive slowdown from rate-limit headers, with injected clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from reliability_clock import FakeClock

from doorman.upstream.pacer import Pacer, parse_duration, parse_reset, read_budgets
from doorman.upstream.settings import PacingSettings

WALL = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0.5", 0.5),
        ("12.345s", 12.345),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5x", "1s junk"])
def test_bad_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_rfc3339_reset() -> None:
    when = datetime.fromtimestamp(WALL, UTC) + timedelta(seconds=42)
    assert parse_reset(when.isoformat().replace("+00:00", "Z"), WALL) == pytest.approx(42)


def test_reads_openai_and_anthropic_headers() -> None:
    reset = (datetime.fromtimestamp(WALL, UTC) + timedelta(seconds=30)).isoformat()
    budgets = read_budgets(
        {
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
            "anthropic-ratelimit-tokens-limit": "80000",
            "anthropic-ratelimit-tokens-remaining": "1000",
            "anthropic-ratelimit-tokens-reset": reset,
        },
        WALL,
    )
    assert budgets["requests"] == (500, 499, pytest.approx(0.12))
    assert budgets["tokens"] == (80000, 1000, pytest.approx(30))


def pacer(clock: FakeClock, **kw: object) -> Pacer:
    settings = PacingSettings(**kw)  # type: ignore[arg-type]
    return Pacer(settings, clock=clock, wall=lambda: WALL)


def openai_headers(limit: int, remaining: int, reset: str) -> dict[str, str]:
    return {
        "x-ratelimit-limit-requests": str(limit),
        "x-ratelimit-remaining-requests": str(remaining),
        "x-ratelimit-reset-requests": reset,
    }


def test_no_headers_no_wait(clock: FakeClock) -> None:
    assert pacer(clock).reserve(10) == 0.0


def test_plenty_remaining_no_wait(clock: FakeClock) -> None:
    p = pacer(clock)
    p.observe(openai_headers(100, 80, "10s"))
    assert [p.reserve(10) for _ in range(5)] == [0.0] * 5


def test_low_remaining_spreads_requests_over_the_reset_window(clock: FakeClock) -> None:
    p = pacer(clock, low_fraction=0.1)
    p.observe(openai_headers(100, 4, "8s"))
    delays = [p.reserve(60) for _ in range(4)]
    assert delays[0] == 0.0
    assert delays == pytest.approx([0.0, 2.0, 4.0, 6.0], abs=0.01)


def test_spent_budget_waits_for_the_reset_then_goes_at_the_steady_rate(clock: FakeClock) -> None:
    p = pacer(clock)
    p.observe(openai_headers(60, 0, "5s"))
    assert p.reserve(60) == pytest.approx(5.0)
    assert p.reserve(60) == pytest.approx(6.0)  # 60 per minute -> one a second after the reset


def test_counts_its_own_admissions_down_between_replies(clock: FakeClock) -> None:
    p = pacer(clock, low_fraction=0.0, low_remaining=2)
    p.observe(openai_headers(1000, 4, "10s"))
    delays = [p.reserve(60) for _ in range(4)]
    assert delays[:2] == [0.0, 0.0]  # 4 and 3 left: above the low mark
    assert delays[2] == 0.0 and delays[3] > 0  # then pacing starts


def test_too_long_a_wait_reserves_nothing(clock: FakeClock) -> None:
    p = pacer(clock)
    p.observe(openai_headers(60, 0, "30s"))
    assert p.reserve(5) == pytest.approx(30.0)
    assert p.reserve(60) == pytest.approx(30.0)  # the refused call did not take the slot


def test_fresh_reply_lifts_the_pacing(clock: FakeClock) -> None:
    p = pacer(clock)
    p.observe(openai_headers(100, 1, "10s"))
    clock.advance(11)
    p.observe(openai_headers(100, 99, "1s"))
    assert p.reserve(60) == 0.0


def test_expired_budget_is_forgotten(clock: FakeClock) -> None:
    p = pacer(clock)
    p.observe(openai_headers(100, 1, "2s"))
    clock.advance(3)
    assert p.reserve(60) == 0.0
    assert not p.budgets


def test_disabled(clock: FakeClock) -> None:
    p = pacer(clock, enabled=False)
    p.observe(openai_headers(60, 0, "30s"))
    assert p.reserve(1) == 0.0
