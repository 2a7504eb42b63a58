"""The counting model: every field a provider bills raises the reservation, images follow the
published formulas, streams count every delta type, and an overrun is charged and seen."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from budget_setup import png_b64, words
from redis.asyncio import Redis

from doorman.config import ModelSettings, Price, ServerSettings, TierSettings
from doorman.cost.images import ANTHROPIC, GPT_4O, PatchRule, image_rule
from doorman.cost.tokens import count_profile
from doorman.limits import Limiter, LimitRefused, LimitsSettings, admit, build_limits
from doorman.upstream.wire import StreamMeter
from doorman.validation import billed_input, validate_chat

SERVER = ServerSettings()
GPT = count_profile("gpt-4o", "openai")
CLAUDE = count_profile("claude-sonnet-4-5", "anthropic")


def tokens(wire: str, body: dict[str, Any]) -> int:
    profile = CLAUDE if wire == "anthropic" else GPT
    return profile.tokens(billed_input(validate_chat(body, wire, SERVER)))  # type: ignore[arg-type]


def chars(wire: str, body: dict[str, Any]) -> int:
    return billed_input(validate_chat(body, wire, SERVER)).chars  # type: ignore[arg-type]


BASE_OPENAI = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}
BASE_ANTHROPIC = {"model": "claude-sonnet-4-5", "max_tokens": 10,
                  "messages": [{"role": "user", "content": "hello"}]}  # fmt: skip
TEXT = words(300)
TEXT_TOKENS = GPT.tokens(billed_input(validate_chat(
    {"model": "gpt-4o", "messages": [{"role": "user", "content": TEXT}]}, "openai", SERVER)))  # fmt: skip


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": [{"type": "function", "function": {"name": "f", "description": TEXT}}]},
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"x": {"type": "string", "description": TEXT}}}}}]},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {
            "type": "object", "description": TEXT}}}},
        {"messages": [{"role": "user", "content": "hi", "name": "n" * 1200}]},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": TEXT}}]},
            {"role": "tool", "tool_call_id": "c", "content": "ok"}]},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c",
                                                         "content": TEXT}]},
        {"tool_choice": {"type": "function", "function": {"name": TEXT}}},
    ],
    ids=["tool-description", "tool-parameters", "json-schema", "name", "tool-call-arguments",
         "tool-result", "tool-choice"],
)  # fmt: skip
def test_openai_fields_the_old_count_ignored_now_count(extra: dict[str, Any]) -> None:
    body = {**BASE_OPENAI, **extra}
    assert tokens("openai", body) >= tokens("openai", BASE_OPENAI) + 150
    assert chars("openai", body) >= 1000  # max_chars sees them too


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": [{"name": "f", "description": TEXT, "input_schema": {"type": "object"}}]},
        {"system": [{"type": "text", "text": TEXT}]},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t", "name": "f", "input": {"q": TEXT}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                          "content": "ok"}]}]},
        {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                                   "content": [{"type": "text", "text": TEXT}]}]}]},
        {"messages": [{"role": "user", "content": [{"type": "document", "source": {
            "type": "text", "media_type": "text/plain", "data": TEXT}}]}]},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [
            {"type": "thinking", "thinking": TEXT, "signature": "s"}]},
            {"role": "user", "content": "go on"}]},
    ],
    ids=["tool", "system-blocks", "tool-use-input", "tool-result", "document", "thinking"],
)  # fmt: skip
def test_anthropic_fields_the_old_count_ignored_now_count(extra: dict[str, Any]) -> None:
    body = {**BASE_ANTHROPIC, **extra}
    assert tokens("anthropic", body) >= tokens("anthropic", BASE_ANTHROPIC) + 150


def test_foreign_tokenizer_gets_the_safety_factor() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": TEXT}]}
    billed = billed_input(validate_chat(body, "anthropic", SERVER))
    plain = count_profile("sim-claude", "sim").tokens(billed)
    assert CLAUDE.tokens(billed) >= plain * 1.3
    assert count_profile("claude-x", "anthropic", 2.0).tokens(billed) >= plain * 1.9


def test_published_image_formulas() -> None:
    assert GPT_4O.tokens((1024, 1024), "high") == 765  # OpenAI's worked example
    assert GPT_4O.tokens((2048, 4096), "high") == 1105  # fitted to 768 x 1536: 6 tiles
    assert GPT_4O.tokens((4096, 4096), "low") == 85
    assert GPT_4O.tokens(None, "auto") == 85 + 170 * 8  # unknown size: the most tiles
    assert image_rule("gpt-4o-mini", False).tokens((1024, 1024), "high") == 2833 + 4 * 5667
    assert image_rule("gpt-4.1-mini", False) == PatchRule(1.62)
    assert PatchRule(1.62).tokens((1024, 1024), None) == 1659  # 1024 patches x 1.62
    assert PatchRule(1.62).tokens(None, None) == 2489  # 1536 patches x 1.62
    assert ANTHROPIC.tokens((1000, 1000)) == 1334  # (w*h)/750
    assert ANTHROPIC.tokens((4000, 3000)) == 1600  # resized: never more than ~1,600
    assert ANTHROPIC.tokens(None) == 1600


def test_image_size_comes_from_the_base64_header() -> None:
    part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png_b64(1024, 1024)}",
                                               "detail": "high"}}  # fmt: skip
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": [part]}]}
    billed = billed_input(validate_chat(body, "openai", SERVER))
    assert billed.images[0].size == (1024, 1024)
    url = {**body, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.invalid/x.png"}}]}]}  # fmt: skip
    assert tokens("openai", url) > tokens("openai", body)  # unknown size reserves the maximum


def _sse(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def test_stream_meter_counts_every_openai_delta_type() -> None:
    meter = StreamMeter("openai", "gpt-4o", 10, False, unreported_allowance=0)
    piece = " budget" * 50
    deltas = [{"content": piece}, {"refusal": piece}, {"reasoning_content": piece},
              {"tool_calls": [{"index": 0, "function": {"name": "lookup", "arguments": piece}}]},
              {"function_call": {"arguments": piece}}]  # fmt: skip
    for delta in deltas:
        meter.feed(_sse({"choices": [{"index": 0, "delta": delta}]}))
    assert meter.counted_output >= 5 * 50 + 1
    usage = meter.final_usage()  # no usage chunk: the stream was cut
    assert usage.output_tokens >= meter.counted_output and not usage.reported


def test_stream_meter_counts_every_anthropic_delta_type() -> None:
    meter = StreamMeter("anthropic", "claude", 10, False, safety=1.35)
    piece = " budget" * 50
    meter.feed(_sse({"type": "content_block_start", "index": 0,
                     "content_block": {"type": "tool_use", "id": "t", "name": "lookup", "input": {}}}))  # fmt: skip
    for delta in ({"type": "input_json_delta", "partial_json": piece},
                  {"type": "thinking_delta", "thinking": piece},
                  {"type": "text_delta", "text": piece}):  # fmt: skip
        meter.feed(_sse({"type": "content_block_delta", "index": 0, "delta": delta}))
    assert meter.counted_output >= 3 * 50 + 1
    assert meter.final_usage().output_tokens >= meter.counted_output * 1.35


def test_unreported_stream_rule() -> None:
    """Cut before usage: counted x safety + allowance, capped by max_tokens; the whole
    max_tokens when the model may have reasoned unseen; the provider's figure when reported."""
    def meter(**kw: Any) -> StreamMeter:
        m = StreamMeter("openai", "gpt-4o", 10, False, **kw)
        m.feed(_sse({"choices": [{"index": 0, "delta": {"content": " budget" * 100}}]}))
        return m

    assert meter(unreported_allowance=64).final_usage().output_tokens == 164
    assert meter(unreported_allowance=64, max_output=120).final_usage().output_tokens == 120
    assert meter(hidden_output_cap=1000).final_usage().output_tokens == 1000
    reported = meter(unreported_allowance=64, hidden_output_cap=1000)
    reported.feed(_sse({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 90}}))
    assert reported.final_usage().output_tokens == 90


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> Any:
    settings = LimitsSettings(key_prefix=f"t{uuid.uuid4().hex[:8]}", store_timeout_s=10)
    if request.param == "memory":
        yield Limiter.create(settings, None, ZoneInfo("UTC"))
        return
    redis = Redis.from_url(request.getfixturevalue("redis_url"))
    yield Limiter.create(LimitsSettings(**{**settings.model_dump(), "backend": "redis"}), redis,
                         ZoneInfo("UTC"))  # fmt: skip
    await redis.aclose()


async def test_usage_beyond_the_reservation_is_charged_and_seen(limiter: Limiter) -> None:
    """The provider billed more than reserved: the excess is charged, and the next admission
    sees the budget already spent (memory and Redis alike)."""
    price = Price(input=1.0, output=1.0)
    tier = TierSettings(daily_budget_usd=0.01, max_output_tokens=1000)
    specs = build_limits(tier, "t", "u", "k", "m", ModelSettings(provider="sim", price=price),
                         "sim", limiter.settings)  # fmt: skip
    first = await admit(limiter, specs, input_tokens=1000, requested_max_tokens=1000, tier=tier,
                        model_price=price)  # fmt: skip
    assert first.reserved_usd == pytest.approx(0.002)
    await limiter.settle(first.reservation, tokens=9500, usd=0.0095)  # 4.75x the reservation
    with pytest.raises(LimitRefused) as refused:
        await admit(limiter, specs, input_tokens=1000, requested_max_tokens=1000, tier=tier,
                    model_price=price)  # fmt: skip
    assert refused.value.code == "budget_exceeded"
