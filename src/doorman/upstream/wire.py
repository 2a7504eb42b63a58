"""The two wire formats: building provider requests and reading usage from their answers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from doorman.cost.tokens import encoding_for, get_encoding
from doorman.upstream.deployment import Wire
from doorman.upstream.output_cap import TokenBudget


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens read from the provider's prompt cache
    reported: bool = False  # True when the provider said so, False when we counted ourselves
    cache_write_tokens: int = 0  # prompt tokens written to it (Anthropic cache_creation)

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


Endpoint = Literal["chat", "embeddings", "transcriptions"]


def request_url(wire: Wire, base_url: str, endpoint: Endpoint = "chat") -> str:
    if endpoint == "embeddings":
        return base_url + "/embeddings"  # OpenAI-compatible providers only
    if endpoint == "transcriptions":
        return base_url + "/audio/transcriptions"  # OpenAI-compatible, multipart
    return base_url + ("/v1/messages" if wire == "anthropic" else "/chat/completions")


def request_headers(
    wire: Wire, api_key: str | None, extra: dict[str, str], anthropic_version: str
) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": "application/json", **extra}
    if wire == "anthropic":
        headers["anthropic-version"] = anthropic_version
        if api_key:
            headers["x-api-key"] = api_key
    elif api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


def usage_from_body(wire: Wire, body: dict[str, Any]) -> Usage | None:
    u = body.get("usage")
    if not isinstance(u, dict):
        return None
    if wire == "anthropic":
        cached = int(u.get("cache_read_input_tokens") or 0)
        created = int(u.get("cache_creation_input_tokens") or 0)
        return Usage(
            input_tokens=int(u.get("input_tokens") or 0) + cached + created,
            output_tokens=int(u.get("output_tokens") or 0),
            cached_tokens=cached,
            reported=True,
            cache_write_tokens=created,
        )
    details = u.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(u.get("prompt_tokens") or 0),
        output_tokens=int(u.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0,
        reported=True,
    )


class StreamMeter:
    """Reads an SSE stream event by event: counts output tokens live and picks up reported usage.

    Every delta a provider bills as output is counted as it is relayed: text, refusals,
    reasoning/thinking, tool-call names and argument fragments (OpenAI ``tool_calls``,
    Anthropic ``tool_use`` starts and ``input_json_delta``). ``feed`` returns False for events
    that must not reach the client (the usage-only chunk Doorman requested for its own
    accounting when the client did not ask for it).

    When a stream ends without the provider's usage (client gone, upstream cut, error),
    :meth:`final_usage` applies the conservative rule: the counted output (times the
    tokenizer safety factor) plus ``unreported_allowance`` tokens the provider may have
    generated but not yet delivered, at most ``max_output`` (the ``max_tokens`` sent); and the
    full ``hidden_output_cap`` when the model could have been reasoning invisibly. Never below
    what was counted.

    With ``cap`` set, output beyond it is cut (see :mod:`doorman.upstream.output_cap`): the event
    that crosses the cap is shortened to fit — :attr:`clipped` holds its new payload — and
    :attr:`capped` tells the relay to end the stream there. A stream cut at the cap is billed
    for what was delivered.
    """

    def __init__(
        self,
        wire: Wire,
        model: str,
        input_tokens: int,
        client_wants_usage: bool,
        *,
        safety: float = 1.0,
        unreported_allowance: int = 0,
        hidden_output_cap: int | None = None,
        max_output: int | None = None,
        encoding: str | None = None,
        cap: int | None = None,
    ) -> None:
        self.wire = wire
        self.model = model
        self.usage = Usage(input_tokens=input_tokens)
        self.counted_output = 0
        self.client_wants_usage = client_wants_usage
        self.done = False
        self.finish_reason: str | None = None
        self.safety = safety
        self.unreported_allowance = unreported_allowance
        self.hidden_output_cap = hidden_output_cap
        self.max_output = max_output
        self._output_reported = False
        enc = get_encoding(encoding) if encoding else encoding_for(model)
        self._encode = enc.encode_ordinary
        self._budget = TokenBudget(cap, self._encode, enc.decode) if cap is not None else None
        self.capped = False  # output reached past the cap: the relay ends the stream
        self.clipped: bytes | None = None  # the crossing event's payload, cut at the cap
        self.last_event: dict[str, Any] | None = None
        self.block_index = 0  # Anthropic: the content block being streamed

    def feed(self, data: bytes) -> bool:
        """``data`` is the payload of one ``data:`` line."""
        if data == b"[DONE]":
            self.done = True
            return True
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            return True
        if not isinstance(event, dict):
            return True
        self.last_event = event
        if self.wire == "anthropic":
            self._anthropic(event)
            keep = True
        else:
            keep = self._openai(event)
        if self.capped and self.clipped is None:
            self.clipped = orjson.dumps(event)
        return keep

    def _count(self, text: Any) -> None:
        if isinstance(text, str) and text:
            self.counted_output += len(self._encode(text))

    def _take(self, holder: dict[str, Any], key: str) -> None:
        """Count ``holder[key]``; with a cap, cut it where the cap falls (in place)."""
        text = holder.get(key)
        if not isinstance(text, str) or not text:
            return
        budget = self._budget
        if budget is None:
            self.counted_output += len(self._encode(text))
            return
        before = budget.used
        kept = budget.take(text)
        self.counted_output += budget.used - before
        if budget.cut:
            holder[key] = kept
            self.capped = True

    def _openai(self, event: dict[str, Any]) -> bool:
        choices = event.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta")
                if isinstance(delta, dict):
                    self._openai_delta(delta)
                if choice.get("finish_reason"):
                    self.finish_reason = str(choice["finish_reason"])
        usage = usage_from_body("openai", event)
        if usage is not None:
            self.usage = usage
            self._output_reported = True
            if not choices and not self.client_wants_usage:
                return False
        return True

    def _openai_delta(self, delta: dict[str, Any]) -> None:
        for key in ("content", "refusal", "reasoning_content", "reasoning"):
            self._take(delta, key)
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                if not isinstance(call, dict):
                    continue
                for inner in (call.get("function"), call.get("custom")):
                    if isinstance(inner, dict):
                        self._take(inner, "name")
                        self._take(inner, "arguments")
                        self._take(inner, "input")
        legacy = delta.get("function_call")
        if isinstance(legacy, dict):
            self._take(legacy, "name")
            self._take(legacy, "arguments")
        audio = delta.get("audio")
        if isinstance(audio, dict):
            self._take(audio, "transcript")

    def _anthropic(self, event: dict[str, Any]) -> None:
        etype = event.get("type")
        if etype == "message_start":
            message = event.get("message") or {}
            usage = usage_from_body("anthropic", message) if isinstance(message, dict) else None
            if usage is not None:
                self.usage.input_tokens = usage.input_tokens
                self.usage.cached_tokens = usage.cached_tokens
                self.usage.cache_write_tokens = usage.cache_write_tokens
                self.usage.reported = True
        elif etype == "content_block_start":
            index = event.get("index")
            self.block_index = index if isinstance(index, int) else self.block_index
            block = event.get("content_block")
            if isinstance(block, dict):
                self._take(block, "name")  # tool_use / server_tool_use
                for key in ("text", "thinking"):
                    self._take(block, key)
                tool_input = block.get("input")
                if isinstance(tool_input, dict) and tool_input:
                    self._count(orjson.dumps(tool_input).decode())
        elif etype == "content_block_delta":
            delta = event.get("delta")
            if isinstance(delta, dict):
                for key in ("text", "partial_json", "thinking"):
                    self._take(delta, key)
        elif etype == "message_delta":
            u = event.get("usage") or {}
            if isinstance(u, dict) and "output_tokens" in u:
                self.usage.output_tokens = int(u["output_tokens"] or 0)
                self.usage.reported = True
                self._output_reported = True
            delta = event.get("delta") or {}
            if isinstance(delta, dict) and delta.get("stop_reason"):
                self.finish_reason = str(delta["stop_reason"])
        elif etype == "message_stop":
            self.done = True

    def final_usage(self) -> Usage:
        """The provider's usage when it reported output; otherwise the conservative rule."""
        u = self.usage
        if self._output_reported:
            return Usage(
                u.input_tokens, u.output_tokens, u.cached_tokens, True, u.cache_write_tokens
            )
        finished = (self.done and self.finish_reason is not None) or self.capped
        allowance = 0 if finished else self.unreported_allowance
        output = math.ceil(self.counted_output * self.safety) + allowance
        if self.max_output is not None:  # providers never bill more output than max_tokens
            output = min(output, self.max_output)
        if self.hidden_output_cap is not None:
            output = max(output, self.hidden_output_cap)
        output = max(output, self.counted_output)
        return Usage(u.input_tokens, output, u.cached_tokens, False, u.cache_write_tokens)
