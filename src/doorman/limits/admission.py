"""Admission: turn one request into its worst case and reserve it in every scope.

effective max_tokens = min(requested or tier cap, tier.max_output_tokens, model cap); the worst
case is input + max_tokens tokens, priced with the model's table. When a budget cannot cover
it the request gets 429 ``budget_exceeded`` or, with ``tier.shrink_max_tokens``, a smaller
max_tokens that the remaining budget covers (never below ``tier.min_max_tokens``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from doorman.answer.contract import MAX_PROBLEM_CHARS
from doorman.limits.errors import LimitRefused
from doorman.limits.limiter import Limiter, Reservation, usd_to_nanos
from doorman.limits.spec import Demand, LimitSpec

if TYPE_CHECKING:
    from doorman.config import Price, TierSettings

_SHRINK_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Admission:
    reservation: Reservation
    max_tokens: int  # send this upstream
    reserved_usd: float
    shrunk: bool


def effective_max_tokens(
    requested: int | None, tier: TierSettings, model_max_output_tokens: int | None = None
) -> int:
    cap = tier.max_output_tokens
    if model_max_output_tokens is not None:
        cap = min(cap, model_max_output_tokens)
    return max(1, min(requested or cap, cap))


# Input a contract retry adds besides the previous answer: the problem statement (at most
# MAX_PROBLEM_CHARS ASCII characters, so at most that many tokens, see doorman.answer.contract)
# and the two turns' framing and fixed wording (under 120 tokens).
RETRY_TURN_TOKENS = MAX_PROBLEM_CHARS + 120


def worst_case(
    price: Price | None, input_tokens: int, max_tokens: int, retries: int = 0
) -> tuple[int, float]:
    """Tokens and dollars of one call plus up to ``retries`` repeats of it (output-contract
    retries), each repeat carrying the previous answer and the problem as extra input."""
    from doorman.cost.prices import worst_case_usd

    if retries == 0:  # the usual case: one call
        return input_tokens + max_tokens, worst_case_usd(price, input_tokens, max_tokens)
    tokens, usd = 0, 0.0
    for k in range(retries + 1):
        sent = input_tokens + k * (max_tokens + RETRY_TURN_TOKENS)
        tokens += sent + max_tokens
        usd += worst_case_usd(price, sent, max_tokens)
    return tokens, usd


async def admit(
    limiter: Limiter,
    specs: Sequence[LimitSpec],
    *,
    input_tokens: int,
    requested_max_tokens: int | None,
    tier: TierSettings,
    model_price: Price | None,
    model_max_output_tokens: int | None = None,
    lease_seconds: float | None = None,
    wait_up_to: float | None = None,
    retries: int = 0,
) -> Admission:
    """Reserve the worst case of one request (priority = ``tier.priority``) or raise.

    ``retries``: upstream calls the request may repeat (an output contract's retries); their
    worst case is reserved too, so budgets hold whatever the model answers.
    """
    max_tokens = effective_max_tokens(requested_max_tokens, tier, model_max_output_tokens)
    shrunk = False
    for attempt in range(_SHRINK_ATTEMPTS):
        tokens, usd = worst_case(model_price, input_tokens, max_tokens, retries)
        demand = Demand(requests=1, tokens=tokens, usd=usd)
        try:
            res = await limiter.reserve(
                specs, demand, lease_seconds=lease_seconds, wait_up_to=wait_up_to,
                priority=tier.priority,
            )
        except LimitRefused as refusal:
            if (
                refusal.code != "budget_exceeded"
                or not tier.shrink_max_tokens
                or model_price is None
                or attempt == _SHRINK_ATTEMPTS - 1
            ):
                raise
            from doorman.cost.prices import affordable_output_tokens

            budgets = [s for s in specs if s.unit == "usd"]
            headroom = min(st.remaining for st in await limiter.peek(budgets))
            # Each of the calls costs at least one call's worst case: a bound to count down from.
            fits = affordable_output_tokens(model_price, input_tokens, headroom / (retries + 1))
            while fits > 0 and usd_to_nanos(
                worst_case(model_price, input_tokens, fits, retries)[1]
            ) > usd_to_nanos(headroom, up=False):
                fits -= 1
            fits = min(fits, max_tokens - 1)
            if fits < tier.min_max_tokens:
                raise _after_reset(
                    refusal, model_price, input_tokens, tier.min_max_tokens, retries
                ) from None
            max_tokens, shrunk = fits, True
            continue
        return Admission(res, max_tokens, usd, shrunk)
    raise AssertionError("unreachable")


def _after_reset(
    refusal: LimitRefused, price: Price, input_tokens: int, min_max_tokens: int, retries: int
) -> LimitRefused:
    """A spent budget whose smallest allowed answer fits a fresh window: retry at the reset.

    The first refusal may say "larger than the limit" (the full max_tokens never fits); with
    shrinking, the request does fit again once the day or month rolls over.
    """
    spec = refusal.spec
    if refusal.retry_after is not None or spec.unit != "usd":
        return refusal
    if worst_case(price, input_tokens, min_max_tokens, retries)[1] > spec.capacity:
        return refusal
    reset = next((st.reset for st in refusal.statuses if st.spec is spec), None)
    if reset is None:
        return refusal
    return LimitRefused(spec, max(1.0, reset), refusal.statuses, refusal.key)
