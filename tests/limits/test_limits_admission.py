"""Admission (effective max_tokens, worst-case dollars, shrinking), build_limits and prices."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from doorman.config import DEFAULT_TIERS, ModelSettings, Price, TierSettings
from doorman.cost.prices import cost_usd, default_price, price_for, worst_case_usd
from doorman.limits import Limiter, LimitRefused, LimitsSettings, ScopeLimits, admit, build_limits
from doorman.limits.admission import RETRY_TURN_TOKENS, effective_max_tokens, worst_case

MakeLimiter = Callable[..., Limiter]

PRICE = Price(input=2.50, output=10.00, cached_input=1.25)


def tier(**kw: object) -> TierSettings:
    return TierSettings.model_validate({"daily_budget_usd": 0.01, **kw})


def specs_for(t: TierSettings, settings: LimitsSettings | None = None) -> list:  # type: ignore[type-arg]
    model = ModelSettings(provider="sim", price=PRICE)
    return build_limits(t, "custom", "alice", "key1", "sim-large", model, "sim",
                        settings or LimitsSettings())


def test_effective_max_tokens() -> None:
    t = TierSettings(max_output_tokens=500)
    assert effective_max_tokens(None, t) == 500
    assert effective_max_tokens(100, t) == 100
    assert effective_max_tokens(4000, t) == 500
    assert effective_max_tokens(None, t, model_max_output_tokens=300) == 300


async def test_admit_reserves_the_worst_case(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    t = tier(daily_budget_usd=1.0, max_output_tokens=1000)
    specs = specs_for(t)
    adm = await admit(limiter, specs, input_tokens=100, requested_max_tokens=None, tier=t,
                      model_price=PRICE)
    assert adm.max_tokens == 1000
    assert adm.reserved_usd == pytest.approx(100 * 2.5e-6 + 1000 * 1e-5)
    assert not adm.shrunk
    budget = next(s for s in specs if s.name == "daily_budget_usd")
    (status,) = await limiter.peek([budget])
    assert status.remaining == pytest.approx(1.0 - adm.reserved_usd)


async def test_budget_too_small_is_refused_without_shrinking(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    t = tier(max_output_tokens=4000)
    with pytest.raises(LimitRefused) as err:
        await admit(limiter, specs_for(t), input_tokens=100, requested_max_tokens=None, tier=t,
                    model_price=PRICE)
    assert err.value.code == "budget_exceeded"


async def test_shrink_max_tokens_to_what_the_budget_covers(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    t = tier(max_output_tokens=4000, shrink_max_tokens=True, min_max_tokens=50)
    specs = specs_for(t)
    adm = await admit(limiter, specs, input_tokens=100, requested_max_tokens=None, tier=t,
                      model_price=PRICE)
    # (0.01 - 100 * 2.5e-6) / 1e-5 = 975 output tokens fit the $0.01 budget.
    assert adm.shrunk and adm.max_tokens == 975
    assert adm.reserved_usd <= 0.01
    await limiter.settle(adm.reservation, tokens=100 + 470, usd=worst_case_usd(PRICE, 100, 470))
    adm2 = await admit(limiter, specs, input_tokens=100, requested_max_tokens=None, tier=t,
                       model_price=PRICE)
    assert adm2.max_tokens == 480  # (0.01 - 0.00495 spent - 0.00025 input) / 1e-5
    with pytest.raises(LimitRefused) as err:  # what is left covers fewer than 50 tokens
        await admit(limiter, specs, input_tokens=100, requested_max_tokens=None, tier=t,
                    model_price=PRICE)
    assert err.value.code == "budget_exceeded"
    # ... until the day rolls over: the refusal says when (not "larger than the limit").
    retry = err.value.retry_after
    assert retry is not None and 1 <= retry <= 86400 + 3600
    assert err.value.headers["retry-after"] == str(int(-(-retry // 1)))


async def test_output_contract_retries_are_reserved_with_the_first_call(
    make_limiter: MakeLimiter,
) -> None:
    """A request that may be asked again reserves every call's worst case: the retry carries
    the previous answer and the problem as input, and the budget must hold whatever happens."""
    limiter = make_limiter()
    t = tier(daily_budget_usd=1.0, max_output_tokens=1000)
    adm = await admit(limiter, specs_for(t), input_tokens=100, requested_max_tokens=None, tier=t,
                      model_price=PRICE, retries=1)
    retry_input = 100 + 1000 + RETRY_TURN_TOKENS
    assert adm.reserved_usd == pytest.approx(
        worst_case_usd(PRICE, 100, 1000) + worst_case_usd(PRICE, retry_input, 1000)
    )
    assert worst_case(PRICE, 100, 1000, 1)[0] == 100 + 1000 + retry_input + 1000

    await limiter.settle(adm.reservation, tokens=0, usd=0.0)  # nothing was used: all refunded

    # Shrinking keeps both calls inside the budget, and shrinks no further than needed.
    t = tier(max_output_tokens=4000, shrink_max_tokens=True, min_max_tokens=50)
    adm = await admit(limiter, specs_for(t), input_tokens=100, requested_max_tokens=None,
                      tier=t, model_price=PRICE, retries=1)
    assert adm.shrunk and adm.reserved_usd <= 0.01
    assert worst_case(PRICE, 100, adm.max_tokens + 1, 1)[1] > 0.01


def test_build_limits_scopes() -> None:
    settings = LimitsSettings(
        per_key=["requests_per_minute"],
        global_max_concurrent=100,
        providers={"sim": ScopeLimits(tokens_per_minute=1_000_000)},
    )
    model = ModelSettings(provider="sim", requests_per_minute=500, max_concurrent=20)
    specs = build_limits(DEFAULT_TIERS["free"], "free", "alice", "k1", "sim-small", model, "sim",
                         settings)
    got = {(s.scope.kind, s.scope.id, s.name, s.unit, s.capacity) for s in specs}
    assert got == {
        ("user", "alice", "requests_per_minute", "requests", 10),
        ("user", "alice", "tokens_per_minute", "tokens", 20_000),
        ("user", "alice", "tokens_per_day", "tokens", 10_000),
        ("user", "alice", "daily_budget_usd", "usd", 1.0),
        ("user", "alice", "max_concurrent", "concurrent", 2),
        ("key", "k1", "requests_per_minute", "requests", 10),
        ("model", "sim-small", "requests_per_minute", "requests", 500),
        ("model", "sim-small", "max_concurrent", "concurrent", 20),
        ("provider", "sim", "tokens_per_minute", "tokens", 1_000_000),
        ("global", "", "max_concurrent", "concurrent", 100),
    }


def test_prices() -> None:
    assert default_price("gpt-4o-2024-08-06") == default_price("gpt-4o")
    # Claude: cache reads at 0.1x input, 5-minute cache writes at 1.25x input.
    assert default_price("claude-3-5-haiku-20241022") == Price(input=0.8, output=4.0,
                                                               cached_input=0.08, cache_write=1.0)
    assert default_price("my-local-llama") is None
    model = ModelSettings(provider="openai", upstream_model="gpt-4o-mini")
    assert price_for("fast", model) == Price(input=0.15, output=0.60, cached_input=0.075)
    assert price_for("x", ModelSettings(provider="p", price=PRICE)) == PRICE
    # 1000 prompt tokens of which 400 cached, 200 output.
    assert cost_usd(PRICE, 1000, 200, 400) == pytest.approx((600 * 2.5 + 400 * 1.25 + 2000) / 1e6)
    assert cost_usd(None, 1000, 1000) == 0.0
