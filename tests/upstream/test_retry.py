"""Which failures are retried and how long the waits are (pure functions, injected jitter)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from doorman.upstream.retry import RetryPolicy, is_retryable, parse_retry_after, retry_after_from


@pytest.mark.parametrize("status", [None, 429, 500, 502, 503, 504, 529])
def test_retryable_failures(status: int | None) -> None:
    assert is_retryable(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_client_errors_are_never_retried(status: int) -> None:
    assert not is_retryable(status)


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(date, now=now.timestamp()) == pytest.approx(30.0)


def test_retry_after_ms_wins() -> None:
    assert retry_after_from({"retry-after-ms": "250", "retry-after": "1"}) == 0.25
    assert retry_after_from({"retry-after": "3"}) == 3.0


def test_full_jitter_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=0.25, cap_s=2.0)
    top = [policy.delay(n, None, 100.0, lambda: 0.999999) for n in range(6)]
    assert top == pytest.approx([0.25, 0.5, 1.0, 2.0, 2.0, 2.0], rel=1e-3)
    assert policy.delay(3, None, 100.0, lambda: 0.0) == 0.0  # full jitter reaches zero


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.delay(0, None, 100.0, lambda: 0.5) is not None
    assert policy.delay(1, None, 100.0, lambda: 0.5) is not None
    assert policy.delay(2, None, 100.0, lambda: 0.5) is None


def test_retry_after_is_a_floor_with_jitter_on_top() -> None:
    policy = RetryPolicy(max_attempts=4, base_s=0.25, cap_s=8.0, retry_after_jitter=0.5)
    assert policy.delay(0, 1.0, 30.0, lambda: 0.0) == 1.0
    assert policy.delay(0, 1.0, 30.0, lambda: 1.0) == pytest.approx(1.5)


def test_retry_after_beyond_the_deadline_returns_at_once() -> None:
    policy = RetryPolicy(max_attempts=4)
    assert policy.delay(0, 5.0, 4.0, lambda: 0.5) is None
    assert policy.delay(0, 120.0, 600.0, lambda: 0.5) is None  # over max_retry_after_s


def test_retry_after_that_fits_keeps_the_jitter_inside_the_deadline() -> None:
    policy = RetryPolicy(max_attempts=4, retry_after_jitter=1.0)
    delay = policy.delay(0, 2.0, 2.5, lambda: 0.99)
    assert delay is not None and 2.0 <= delay < 2.5


def test_backoff_that_cannot_fit_the_deadline_stops() -> None:
    policy = RetryPolicy(max_attempts=4, base_s=1.0, cap_s=8.0)
    assert policy.delay(2, None, 0.1, lambda: 0.9) is None
