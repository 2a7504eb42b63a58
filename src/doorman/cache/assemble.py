"""Rebuild the complete answer from a relayed SSE stream, so a stream can be cached.

Fed the exact bytes the client received; :meth:`StreamAssembler.body` returns the answer as
the non-streamed body of the same wire format (text, tool calls, thinking blocks, stop reason),
with the usage the pipeline settled. ``complete`` is True only once the provider's own end
marker arrived (``[DONE]`` / ``message_stop``): a cut stream is never stored.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from doorman.upstream.deployment import Wire
from doorman.upstream.wire import Usage


class StreamAssembler:
    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.complete = False
        self.broken = False  # an event we could not read: do not store a guess
        self._partial = b""
        self.meta: dict[str, Any] = {}
        # OpenAI
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        # Anthropic
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json_parts: dict[int, list[str]] = {}
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None

    def feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an unterminated tail waits for the next chunk
        for line in lines:
            if line.startswith(b"data:"):
                self._data(line[5:].strip())

    def _data(self, payload: bytes) -> None:
        if payload == b"[DONE]":
            self.complete = True
            return
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.broken = True
            return
        if not isinstance(event, dict):
            self.broken = True
            return
        if self.wire == "anthropic":
            self._anthropic(event)
        else:
            self._openai(event)

    # ------------------------------------------------------------------ OpenAI
    def _openai(self, event: dict[str, Any]) -> None:
        for name in ("id", "created", "model", "system_fingerprint"):
            if name in event and name not in self.meta:
                self.meta[name] = event[name]
        choices = event.get("choices") or []
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict):
                continue
            if choice.get("index", 0) != 0:
                self.broken = True  # n > 1 is refused upstream of here; never guess
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self.text.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                self.refusal.append(delta["refusal"])
            for call in delta.get("tool_calls") or []:
                if isinstance(call, dict):
                    self._tool_call_delta(call)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])

    def _tool_call_delta(self, call: dict[str, Any]) -> None:
        index = int(call.get("index", 0))
        acc = self.tool_calls.setdefault(
            index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if call.get("id"):
            acc["id"] = call["id"]
        if call.get("type"):
            acc["type"] = call["type"]
        fn = call.get("function") or {}
        if isinstance(fn.get("name"), str):
            acc["function"]["name"] += fn["name"]
        if isinstance(fn.get("arguments"), str):
            acc["function"]["arguments"] += fn["arguments"]

    # --------------------------------------------------------------- Anthropic
    def _anthropic(self, event: dict[str, Any]) -> None:
        etype = event.get("type")
        if etype == "message_start":
            message = event.get("message") or {}
            for name in ("id", "model", "role", "type"):
                if name in message:
                    self.meta[name] = message[name]
        elif etype == "content_block_start":
            index = int(event.get("index", 0))
            block = dict(event.get("content_block") or {})
            self.blocks[index] = block
            if block.get("type") in ("tool_use", "server_tool_use"):
                self.json_parts[index] = []
        elif etype == "content_block_delta":
            index = int(event.get("index", 0))
            current = self.blocks.get(index)
            delta = event.get("delta") or {}
            if current is None:
                self.broken = True
                return
            block = current
            dtype = delta.get("type")
            if dtype == "text_delta":
                block["text"] = block.get("text", "") + str(delta.get("text", ""))
            elif dtype == "input_json_delta":
                self.json_parts.setdefault(index, []).append(str(delta.get("partial_json", "")))
            elif dtype == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
            elif dtype == "signature_delta":
                block["signature"] = str(delta.get("signature", ""))
            else:
                self.broken = True  # a delta type this version cannot rebuild
        elif etype == "content_block_stop":
            index = int(event.get("index", 0))
            parts = self.json_parts.pop(index, None)
            if parts is not None and index in self.blocks:
                raw = "".join(parts)
                try:
                    self.blocks[index]["input"] = orjson.loads(raw) if raw else {}
                except orjson.JSONDecodeError:
                    self.broken = True
        elif etype == "message_delta":
            delta = event.get("delta") or {}
            if delta.get("stop_reason"):
                self.stop_reason = str(delta["stop_reason"])
            self.stop_sequence = delta.get("stop_sequence")
        elif etype == "message_stop":
            self.complete = True
        elif etype == "error":
            self.broken = True

    # ------------------------------------------------------------------ result
    def body(self, usage: Usage, model: str) -> bytes | None:
        """The complete answer, or None when the stream was cut or unreadable."""
        if not self.complete or self.broken:
            return None
        if self.wire == "anthropic":
            content = [self.blocks[i] for i in sorted(self.blocks)]
            out: dict[str, Any] = {
                "id": self.meta.get("id", ""),
                "type": "message",
                "role": "assistant",
                "model": self.meta.get("model", model),
                "content": content,
                "stop_reason": self.stop_reason,
                "stop_sequence": self.stop_sequence,
                "usage": {
                    "input_tokens": max(0, usage.input_tokens - usage.cached_tokens),
                    "output_tokens": usage.output_tokens,
                },
            }
            return orjson.dumps(out)
        text = "".join(self.text)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text if text or not self.tool_calls else None,
        }
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        out = {
            "id": self.meta.get("id", ""),
            "object": "chat.completion",
            "created": self.meta.get("created", int(time.time())),
            "model": self.meta.get("model", model),
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": {
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": usage.input_tokens + usage.output_tokens,
            },
        }
        return orjson.dumps(out)
