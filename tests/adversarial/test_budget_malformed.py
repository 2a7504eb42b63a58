"""Malformed requests get a 400 naming the path of what is wrong, in the caller's wire format —
never a 500, and never a request the gateway cannot count forwarded to the provider."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from harness import Gateway, start_gateway

OPEN_TIER = {
    "requests_per_minute": 100_000,
    "tokens_per_minute": 1_000_000_000,
    "tokens_per_day": 1_000_000_000,
    "max_output_tokens": 64,
    "daily_budget_usd": 1000.0,
}
OPENAI = "/v1/chat/completions"
ANTHROPIC = "/v1/messages"
USER = {"role": "user", "content": "hello"}


@pytest.fixture(scope="module")
def open_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    """A gateway with no practical limits (built-in simulator) and one key on it."""
    gw = start_gateway(Path(tmp_path_factory.mktemp("gw")), {"tiers": {"open": OPEN_TIER}})
    try:
        yield gw, str(gw.create_key("fuzzer", "open")["key"])
    finally:
        gw.stop()


def _post(open_gateway: tuple[Gateway, str], path: str, body: Any) -> httpx.Response:
    gw, key = open_gateway
    headers = {"authorization": f"Bearer {key}", "x-api-key": key}
    return httpx.post(gw.url + path, json=body, headers=headers, timeout=30)


def _error(resp: httpx.Response) -> dict[str, Any]:
    data: dict[str, Any] = resp.json()["error"]
    return data


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"messages": [{"role": "assistant", "tool_calls": 5}]}, "messages[0].tool_calls"),
        ({"messages": [{"role": "assistant", "tool_calls": [{"id": "a", "type": "function",
          "function": {"name": "f", "arguments": {"x": 1}}}]}]},
         "messages[0].tool_calls[0].function.arguments"),
        ({"messages": [{"role": "user", "content": [{"type": "video", "url": "x"}]}]},
         "messages[0].content[0].type"),
        ({"messages": [{"role": "user", "content": "hi", "name": 7}]}, "messages[0].name"),
        ({"messages": [USER], "tools": [{"type": "function", "function": {"name": "f",
          "parameters": "not a schema"}}]}, "tools[0].function.parameters"),
        ({"messages": [USER], "response_format": {"type": "json_schema",
          "json_schema": {"name": "x", "schema": []}}}, "response_format.json_schema.schema"),
        ({"messages": [USER], "stream_options": "yes"}, "stream_options"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [USER], "max_tokens": True}, "max_tokens"),
    ],
)
def test_openai_wrong_types_are_400_with_their_path(
    open_gateway: tuple[Gateway, str], body: dict[str, Any], path: str
) -> None:
    resp = _post(open_gateway, OPENAI, {"model": "sim-small", **body})
    assert resp.status_code == 400, resp.text
    error = _error(resp)
    assert error["param"] == path
    assert error["type"] == "invalid_request_error"
    assert path in error["message"]


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [
        ({"messages": [USER]}, "max_tokens", "required"),
        ({"max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "audio",
          "data": "x"}]}]}, "messages[0].content[0].type", "unknown content type 'audio'"),
        ({"max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "tool_use",
          "id": "t", "name": "f", "input": "text"}]}]}, "messages[0].content[0].input", "object"),
        ({"max_tokens": 10, "system": 5, "messages": [USER]}, "system", "got `int`"),
        ({"max_tokens": 10, "messages": [USER], "tools": [{"name": "f",
          "input_schema": 3}]}, "tools[0].input_schema", "got `int`"),
    ],
)
def test_anthropic_wrong_types_are_400_with_their_path(
    open_gateway: tuple[Gateway, str], body: dict[str, Any], path: str, words: str
) -> None:
    resp = _post(open_gateway, ANTHROPIC, {"model": "sim-claude", **body})
    assert resp.status_code == 400, resp.text
    data = resp.json()
    assert data["type"] == "error"
    assert data["error"]["type"] == "invalid_request_error"
    assert data["error"]["message"].startswith(path + ":")
    assert words in data["error"]["message"]


def _png(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_image_only_prompts_are_not_empty(open_gateway: tuple[Gateway, str]) -> None:
    """A message made only of an image is a prompt (billed), not "The prompt is empty"."""
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": _png(32, 32)}}  # fmt: skip
    resp = _post(open_gateway, ANTHROPIC, {"model": "sim-claude", "max_tokens": 5,
                                           "messages": [{"role": "user", "content": [image]}]})  # fmt: skip
    assert resp.status_code == 200, resp.text
    blank = _post(open_gateway, OPENAI, {"model": "sim-small",
                                         "messages": [{"role": "user", "content": "  "}]})  # fmt: skip
    assert blank.status_code == 400
    assert _error(blank)["code"] == "empty_prompt"


def test_unknown_top_level_fields_are_accepted(
    open_gateway: tuple[Gateway, str],
) -> None:
    resp = _post(open_gateway, OPENAI, {"model": "sim-small", "messages": [USER],
                                        "max_tokens": 3, "some_new_provider_flag": {"x": [1]}})  # fmt: skip
    assert resp.status_code == 200, resp.text
