"""Provider prompt caching: cached and cache-written prompt tokens are priced and recorded exactly.

The simulated provider reports cached tokens when a long prefix repeats (OpenAI: automatically;
Anthropic: up to the last ``cache_control`` block), like the real ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cachekit import ledger, new_key

import doorman
from doorman.config import Settings, parse_settings
from harness import Proc, sim_config

PRICE = {"input": 1.0, "output": 2.0, "cached_input": 0.1, "cache_write": 1.25}
POLICY = " ".join(f"Policy {i}: refunds within {i + 3} days need a dated receipt." for i in range(120))


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORMAN_PEPPER", "cache-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-cache-test-" + "x" * 24)


def settings_for(sim: Proc, tmp_path: Path) -> Settings:
    config = sim_config(sim, pro={"requests_per_minute": 1000, "max_chars": 100_000})
    for name in ("sim-small", "sim-claude"):
        config["models"][name]["price"] = PRICE
    config["database_url"] = f"sqlite+aiosqlite:///{tmp_path}/doorman.db"
    return parse_settings(config)


def expected_usd(uncached: int, read: int, written: int, output: int) -> float:
    return (uncached * PRICE["input"] + read * PRICE["cached_input"]
            + written * PRICE["cache_write"] + output * PRICE["output"]) / 1e6  # fmt: skip


async def test_openai_cached_prefix_is_billed_at_the_cached_price(
    sim: Proc, tmp_path: Path, upstream_calls: Callable[[], int]
) -> None:
    settings = settings_for(sim, tmp_path)
    key = await new_key(settings, "prefix-user")
    system = {"role": "system", "content": POLICY}
    async with doorman.Client(api_key=key, config=settings) as dm:
        first = await dm.chat(model="sim-small", max_tokens=5,
                              messages=[system, {"role": "user", "content": "Can I return shoes?"}])  # fmt: skip
        second = await dm.chat(model="sim-small", max_tokens=5,
                               messages=[system, {"role": "user", "content": "And a lamp?"}])  # fmt: skip
    assert "prompt_tokens_details" not in first.usage
    cached = second.usage["prompt_tokens_details"]["cached_tokens"]
    prompt, output = second.usage["prompt_tokens"], second.usage["completion_tokens"]
    assert 1024 <= cached < prompt
    assert second.cost_usd == pytest.approx(expected_usd(prompt - cached, cached, 0, output), rel=1e-6)
    rows = {r["request_id"]: r for r in await ledger(settings)}
    assert rows[second.request_id]["cached_tokens"] == cached
    assert rows[second.request_id]["cost_usd"] == pytest.approx(second.cost_usd, rel=1e-9)
    assert rows[first.request_id]["cached_tokens"] == 0


async def test_anthropic_cache_writes_and_reads_are_priced_and_kept(
    sim: Proc, tmp_path: Path, upstream_calls: Callable[[], int]
) -> None:
    settings = settings_for(sim, tmp_path)
    key = await new_key(settings, "claude-cacher")
    system = [{"type": "text", "text": POLICY, "cache_control": {"type": "ephemeral"}}]

    def params(question: str) -> dict[str, Any]:
        return {"model": "sim-claude", "wire": "anthropic", "max_tokens": 6, "system": system,
                "messages": [{"role": "user", "content": question}]}  # fmt: skip

    async with doorman.Client(api_key=key, config=settings) as dm:
        write = await dm.chat(**params("Can I return shoes?"))
        read = await dm.chat(**params("And a lamp?"))
        async with await dm.stream(**params("And a chair?")) as stream:
            events = [e async for e in stream]
        stream_id = stream.request_id
    wu, ru = write.usage, read.usage
    assert wu["cache_creation_input_tokens"] >= 1024 and wu["cache_read_input_tokens"] == 0
    assert ru["cache_read_input_tokens"] == wu["cache_creation_input_tokens"]
    assert write.cost_usd == pytest.approx(
        expected_usd(wu["input_tokens"], 0, wu["cache_creation_input_tokens"], wu["output_tokens"]), rel=1e-6)
    assert read.cost_usd == pytest.approx(
        expected_usd(ru["input_tokens"], ru["cache_read_input_tokens"], 0, ru["output_tokens"]), rel=1e-6)
    assert read.cost_usd < write.cost_usd
    rows = {r["request_id"]: r for r in await ledger(settings)}
    w, r = rows[write.request_id], rows[read.request_id]
    assert (w["cache_write_tokens"], w["cached_tokens"]) == (wu["cache_creation_input_tokens"], 0)
    assert (r["cache_write_tokens"], r["cached_tokens"]) == (0, ru["cache_read_input_tokens"])
    assert w["input_tokens"] == wu["input_tokens"] + wu["cache_creation_input_tokens"]
    # A stream settles the same way: its usage arrives in message_start and message_delta.
    start = next(e for e in events if e["type"] == "message_start")["message"]["usage"]
    out = next(e for e in events if e["type"] == "message_delta")["usage"]["output_tokens"]
    s = rows[stream_id]
    assert s["cached_tokens"] == start["cache_read_input_tokens"] > 0
    assert s["cost_usd"] == pytest.approx(
        expected_usd(start["input_tokens"], start["cache_read_input_tokens"], 0, out), rel=1e-6)


def test_usage_and_cost_of_each_kind_of_prompt_token() -> None:
    from doorman.config import Price
    from doorman.cost.prices import cost_usd, default_price, worst_case_usd
    from doorman.upstream.wire import usage_from_body

    u = usage_from_body("anthropic", {"usage": {"input_tokens": 10, "output_tokens": 5,
                                                "cache_read_input_tokens": 300,
                                                "cache_creation_input_tokens": 2000}})  # fmt: skip
    assert u is not None and (u.input_tokens, u.cached_tokens, u.cache_write_tokens) == (2310, 300, 2000)
    o = usage_from_body("openai", {"usage": {"prompt_tokens": 1500, "completion_tokens": 5,
                                             "prompt_tokens_details": {"cached_tokens": 1280}}})  # fmt: skip
    assert o is not None and (o.input_tokens, o.cached_tokens, o.cache_write_tokens) == (1500, 1280, 0)
    price = Price(**PRICE)
    assert cost_usd(price, u.input_tokens, 5, u.cached_tokens, u.cache_write_tokens) == pytest.approx(
        expected_usd(10, 300, 2000, 5))
    # Unset prices fall back to the input price; a reservation assumes the dearest input rate.
    plain = Price(input=1.0, output=2.0)
    assert cost_usd(plain, 2310, 5, 300, 2000) == pytest.approx((2310 * 1.0 + 5 * 2.0) / 1e6)
    assert worst_case_usd(price, 1000, 10) == pytest.approx((1000 * 1.25 + 10 * 2.0) / 1e6)
    claude = default_price("claude-sonnet-4-5-20250929")
    assert claude is not None and claude.cache_write == pytest.approx(3.75)
    assert claude.cached_input == pytest.approx(0.30)
