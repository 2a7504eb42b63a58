"""Prices per model (USD per 1M tokens) and the cost of one call.

The config's ``models.<name>.price`` wins; otherwise the defaults below apply to well-known
provider models (list prices at the time of writing; override them in the config when they
change). Unknown, unpriced models cost nothing, so budgets only hold for priced models.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from doorman.config import Price

if TYPE_CHECKING:
    from doorman.config import ModelSettings


def _p(inp: float, out: float, cached: float | None = None, write: float | None = None) -> Price:
    return Price(input=inp, output=out, cached_input=cached, cache_write=write)


def _claude(inp: float, out: float) -> Price:
    """Anthropic: cache reads at 0.1x input, 5-minute cache writes at 1.25x input."""
    return _p(inp, out, round(inp * 0.1, 6), round(inp * 1.25, 6))


DEFAULT_PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-5": _p(1.25, 10.00, 0.125),
    "gpt-5-mini": _p(0.25, 2.00, 0.025),
    "gpt-5-nano": _p(0.05, 0.40, 0.005),
    "gpt-4.1": _p(2.00, 8.00, 0.50),
    "gpt-4.1-mini": _p(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _p(0.10, 0.40, 0.025),
    "gpt-4o": _p(2.50, 10.00, 1.25),
    "gpt-4o-mini": _p(0.15, 0.60, 0.075),
    "gpt-4-turbo": _p(10.00, 30.00),
    "gpt-4": _p(30.00, 60.00),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    "o1": _p(15.00, 60.00, 7.50),
    "o1-mini": _p(1.10, 4.40, 0.55),
    "o3": _p(2.00, 8.00, 0.50),
    "o3-mini": _p(1.10, 4.40, 0.55),
    "o4-mini": _p(1.10, 4.40, 0.275),
    "text-embedding-3-small": _p(0.02, 0.0),
    "text-embedding-3-large": _p(0.13, 0.0),
    "text-embedding-ada-002": _p(0.10, 0.0),
    # Anthropic (cached_input = cache read price, cache_write = 5-minute cache write price)
    "claude-opus-4-5": _claude(5.00, 25.00),
    "claude-opus-4-1": _claude(15.00, 75.00),
    "claude-opus-4": _claude(15.00, 75.00),
    "claude-sonnet-4-5": _claude(3.00, 15.00),
    "claude-sonnet-4": _claude(3.00, 15.00),
    "claude-haiku-4-5": _claude(1.00, 5.00),
    "claude-3-7-sonnet": _claude(3.00, 15.00),
    "claude-3-5-sonnet": _claude(3.00, 15.00),
    "claude-3-5-haiku": _claude(0.80, 4.00),
    "claude-3-opus": _claude(15.00, 75.00),
    "claude-3-haiku": _p(0.25, 1.25, 0.03, 0.30),
}

# Dated snapshots and "-latest" aliases share the base model's price.
_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|-preview)$")


def default_price(upstream_model: str) -> Price | None:
    """The built-in price of a well-known model name (dated snapshots included), or None."""
    name = upstream_model.lower().rsplit("/", 1)[-1]
    while name:
        if name in DEFAULT_PRICES:
            return DEFAULT_PRICES[name]
        stripped = _SUFFIX.sub("", name)
        if stripped == name:
            return None
        name = stripped
    return None


def price_for(model_name: str, model: ModelSettings) -> Price | None:
    """The configured price, else the default for the upstream model name (or the name)."""
    if model.price is not None:
        return model.price
    return default_price(model.upstream_model or model_name)


def cost_usd(
    price: Price | None,
    input_tokens: int,
    output_tokens: int,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float:
    """Cost of provider-reported usage.

    ``input_tokens`` counts every prompt token, cached and cache-written ones included
    (OpenAI's convention; :func:`~doorman.upstream.wire.usage_from_body` sums Anthropic's
    three counts the same way). Tokens read from the provider's prompt cache are billed at
    ``cached_input``, tokens written to it at ``cache_write`` (each the input price when unset).
    """
    if price is None:
        return 0.0
    cached = max(0, min(cached_input_tokens, input_tokens))
    written = max(0, min(cache_write_tokens, input_tokens - cached))
    cached_rate = price.input if price.cached_input is None else price.cached_input
    write_rate = price.input if price.cache_write is None else price.cache_write
    return (
        (input_tokens - cached - written) * price.input
        + cached * cached_rate
        + written * write_rate
        + output_tokens * price.output
    ) / 1_000_000


def worst_case_usd(price: Price | None, input_tokens: int, max_tokens: int) -> float:
    """The most one call may cost: every input token at its dearest rate (uncached, or
    written to the prompt cache when that costs more), every allowed output token."""
    if price is not None and price.cache_write is not None and price.cache_write > price.input:
        return cost_usd(price, input_tokens, max_tokens, cache_write_tokens=input_tokens)
    return cost_usd(price, input_tokens, max_tokens)


def affordable_output_tokens(price: Price, input_tokens: int, budget_usd: float) -> int:
    """The largest max_tokens whose worst case fits ``budget_usd`` (may be negative)."""
    left = budget_usd - cost_usd(price, input_tokens, 0)
    if price.output <= 0:
        return 2**31 if left >= 0 else -1
    return math.floor(left * 1_000_000 / price.output + 1e-9)
