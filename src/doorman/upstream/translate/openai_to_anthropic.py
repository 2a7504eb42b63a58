"""An OpenAI Chat Completions caller served by an Anthropic Messages provider.

Requests go OpenAI -> Anthropic; full responses and streams come back Anthropic -> OpenAI.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from doorman.upstream.translate.common import (
    STOP_TO_FINISH,
    Untranslatable,
    arguments_to_input,
    image_source_from_url,
    input_to_arguments,
    sse,
)

# Fields whose absence at the provider does not change what the model is asked to do.
_DROPPED = frozenset(
    {"model", "messages", "stream_options", "seed", "service_tier", "store", "metadata", "n"}
)
# Fields that mean nothing at their default value and have no Anthropic counterpart otherwise.
_NEUTRAL = {
    "logprobs": (None, False),
    "presence_penalty": (None, 0, 0.0),
    "frequency_penalty": (None, 0, 0.0),
    "logit_bias": (None, {}),
    "top_logprobs": (None, 0),
    "parallel_tool_calls": (None, True, False),
    "response_format": (None, {"type": "text"}),
    "modalities": (None, ["text"]),
}


def request(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat request as an Anthropic Messages request (the model name is set later)."""
    out: dict[str, Any] = {"model": body.get("model")}
    for key, value in body.items():
        if key in _DROPPED or key in _HANDLED:
            continue
        if key in _NEUTRAL and value in _NEUTRAL[key]:
            continue
        raise Untranslatable(key, "it has no Anthropic counterpart")
    system, messages = _messages(body.get("messages") or [])
    if system:
        # One plain-text system message stays a string, as an SDK user would write it.
        plain = len(system) == 1 and isinstance(body["messages"][0].get("content"), str)
        out["system"] = system[0]["text"] if plain else system
    out["messages"] = messages
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        out["max_tokens"] = max_tokens
    temperature = body.get("temperature")
    if temperature is not None:
        if temperature > 1:
            raise Untranslatable("temperature", "Anthropic accepts 0 to 1")
        out["temperature"] = temperature
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("stream"):
        out["stream"] = True
    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None:
        out["tool_choice"] = choice
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    return out


_HANDLED = frozenset(
    {
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "tools",
        "tool_choice",
        "user",
    }
)


def _messages(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        role = msg.get("role")
        if "name" in msg:
            raise Untranslatable(f"{where}.name", "Anthropic messages carry no author name")
        if role in ("system", "developer"):
            if out:
                raise Untranslatable(
                    f"{where}.role", "a system message after the conversation started"
                )
            system.extend(_text_blocks(msg.get("content"), f"{where}.content"))
        elif role == "user":
            out.append({"role": "user", "content": _user_content(msg.get("content"), where)})
        elif role == "assistant":
            out.append({"role": "assistant", "content": _assistant_content(msg, where)})
        elif role == "tool":
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": msg.get("tool_call_id"),
                "content": _tool_result_content(msg.get("content"), f"{where}.content"),
            }
            out.append({"role": "user", "content": [block]})
        else:
            raise Untranslatable(f"{where}.role", f"the role '{role}' has no Anthropic counterpart")
    return system, out


def _text_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks = []
    for j, part in enumerate(content or []):
        if part.get("type") != "text":
            raise Untranslatable(f"{where}[{j}]", "system messages can only carry text")
        blocks.append({"type": "text", "text": part.get("text", "")})
    return blocks


def _user_content(content: Any, where: str) -> Any:
    if isinstance(content, str):
        return content
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content or []):
        field = f"{where}.content[{j}]"
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif kind == "image_url":
            image = part.get("image_url") or {}
            url = image.get("url") if isinstance(image, dict) else None
            if not isinstance(url, str):
                raise Untranslatable(f"{field}.image_url", "the image has no URL")
            blocks.append({"type": "image", "source": image_source_from_url(url, field)})
        else:
            raise Untranslatable(field, f"content parts of type '{kind}' have no counterpart")
    return blocks


def _assistant_content(msg: dict[str, Any], where: str) -> Any:
    content = msg.get("content")
    calls = msg.get("tool_calls") or []
    if msg.get("function_call") is not None:
        raise Untranslatable(f"{where}.function_call", "use tool_calls")
    if isinstance(content, str) and not calls:
        return content
    blocks: list[dict[str, Any]] = []
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):
        for j, part in enumerate(content):
            if part.get("type") != "text":
                raise Untranslatable(f"{where}.content[{j}]", "only text can be translated")
            blocks.append({"type": "text", "text": part.get("text", "")})
    for k, call in enumerate(calls):
        field = f"{where}.tool_calls[{k}]"
        fn = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": fn.get("name"),
                "input": arguments_to_input(fn.get("arguments"), f"{field}.function.arguments"),
            }
        )
    return blocks


