"""Circuit breaker states with an injected clock."""

from __future__ import annotations

from reliability_clock import FakeClock

from doorman.upstream.breaker import Breaker
from doorman.upstream.settings import BreakerSettings


def make(clock: FakeClock, **kw: object) -> tuple[Breaker, list[tuple[str, str, bool]]]:
    changes: list[tuple[str, str, bool]] = []
    settings = BreakerSettings(**{"consecutive_failures": 3, "cooldown_s": 10, **kw})  # type: ignore[arg-type]
    breaker = Breaker(
        "p/m", settings, clock=clock,
        listener=lambda b, old, new, reason, remote: changes.append((old, new, remote)),
    )  # fmt: skip
    return breaker, changes


def fail(breaker: Breaker, n: int = 1) -> None:
    for _ in range(n):
        permit = breaker.allow()
        assert permit is not None
        permit.failure("500")


def succeed(breaker: Breaker, n: int = 1) -> None:
    for _ in range(n):
        permit = breaker.allow()
        assert permit is not None
        permit.success()


def test_opens_after_consecutive_failures_and_skips_at_once(clock: FakeClock) -> None:
    breaker, changes = make(clock)
    fail(breaker, 2)
    assert breaker.state == "closed"
    fail(breaker)
    assert breaker.state == "open"
    assert breaker.allow() is None
    assert changes == [("closed", "open", False)]
    assert breaker.retry_in() == 10


def test_a_success_resets_the_run(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    fail(breaker, 2)
    succeed(breaker)
    fail(breaker, 2)
    assert breaker.state == "closed"


def test_opens_on_failure_rate_in_the_window(clock: FakeClock) -> None:
    breaker, _ = make(clock, consecutive_failures=100, min_calls=10, failure_rate=0.5, window_s=30)
    for _ in range(4):
        fail(breaker)
        succeed(breaker)
    assert breaker.state == "closed"  # 4/8: too few calls yet
    fail(breaker)
    assert breaker.state == "closed"  # 5/9
    fail(breaker)
    assert breaker.state == "open"  # 6/10


def test_old_failures_leave_the_window(clock: FakeClock) -> None:
    breaker, _ = make(clock, consecutive_failures=100, min_calls=4, failure_rate=0.5, window_s=10)
    fail(breaker, 3)
    clock.advance(11)
    succeed(breaker, 3)
    fail(breaker)
    assert breaker.state == "closed"  # 1/4 in the window, not 4/7


def test_half_open_lets_a_limited_number_of_probes_through(clock: FakeClock) -> None:
    breaker, changes = make(clock, half_open_probes=1)
    fail(breaker, 3)
    clock.advance(9.9)
    assert breaker.allow() is None
    clock.advance(0.2)
    probe = breaker.allow()
    assert probe is not None and probe.probe
    assert breaker.state == "half_open"
    assert breaker.allow() is None  # only one probe at a time
    probe.success()
    assert breaker.state == "closed"
    assert [c[1] for c in changes] == ["open", "half_open", "closed"]


def test_failed_probe_reopens_for_another_cooldown(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    fail(breaker, 3)
    clock.advance(10)
    probe = breaker.allow()
    assert probe is not None
    probe.failure("timeout")
    assert breaker.state == "open"
    clock.advance(9)
    assert breaker.allow() is None
    clock.advance(1)
    assert breaker.allow() is not None


def test_released_probe_frees_its_slot_and_permits_are_idempotent(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    fail(breaker, 3)
    clock.advance(10)
    probe = breaker.allow()
    assert probe is not None
    probe.release()  # e.g. the probe got a 429: no verdict
    probe.failure("late")  # ignored: already reported
    assert breaker.state == "half_open"
    again = breaker.allow()
    assert again is not None and again.probe


def test_outcomes_of_calls_started_before_opening_are_ignored(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    stale = breaker.allow()
    assert stale is not None
    fail(breaker, 3)
    stale.success()
    assert breaker.state == "open"


def test_remote_trip_is_reported_as_remote(clock: FakeClock) -> None:
    breaker, changes = make(clock)
    breaker.trip("opened by another replica", cooldown_s=4, remote=True)
    assert changes == [("closed", "open", True)]
    assert breaker.retry_in() == 4


def test_disabled_breaker_never_opens(clock: FakeClock) -> None:
    breaker, _ = make(clock, enabled=False)
    for _ in range(10):
        permit = breaker.allow()
        assert permit is not None
        permit.failure("500")
    assert breaker.allow() is not None
