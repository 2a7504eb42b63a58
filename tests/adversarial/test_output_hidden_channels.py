"""Output screening reads every text the caller receives, not only the answer's main text.

A model (or an injected page steering it) can put a secret where the screen did not look:
reasoning deltas (``reasoning_content`` / ``reasoning``), a ``refusal``, Anthropic ``thinking``
blocks, the whole ``input`` of a ``tool_use`` block given on its ``content_block_start`` (no
``input_json_delta`` at all), or the text of a block given on its start. Found: all of them
reached the caller unredacted. Now each is screened like answer text, in streams and in full
answers, in both wire formats; a call needing approval whose input came on its start is still
withheld with that input recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from billing_provider import serve
from scripted_provider import (
    ScriptedProvider,
    anthropic_message,
    openai_chunk,
    openai_usage,
    scripted_config,
    sse_events,
)

from harness import Gateway, serving

AWS = "AKIA" + "IOSFODNN7EXAMPLE"  # an AWS access key id: output screening redacts it
LEAK = f"the key is {AWS} ok"


def _openai_full(message: dict[str, Any]) -> dict[str, Any]:
    return {"id": "chatcmpl-s", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", **message},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}}  # fmt: skip


def _anthropic_full(content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "msg_s", "type": "message", "role": "assistant", "model": "m",
            "content": content, "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 10}}  # fmt: skip


def _openai_stream(field: str) -> list[dict[str, Any]]:
    pieces = [LEAK[:14], LEAK[14:]]  # the key split across two deltas
    return [
        openai_chunk({"role": "assistant", "content": ""}),
        *(openai_chunk({field: p}) for p in pieces),
        openai_chunk({"content": "done"}),
        openai_chunk({}, finish="stop"),
        openai_usage(),
    ]


SCRIPTS: dict[str, Any] = {
    "reasoning_content": _openai_stream("reasoning_content"),
    "reasoning": _openai_stream("reasoning"),
    "refusal": _openai_stream("refusal"),
    "full_refusal": _openai_full({"content": None, "refusal": LEAK}),
    "full_reasoning": _openai_full({"content": "done", "reasoning_content": LEAK}),
    "thinking": anthropic_message([
        [{"type": "thinking", "thinking": ""},
         {"type": "thinking_delta", "thinking": LEAK[:14]},
         {"type": "thinking_delta", "thinking": LEAK[14:]},
         {"type": "signature_delta", "signature": "sig"}],
        [{"type": "text", "text": ""}, {"type": "text_delta", "text": "done"}],
    ]),
    "tool_start": anthropic_message(
        [[{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": LEAK}}]],
        stop="tool_use",
    ),
    "text_start": anthropic_message([[{"type": "text", "text": LEAK}]]),
    "shell_start": anthropic_message(
        [[{"type": "tool_use", "id": "toolu_2", "name": "shell_exec", "input": {"cmd": "id"}}]],
        stop="tool_use",
    ),
    "full_thinking": _anthropic_full([
        {"type": "thinking", "thinking": LEAK, "signature": "sig"},
        {"type": "text", "text": "done"},
    ]),
}  # fmt: skip
TOOLS = {
    "openai": [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
               for n in ("lookup", "shell_exec")],
    "anthropic": [{"name": n, "input_schema": {"type": "object"}} for n in ("lookup", "shell_exec")],
}  # fmt: skip


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    scripted = ScriptedProvider()
    scripted.scripts.update(SCRIPTS)
    with serve(scripted) as url:
        yield url


@pytest.fixture(scope="module")
def gateway(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = scripted_config(provider, agents={"tools": {"require_approval": ["shell_*"]}})
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    return str(gateway.create_key("hidden-channels", "agents")["key"])


def _ask(gateway: Gateway, key: str, wire: str, script: str, stream: bool) -> httpx.Response:
    path = "/v1/messages" if wire == "anthropic" else "/v1/chat/completions"
    model = "claude-sonnet-4-5" if wire == "anthropic" else "gpt-4o"
    body = {"model": model, "max_tokens": 50, "stream": stream, "tools": TOOLS[wire],
            "messages": [{"role": "user", "content": f"SCRIPT:{script}"}]}  # fmt: skip
    headers = {"authorization": f"Bearer {key}", "x-api-key": key}
    resp = httpx.post(gateway.url + path, json=body, headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp


def _joined(resp: httpx.Response, stream: bool) -> str:
    """Everything the caller received, streamed pieces joined, as one JSON text."""
    if not stream:
        return resp.text
    events, pieces = "", ""
    for event in sse_events(resp.content):
        events += json.dumps(event)
        for choice in event.get("choices") or []:
            pieces += "".join(v for v in (choice.get("delta") or {}).values() if isinstance(v, str))
        delta = event.get("delta") or {}
        pieces += "".join(v for k, v in delta.items() if isinstance(v, str) and k != "type")
    return events + "\n" + pieces


@pytest.mark.parametrize(
    ("wire", "script", "stream"),
    [
        ("openai", "reasoning_content", True),
        ("openai", "reasoning", True),
        ("openai", "refusal", True),
        ("openai", "full_refusal", False),
        ("openai", "full_reasoning", False),
        ("anthropic", "thinking", True),
        ("anthropic", "tool_start", True),
        ("anthropic", "text_start", True),
        ("anthropic", "full_thinking", False),
    ],
)
def test_a_secret_in_a_side_channel_is_redacted(
    gateway: Gateway, key: str, wire: str, script: str, stream: bool
) -> None:
    resp = _ask(gateway, key, wire, script, stream)
    seen = _joined(resp, stream)
    assert AWS not in seen, seen
    assert "the key is" in seen  # the rest of the text still arrives
    assert "output_secret" in resp.headers.get("x-doorman-flags", "") or stream


def test_a_call_needing_approval_with_its_input_on_the_start_is_withheld(
    gateway: Gateway, key: str
) -> None:
    resp = _ask(gateway, key, "anthropic", "shell_start", True)
    events = sse_events(resp.content)
    assert not any((e.get("content_block") or {}).get("type") == "tool_use" for e in events)
    approval_id = resp.content.split(b"x-doorman-approval=")[1].split(b"\n")[0].decode()
    pending = gateway.admin().get("/admin/approvals").json()["data"]
    mine = next(a for a in pending if a["id"] == approval_id)
    assert mine["tool_call"]["input"] == {"cmd": "id"}
