"""Audio seconds as a limit unit: same semantics on the memory store and a real Redis."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from doorman.config import DEFAULT_MODELS, TierSettings
from doorman.limits import Demand, Limiter, LimitRefused, LimitSpec, LimitsSettings, Scope
from doorman.limits.spec import DAY, MINUTE, build_limits

MakeLimiter = Callable[..., Limiter]
ALICE = Scope("user", "alice")
PER_MINUTE = LimitSpec(ALICE, "audio_seconds_per_minute", "audio_seconds", 60, MINUTE)
PER_DAY = LimitSpec(ALICE, "audio_seconds_per_day", "audio_seconds", 100, DAY)


async def remaining(limiter: Limiter, spec: LimitSpec) -> float:
    (status,) = await limiter.peek([spec])
    return status.remaining


async def test_seconds_are_reserved_and_refused_past_the_limit(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    await limiter.reserve([PER_MINUTE], Demand(audio_seconds=42.5))
    assert await remaining(limiter, PER_MINUTE) == pytest.approx(17.5, abs=0.002)
    with pytest.raises(LimitRefused) as info:
        await limiter.reserve([PER_MINUTE], Demand(audio_seconds=20.0))
    assert info.value.code == "audio_seconds_exceeded"
    assert "audio seconds per minute (60)" in info.value.message
    assert info.value.retry_after is not None and info.value.retry_after > 0
    # The refused request consumed nothing: 17.5 s still fit.
    await limiter.reserve([PER_MINUTE], Demand(audio_seconds=17.5))


async def test_a_clip_longer_than_the_limit_can_never_fit(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    with pytest.raises(LimitRefused) as info:
        await limiter.reserve([PER_DAY], Demand(audio_seconds=100.5))
    assert info.value.retry_after is None
    assert "larger than the limit" in info.value.message


async def test_settling_without_an_upstream_call_refunds_the_seconds(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    res = await limiter.reserve([PER_DAY, PER_MINUTE], Demand(audio_seconds=30.0))
    await limiter.settle(res, audio_seconds=0.0)
    assert await remaining(limiter, PER_DAY) == pytest.approx(100.0)
    res = await limiter.reserve([PER_DAY], Demand(audio_seconds=30.0))
    await limiter.settle(res)  # None keeps the reserved seconds: they were sent and billed
    assert await remaining(limiter, PER_DAY) == pytest.approx(70.0)


def test_audio_limits_apply_to_transcriptions_only() -> None:
    tier = TierSettings.model_validate({"audio": {"seconds_per_minute": 60, "seconds_per_day": 600}})
    model = DEFAULT_MODELS["sim-whisper"]
    args = (tier, "t", "alice", "k1", "sim-whisper", model, "sim", LimitsSettings())
    chat = {s.name for s in build_limits(*args)}
    audio = {(s.name, s.unit, s.capacity) for s in build_limits(*args, audio=True)}
    assert not any(name.startswith("audio") for name in chat)
    assert ("audio_seconds_per_minute", "audio_seconds", 60) in audio
    assert ("audio_seconds_per_day", "audio_seconds", 600) in audio