def _tool_result_content(content: Any, where: str) -> Any:
    if content is None or isinstance(content, str):
        return content or ""
    return _text_blocks(content, where)


def _tool(tool: dict[str, Any], i: int) -> dict[str, Any]:
    if tool.get("type", "function") != "function":
        raise Untranslatable(f"tools[{i}].type", "only function tools can be translated")
    fn = tool.get("function") or {}
    if fn.get("strict"):
        raise Untranslatable(f"tools[{i}].function.strict", "Anthropic has no strict schemas")
    out: dict[str, Any] = {
        "name": fn.get("name"),
        "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
    }
    if fn.get("description") is not None:
        out["description"] = fn["description"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None
    if choice is None:
        out = None
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        out = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    else:
        raise Untranslatable("tool_choice", "this tool choice has no Anthropic counterpart")
    if parallel is False:
        out = out or {"type": "auto"}
        if out["type"] != "none":
            out["disable_parallel_tool_use"] = True
    return out


# --------------------------------------------------------------------------- responses
def usage(u: Any) -> dict[str, Any]:
    """Anthropic usage as OpenAI usage (prompt tokens include cache reads and writes)."""
    u = u if isinstance(u, dict) else {}
    read = int(u.get("cache_read_input_tokens") or 0)
    created = int(u.get("cache_creation_input_tokens") or 0)
    prompt = int(u.get("input_tokens") or 0) + read + created
    completion = int(u.get("output_tokens") or 0)
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if read:
        out["prompt_tokens_details"] = {"cached_tokens": read}
    return out


def response(body: dict[str, Any]) -> dict[str, Any]:
    """A full Anthropic Messages response as an OpenAI chat completion."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in body.get("content") or []:
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
        # thinking blocks are the provider's private reasoning: OpenAI answers carry none.
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": body.get("id"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": STOP_TO_FINISH.get(str(body.get("stop_reason")), "stop"),
            }
        ],
        "usage": usage(body.get("usage")),
    }


# --------------------------------------------------------------------------- streams
class StreamToOpenAI:
    """Anthropic SSE events -> OpenAI ``chat.completion.chunk`` events, one stream."""

    def __init__(self, *, include_usage: bool) -> None:
        self.include_usage = include_usage
        self.base: dict[str, Any] = {"object": "chat.completion.chunk", "created": int(time.time())}
        self.usage: dict[str, Any] = {}
        self.tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool_calls index
        self.finish: str | None = None
        self.done = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse({**self.base, "choices": [choice]})

    def feed(self, event: str | None, data: bytes) -> list[bytes]:
        try:
            ev = orjson.loads(data)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(ev, dict):
            return []
        kind = ev.get("type")
        if kind == "message_start":
            msg = ev.get("message") or {}
            self.base["id"] = msg.get("id")
            self.base["model"] = msg.get("model")
            self.usage.update(msg.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = ev.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.tool_index[ev.get("index", 0)] = len(self.tool_index)
                call = {
                    "index": index,
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                return [self._chunk({"tool_calls": [call]})]
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            return []
        if kind == "content_block_delta":
            delta = ev.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if delta.get("type") == "input_json_delta":
                index = self.tool_index.get(ev.get("index", 0), 0)
                args = {"index": index, "function": {"arguments": delta.get("partial_json", "")}}
                return [self._chunk({"tool_calls": [args]})]
            return []  # thinking and signature deltas: private reasoning, not part of the answer
        if kind == "message_delta":
            self.usage.update({k: v for k, v in (ev.get("usage") or {}).items() if v is not None})
            reason = (ev.get("delta") or {}).get("stop_reason")
            if reason:
                self.finish = STOP_TO_FINISH.get(str(reason), "stop")
                return [self._chunk({}, self.finish)]
            return []
        if kind == "message_stop":
            return self._end()
        if kind == "error":
            err = ev.get("error") or {}
            self.done = True
            body = {
                "error": {
                    "message": err.get("message", "upstream error"),
                    "type": err.get("type", "api_error"),
                    "code": None,
                }
            }
            return [sse(body)]
        return []

    def _end(self) -> list[bytes]:
        if self.done:
            return []
        self.done = True
        out: list[bytes] = []
        if self.include_usage:
            out.append(sse({**self.base, "choices": [], "usage": usage(self.usage)}))
        out.append(b"data: [DONE]\n\n")
        return out

    def close(self) -> list[bytes]:
        """Nothing more is owed when the upstream stream was cut: the client sees no [DONE]."""
        return []
