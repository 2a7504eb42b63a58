"""Pieces both translation directions share: the error, finish reasons, images, SSE framing."""

from __future__ import annotations

import re
from typing import Any

import orjson

from doorman.errors import BadRequest


class Untranslatable(BadRequest):
    """A request feature with no counterpart in the provider's format.

    A 400 naming the field when the primary model cannot take it; a fallback that cannot take it
    is skipped instead.
    """

    def __init__(self, field: str, why: str) -> None:
        super().__init__(
            f"'{field}' cannot be sent to a provider of the other wire format: {why}.",
            code="untranslatable_request",
            param=field,
        )
        self.field = field


# Anthropic stop_reason <-> OpenAI finish_reason.
STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)


def image_source_from_url(url: str, field: str) -> dict[str, Any]:
    """An OpenAI ``image_url.url`` (http(s) or a base64 data URL) as an Anthropic image source."""
    match = _DATA_URL.match(url)
    if match is not None:
        return {"type": "base64", "media_type": match["media"], "data": match["data"]}
    if url.startswith(("https://", "http://")):
        return {"type": "url", "url": url}
    raise Untranslatable(field, "only http(s) URLs and base64 data URLs can be translated")


def image_url_from_source(source: Any, field: str) -> str:
    """An Anthropic image ``source`` as an OpenAI ``image_url.url``."""
    if isinstance(source, dict):
        if source.get("type") == "base64":
            return f"data:{source.get('media_type')};base64,{source.get('data')}"
        if source.get("type") == "url" and isinstance(source.get("url"), str):
            return str(source["url"])
    raise Untranslatable(field, "only base64 and URL image sources can be translated")


def arguments_to_input(arguments: Any, field: str) -> dict[str, Any]:
    """OpenAI tool-call ``arguments`` (a JSON string) as an Anthropic ``tool_use.input`` object."""
    if arguments in (None, ""):
        return {}
    try:
        value = orjson.loads(arguments) if isinstance(arguments, str | bytes) else arguments
    except orjson.JSONDecodeError:
        raise Untranslatable(field, "the tool-call arguments are not valid JSON") from None
    if not isinstance(value, dict):
        raise Untranslatable(field, "the tool-call arguments must be a JSON object")
    return value


def input_to_arguments(value: Any) -> str:
    return orjson.dumps(value if value is not None else {}).decode()


def sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


def text_of_blocks(content: Any) -> str | None:
    """Joined text of a list of text blocks/parts, or None when something else is in it."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts: list[str] = []
    for part in content:
        if not (isinstance(part, dict) and part.get("type") == "text"):
            return None
        texts.append(str(part.get("text", "")))
    return "".join(texts)
