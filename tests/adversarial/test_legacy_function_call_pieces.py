"""OpenAI's legacy ``function_call`` in a stream, its name split across deltas.

A streamed ``tool_calls`` call is held until its name is whole (its arguments start, another
call starts, or the choice finishes) before the tier's ``require_approval`` patterns are
checked. The legacy ``function_call`` was decided on its first name piece: ``shel`` needs no
approval, so the call was let through, and the later piece ``l_exec`` could only end the
stream with an error (the client already held a call named ``shel``). Now the legacy form is
joined like ``tool_calls``: the whole name is checked, the call is withheld and recorded, and
the caller gets the notice; a passing call still reaches the client whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from billing_provider import serve
from scripted_provider import ScriptedProvider, openai_chunk, scripted_config, sse_events

from harness import Gateway, serving

FUNCTIONS = [{"name": n, "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}
             for n in ("shell_exec", "get_weather")]  # fmt: skip


def _split_call(first: str, second: str, args: str) -> list[dict[str, Any]]:
    return [
        openai_chunk(
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": first, "arguments": ""},
            }
        ),
        openai_chunk({"function_call": {"name": second}}),
        openai_chunk({"function_call": {"arguments": args}}),
        openai_chunk({}, finish="function_call"),
    ]


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[ScriptedProvider, str]]:
    scripted = ScriptedProvider()
    scripted.scripts["shell"] = _split_call("shel", "l_exec", '{"cmd": "rm -rf /"}')
    scripted.scripts["weather"] = _split_call("get_", "weather", '{"cmd": "Oslo"}')
    with serve(scripted) as url:
        yield scripted, url


@pytest.fixture(scope="module")
def gateway(provider: tuple[ScriptedProvider, str], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Gateway]:  # fmt: skip
    config = scripted_config(provider[1], agents={"tools": {"require_approval": ["shell_*"]}})
    yield from serving(tmp_path_factory, config)


def _stream(gateway: Gateway, key: str, script: str) -> tuple[dict[str, Any], bytes]:
    """What the OpenAI SDK would assemble from the stream: text, the legacy call, an error."""
    body = {"model": "gpt-4o", "stream": True, "max_tokens": 50, "functions": FUNCTIONS,
            "messages": [{"role": "user", "content": f"SCRIPT:{script}"}]}  # fmt: skip
    resp = httpx.post(f"{gateway.url}/v1/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {key}"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    view: dict[str, Any] = {"text": "", "name": "", "arguments": "", "error": None}
    for event in sse_events(resp.content):
        if "error" in event:
            view["error"] = event["error"]
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            view["text"] += delta.get("content") or ""
            call = delta.get("function_call") or {}
            view["name"] += call.get("name") or ""
            view["arguments"] += call.get("arguments") or ""
    return view, resp.content


def test_a_legacy_call_named_in_pieces_is_withheld_whole(gateway: Gateway) -> None:
    key = str(gateway.create_key("legacy-agent", "agents")["key"])
    view, raw = _stream(gateway, key, "shell")
    assert view["error"] is None, view  # withheld, not a broken stream
    assert view["name"] == "" and view["arguments"] == ""  # the client holds no call at all
    assert "needs a person's approval" in view["text"] and b"x-doorman-approval=apr_" in raw
    approval_id = raw.split(b"x-doorman-approval=")[1].split(b"\n")[0].decode()
    pending = gateway.admin().get("/admin/approvals").json()
    mine = next(a for a in pending["data"] if a["id"] == approval_id)
    assert mine["tool_name"] == "shell_exec"  # recorded under its whole name


def test_a_passing_legacy_call_reaches_the_client_whole(gateway: Gateway) -> None:
    key = str(gateway.create_key("legacy-weather", "agents")["key"])
    view, _ = _stream(gateway, key, "weather")
    assert view["error"] is None
    assert (view["name"], view["arguments"]) == ("get_weather", '{"cmd": "Oslo"}')
