"""A test provider that answers exactly what a test scripted, over real HTTP, in either format.

Where the simulator only says well-formed things, a real provider (or one behind a hostile
proxy) may send anything its format allows: a legacy ``function_call`` whose name arrives in
pieces, reasoning deltas, refusals, a ``tool_use`` block whose whole input comes on its start
event. A test registers a script under a name (``provider.scripts[name] = ...``) and asks for it
with ``SCRIPT:<name>`` in the last user message; the provider replays it: a list of SSE events
(dicts, sent as ``data:`` lines, with Anthropic's ``event:`` line from their ``type``) for a
stream, or a JSON body for a full answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_SCRIPT = re.compile(r"SCRIPT:(\w+)")


class ScriptedProvider:
    def __init__(self) -> None:
        self.scripts: dict[str, list[dict[str, Any]] | dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.openai, methods=["POST"]),
                Route("/v1/messages", self.anthropic, methods=["POST"]),
            ]
        )

    def _script(self, body: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
        match = _SCRIPT.search(json.dumps(body["messages"][-1].get("content")))
        if match is None or match.group(1) not in self.scripts:
            raise KeyError("no script named in the last user message")
        return self.scripts[match.group(1)]

    async def openai(self, request: Request) -> Response:
        return await self._answer(request, anthropic=False)

    async def anthropic(self, request: Request) -> Response:
        return await self._answer(request, anthropic=True)

    async def _answer(self, request: Request, *, anthropic: bool) -> Response:
        body = json.loads(await request.body())
        self.requests.append(body)
        script = self._script(body)
        if isinstance(script, dict):
            return JSONResponse(script)
        return StreamingResponse(self._events(script, anthropic), media_type="text/event-stream")

    @staticmethod
    async def _events(events: list[dict[str, Any]], anthropic: bool) -> AsyncIterator[bytes]:
        for event in events:
            head = f"event: {event['type']}\n" if anthropic else ""
            yield f"{head}data: {json.dumps(event)}\n\n".encode()
        if not anthropic:
            yield b"data: [DONE]\n\n"


def openai_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip


def openai_usage() -> dict[str, Any]:
    return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 10,
                                     "total_tokens": 20}}  # fmt: skip


def anthropic_message(
    blocks: list[list[dict[str, Any]]], stop: str = "end_turn"
) -> list[dict[str, Any]]:
    """A whole Anthropic stream: message_start, each block (its start event, then deltas, then
    its stop), message_delta and message_stop."""
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        "id": "msg_s", "type": "message", "role": "assistant", "model": "m", "content": [],
        "usage": {"input_tokens": 10, "output_tokens": 1}}}]  # fmt: skip
    for index, (start, *deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append({"type": "message_delta", "delta": {"stop_reason": stop},
                   "usage": {"output_tokens": 10}})  # fmt: skip
    events.append({"type": "message_stop"})
    return events


def scripted_config(url: str, **tiers: dict[str, Any]) -> dict[str, Any]:
    """A gateway config whose two models live on the scripted provider (one per format)."""
    return {
        "providers": {
            "scriptopenai": {"kind": "openai", "base_url": f"{url}/v1"},
            "scriptanthropic": {"kind": "anthropic", "base_url": url},
        },
        "models": {
            "gpt-4o": {"provider": "scriptopenai", "price": {"input": 2.5, "output": 10.0}},
            "claude-sonnet-4-5": {"provider": "scriptanthropic",
                                  "price": {"input": 3.0, "output": 15.0}},
        },
        "screening": {"injection": {"action": "off"}},  # the scripts' names are not under test
        "tiers": tiers,
    }  # fmt: skip


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    """The JSON events of an SSE body, in order (comments and ``[DONE]`` skipped)."""
    out = []
    for frame in raw.split(b"\n\n"):
        for line in frame.split(b"\n"):
            if line.startswith(b"data: {"):
                out.append(json.loads(line[6:]))
    return out
