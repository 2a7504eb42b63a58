"""An Anthropic Messages caller served by an OpenAI-compatible provider.

Requests go Anthropic -> OpenAI; full responses and streams come back OpenAI -> Anthropic.
"""

from __future__ import annotations

from typing import Any

import orjson

from doorman.upstream.translate.common import (
    FINISH_TO_STOP,
    Untranslatable,
    arguments_to_input,
    image_url_from_source,
    input_to_arguments,
    sse,
)

_DROPPED = frozenset({"model", "messages", "system", "service_tier", "container", "mcp_servers"})
_HANDLED = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "stop_sequences",
        "stream",
        "tools",
        "tool_choice",
        "metadata",
    }
)
MAX_OPENAI_STOPS = 4


def request(body: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic Messages request as an OpenAI chat request (the model name is set later)."""
    for key, value in body.items():
        if key in _DROPPED or key in _HANDLED:
            continue
        if key == "thinking" and (not isinstance(value, dict) or value.get("type") == "disabled"):
            continue
        if key == "top_k" and value is None:
            continue
        raise Untranslatable(key, "it has no OpenAI counterpart")
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _system_text(system)})
    for i, msg in enumerate(body.get("messages") or []):
        messages.extend(_message(msg, f"messages[{i}]"))
    out: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    if body.get("max_tokens") is not None:
        out["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    stops = body.get("stop_sequences")
    if stops:
        if len(stops) > MAX_OPENAI_STOPS:
            raise Untranslatable("stop_sequences", f"OpenAI accepts at most {MAX_OPENAI_STOPS}")
        out["stop"] = list(stops)
    if body.get("stream"):
        out["stream"] = True
    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
    choice = body.get("tool_choice")
    if choice is not None:
        _tool_choice(choice, out)
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        out["user"] = metadata["user_id"]
    return out


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    texts = []
    for j, block in enumerate(system):
        if block.get("type") != "text":
            raise Untranslatable(f"system[{j}]", "system blocks can only carry text")
        texts.append(str(block.get("text", "")))
    return "".join(texts)  # cache_control is a pricing hint: dropped


def _message(msg: dict[str, Any], where: str) -> list[dict[str, Any]]:
    role = msg.get("role")
    content = msg.get("content")
    if role == "assistant":
        return [_assistant(content, where)]
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(content or []):
        field = f"{where}.content[{j}]"
        kind = block.get("type")
        if kind == "tool_result":
            if block.get("is_error"):
                raise Untranslatable(f"{field}.is_error", "OpenAI tool results carry no error flag")
            results.append(
                {
                    "role": "tool",
                    "tool_call_id": block.get("tool_use_id"),
                    "content": _result_content(block.get("content"), f"{field}.content"),
                }
            )
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            url = image_url_from_source(block.get("source"), f"{field}.source")
            parts.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise Untranslatable(field, f"content blocks of type '{kind}' have no counterpart")
    if results and parts and content and content[0].get("type") != "tool_result":
        raise Untranslatable(f"{where}.content", "text before tool results cannot be ordered")
    out = results
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _result_content(content: Any, where: str) -> Any:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for j, block in enumerate(content):
        if block.get("type") != "text":
            raise Untranslatable(f"{where}[{j}]", "OpenAI tool results can only carry text")
        parts.append({"type": "text", "text": block.get("text", "")})
    return parts


def _assistant(content: Any, where: str) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(content or []):
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": input_to_arguments(block.get("input")),
                    },
                }
            )
        else:
            raise Untranslatable(f"{where}.content[{j}]", f"'{kind}' blocks have no counterpart")
    out: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        out["tool_calls"] = calls
    return out


def _tool(tool: dict[str, Any], i: int) -> dict[str, Any]:
    if tool.get("type") not in (None, "custom"):
        raise Untranslatable(f"tools[{i}].type", "server tools run at Anthropic only")
    fn: dict[str, Any] = {"name": tool.get("name")}
    if tool.get("description") is not None:
        fn["description"] = tool["description"]
    fn["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
    return {"type": "function", "function": fn}


def _tool_choice(choice: dict[str, Any], out: dict[str, Any]) -> None:
    kind = choice.get("type")
    if kind == "auto":
        out["tool_choice"] = "auto"
    elif kind == "any":
        out["tool_choice"] = "required"
    elif kind == "none":
        out["tool_choice"] = "none"
    elif kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    else:
        raise Untranslatable("tool_choice.type", f"'{kind}' has no OpenAI counterpart")
    if choice.get("disable_parallel_tool_use"):
        out["parallel_tool_calls"] = False


# --------------------------------------------------------------------------- responses
def usage(u: Any) -> dict[str, Any]:
    """OpenAI usage as Anthropic usage (cached prompt tokens become cache reads)."""
    u = u if isinstance(u, dict) else {}
    details = u.get("prompt_tokens_details")
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    out: dict[str, Any] = {
        "input_tokens": int(u.get("prompt_tokens") or 0) - cached,
        "output_tokens": int(u.get("completion_tokens") or 0),
    }
    if cached:
        out["cache_read_input_tokens"] = cached
    return out


def response(body: dict[str, Any]) -> dict[str, Any]:
    """A full OpenAI chat completion as an Anthropic Messages response."""
    choices = body.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        content.append({"type": "text", "text": refusal})
    for k, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": fn.get("name"),
                "input": arguments_to_input(fn.get("arguments"), f"tool_calls[{k}]"),
            }
        )
    return {
        "id": body.get("id"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": FINISH_TO_STOP.get(str(choice.get("finish_reason")), "end_turn"),
        "stop_sequence": None,
        "usage": usage(body.get("usage")),
    }


# --------------------------------------------------------------------------- streams
class StreamToAnthropic:
    """OpenAI ``chat.completion.chunk`` events -> Anthropic SSE events, one stream.

    ``input_tokens`` (the gateway's count) fills ``message_start``: OpenAI reports usage only in
    the last chunk, and the final ``message_delta`` carries the provider's figures.
    """

    def __init__(self, *, input_tokens: int) -> None:
        self.input_tokens = input_tokens
        self.started = False
        self.block: int | None = None  # index of the open content block
        self.block_kind: str | None = None
        self.next_index = 0
        self.tools: dict[int, int] = {}  # OpenAI tool_calls index -> Anthropic block index
        self.stop: str | None = None
        self.usage: dict[str, Any] | None = None
        self.done = False

    def _start(self, chunk: dict[str, Any]) -> list[bytes]:
        self.started = True
        message: dict[str, Any] = {
            "id": chunk.get("id"),
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model"),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 0},
        }
        return [sse({"type": "message_start", "message": message}, "message_start")]

    def _close_block(self) -> list[bytes]:
        if self.block is None:
            return []
        index, self.block, self.block_kind = self.block, None, None
        return [sse({"type": "content_block_stop", "index": index}, "content_block_stop")]

    def _open(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        out = self._close_block()
        self.block, self.block_kind = self.next_index, kind
        self.next_index += 1
        event = {"type": "content_block_start", "index": self.block, "content_block": block}
        out.append(sse(event, "content_block_start"))
        return out

    def _delta(self, delta: dict[str, Any]) -> bytes:
        event = {"type": "content_block_delta", "index": self.block, "delta": delta}
        return sse(event, "content_block_delta")

    def feed(self, event: str | None, data: bytes) -> list[bytes]:
        if data.strip() == b"[DONE]":
            return self._end()
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(chunk, dict):
            return []
        if "error" in chunk:
            err = chunk.get("error") or {}
            self.done = True
            body = {
                "type": "error",
                "error": {
                    "type": "api_error",
                    "message": str(err.get("message", "upstream error")),
                },
            }
            return [sse(body, "error")]
        out: list[bytes] = [] if self.started else self._start(chunk)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self.block_kind != "text":
                    out += self._open("text", {"type": "text", "text": ""})
                out.append(self._delta({"type": "text_delta", "text": text}))
            for call in delta.get("tool_calls") or []:
                out += self._tool_delta(call)
            if choice.get("finish_reason"):
                self.stop = FINISH_TO_STOP.get(str(choice["finish_reason"]), "end_turn")
        return out

    def _tool_delta(self, call: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        index = call.get("index", 0)
        fn = call.get("function") or {}
        if index not in self.tools:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id"),
                "name": fn.get("name"),
                "input": {},
            }
            out += self._open("tool_use", block)
            self.tools[index] = self.next_index - 1
        args = fn.get("arguments")
        if isinstance(args, str) and args and self.block == self.tools[index]:
            out.append(self._delta({"type": "input_json_delta", "partial_json": args}))
        return out

    def _end(self) -> list[bytes]:
        if self.done:
            return []
        self.done = True
        out = self._start({}) if not self.started else []
        out += self._close_block()
        u = usage(self.usage) if self.usage is not None else {"output_tokens": 0}
        delta_usage = {"output_tokens": u["output_tokens"]}
        if self.usage is not None:
            delta_usage["input_tokens"] = u["input_tokens"]
            if "cache_read_input_tokens" in u:
                delta_usage["cache_read_input_tokens"] = u["cache_read_input_tokens"]
        delta = {"stop_reason": self.stop or "end_turn", "stop_sequence": None}
        out.append(
            sse({"type": "message_delta", "delta": delta, "usage": delta_usage}, "message_delta")
        )
        out.append(sse({"type": "message_stop"}, "message_stop"))
        return out

    def close(self) -> list[bytes]:
        """Nothing more is owed when the upstream stream was cut: the client sees no message_stop."""
        return []
