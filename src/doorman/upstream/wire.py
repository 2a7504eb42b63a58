"""The two wire formats: building provider requests and reading usage from their answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from doorman.cost.tokens import count_text
from doorman.upstream.deployment import Wire


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


Endpoint = Literal["chat", "embeddings"]


def request_url(wire: Wire, base_url: str, endpoint: Endpoint = "chat") -> str:
    if endpoint == "embeddings":
        return base_url + "/embeddings"  # OpenAI-compatible providers only
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

    ``feed`` returns False for events that must not reach the client (the usage-only chunk
    Doorman requested for its own accounting when the client did not ask for it).
    """

    def __init__(self, wire: Wire, model: str, input_tokens: int, client_wants_usage: bool) -> None:
        self.wire = wire
        self.model = model
        self.usage = Usage(input_tokens=input_tokens)
        self.counted_output = 0
        self.client_wants_usage = client_wants_usage
        self.done = False
        self.finish_reason: str | None = None

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
        if self.wire == "anthropic":
            self._anthropic(event)
            return True
        return self._openai(event)

    def _openai(self, event: dict[str, Any]) -> bool:
        choices = event.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta") or {}
                text = delta.get("content") if isinstance(delta, dict) else None
                if isinstance(text, str) and text:
                    self.counted_output += count_text(text, self.model)
                if choice.get("finish_reason"):
                    self.finish_reason = str(choice["finish_reason"])
        usage = usage_from_body("openai", event)
        if usage is not None:
            self.usage = usage
            if not choices and not self.client_wants_usage:
                return False
        return True

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
        elif etype == "content_block_delta":
            delta = event.get("delta") or {}
            text = (
                delta.get("text") or delta.get("partial_json") if isinstance(delta, dict) else None
            )
            if isinstance(text, str) and text:
                self.counted_output += count_text(text, self.model)
        elif etype == "message_delta":
            u = event.get("usage") or {}
            if isinstance(u, dict) and "output_tokens" in u:
                self.usage.output_tokens = int(u["output_tokens"] or 0)
                self.usage.reported = True
            delta = event.get("delta") or {}
            if isinstance(delta, dict) and delta.get("stop_reason"):
                self.finish_reason = str(delta["stop_reason"])
        elif etype == "message_stop":
            self.done = True

    def final_usage(self) -> Usage:
        """Reported usage when the provider sent it; otherwise what we counted (never less)."""
        u = self.usage
        output = max(u.output_tokens, self.counted_output)
        return Usage(u.input_tokens, output, u.cached_tokens, u.reported, u.cache_write_tokens)
