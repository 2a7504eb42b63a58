"""Property: any JSON value in any request field, on either endpoint, is served or refused with
a 4xx that names the field's path — never a 500."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import Gateway, start_gateway

TIER = {"requests_per_minute": 1_000_000, "tokens_per_minute": 1_000_000_000,
        "tokens_per_day": 1_000_000_000, "max_output_tokens": 8, "daily_budget_usd": 1000.0}  # fmt: skip

OPENAI_BASE: dict[str, Any] = {
    "model": "sim-small",
    "max_tokens": 4,
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "messages": [
        {"role": "user", "content": "What is the weather in Paris?", "name": "ann"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                              "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ],
}  # fmt: skip
ANTHROPIC_BASE: dict[str, Any] = {
    "model": "sim-claude",
    "max_tokens": 4,
    "system": [{"type": "text", "text": "Be brief."}],
    "tools": [{"name": "f", "input_schema": {"type": "object"}}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is the weather in Paris?"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f",
                                           "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": "sunny"}]},
    ],
}  # fmt: skip

OPENAI_FIELDS: list[tuple[str | int, ...]] = [
    ("model",), ("messages",), ("messages", 0), ("messages", 0, "role"),
    ("messages", 0, "content"), ("messages", 0, "name"), ("messages", 1, "tool_calls"),
    ("messages", 1, "tool_calls", 0), ("messages", 1, "tool_calls", 0, "function"),
    ("messages", 1, "content"), ("messages", 2, "tool_call_id"), ("messages", 2, "content"),
    ("tools",), ("tools", 0), ("tools", 0, "function"), ("tools", 0, "function", "parameters"),
    ("tool_choice",), ("response_format",), ("max_tokens",), ("max_completion_tokens",),
    ("n",), ("stream",), ("stream_options",), ("temperature",), ("top_p",), ("stop",),
    ("metadata",), ("user",), ("seed",), ("logit_bias",), ("prediction",), ("functions",),
    ("function_call",), ("parallel_tool_calls",), ("reasoning_effort",), ("modalities",),
]  # fmt: skip
ANTHROPIC_FIELDS: list[tuple[str | int, ...]] = [
    ("model",), ("max_tokens",), ("messages",), ("messages", 0), ("messages", 0, "role"),
    ("messages", 0, "content"), ("messages", 0, "content", 0),
    ("messages", 0, "content", 0, "text"), ("messages", 1, "content", 0, "input"),
    ("messages", 1, "content", 0, "name"), ("messages", 2, "content", 0, "content"),
    ("system",), ("system", 0), ("tools",), ("tools", 0), ("tools", 0, "input_schema"),
    ("tool_choice",), ("thinking",), ("stream",), ("metadata",), ("stop_sequences",),
    ("temperature",), ("top_k",), ("top_p",),
]  # fmt: skip

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False,
    allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "text", "role", "content", "name", "x", "function", "arguments",
                         "include_usage", "url", "image_url", "source", "data", "json_schema"]),
        inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    gw = start_gateway(Path(tmp_path_factory.mktemp("gw")), {"tiers": {"open": TIER}})
    try:
        yield gw, str(gw.create_key("fuzzer", "open")["key"])
    finally:
        gw.stop()


def _set(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _where(path: tuple[str | int, ...]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _check(gw: Gateway, key: str, url: str, body: dict[str, Any], field: str) -> None:
    headers = {"authorization": f"Bearer {key}", "x-api-key": key}
    with httpx.Client(timeout=30) as client:
        resp = client.post(gw.url + url, json=body, headers=headers)
    assert resp.status_code < 500, (field, body, resp.text)
    if resp.status_code == 200:
        return
    assert resp.status_code in (400, 404), (field, resp.status_code, resp.text)
    error = resp.json()["error"]
    if resp.status_code == 404:  # an unknown model, in the provider's own convention
        assert field == "model" and error.get("code") == "model_not_found", resp.text
        return
    # OpenAI errors carry the path in "param"; Anthropic's shape has no param: it leads the
    # message. Either way the caller is told which field was wrong.
    where = error.get("param") or error["message"].split(":", 1)[0]
    assert where and (where.startswith(field.split(".")[0].split("[")[0]) or where in (
        "messages", "model")), (field, resp.text)  # fmt: skip


SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])  # fmt: skip


@SETTINGS
@given(field=st.sampled_from(OPENAI_FIELDS), value=_json)
def test_openai_any_value_in_any_field(
    fuzz_gateway: tuple[Gateway, str], field: tuple[str | int, ...], value: Any
) -> None:
    body = copy.deepcopy(OPENAI_BASE)
    _set(body, field, value)
    _check(*fuzz_gateway, "/v1/chat/completions", body, _where(field))


@SETTINGS
@given(field=st.sampled_from(ANTHROPIC_FIELDS), value=_json)
def test_anthropic_any_value_in_any_field(
    fuzz_gateway: tuple[Gateway, str], field: tuple[str | int, ...], value: Any
) -> None:
    body = copy.deepcopy(ANTHROPIC_BASE)
    _set(body, field, value)
    _check(*fuzz_gateway, "/v1/messages", body, _where(field))
