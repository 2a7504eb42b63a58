"""Typed model of an Anthropic Messages request: every field the provider bills or the gateway
reads.

As with the OpenAI model, unmodelled top-level fields pass through to the provider unchanged,
while content blocks are a closed union: an unknown block type is refused with its path, since
the gateway could not count what the provider would bill for it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]


class _Source(msgspec.Struct, tag_field="type", kw_only=True):
    """Where an image's or document's bytes come from; ``type`` selects the class."""


class Base64Source(_Source, tag="base64"):
    media_type: str
    data: str


class URLSource(_Source, tag="url", kw_only=True):
    url: str


class FileSource(_Source, tag="file", kw_only=True):
    file_id: str


class PlainTextSource(_Source, tag="text", kw_only=True):
    media_type: str | None = None
    data: str


class _Block(msgspec.Struct, tag_field="type", kw_only=True):
    """A content block; ``type`` selects the class."""

    cache_control: dict[str, Any] | None = None


class TextBlock(_Block, tag="text", kw_only=True):
    text: str
    citations: list[dict[str, Any]] | None = None


class ImageBlock(_Block, tag="image", kw_only=True):
    source: Base64Source | URLSource | FileSource


class SearchResultBlock(_Block, tag="search_result", kw_only=True):
    source: str
    title: str
    content: list[TextBlock]
    citations: dict[str, Any] | None = None


class ContentSource(_Source, tag="content", kw_only=True):
    content: str | list[TextBlock | ImageBlock]


class DocumentBlock(_Block, tag="document", kw_only=True):
    source: Base64Source | URLSource | FileSource | PlainTextSource | ContentSource
    title: str | None = None
    context: str | None = None
    citations: dict[str, Any] | None = None


class ToolUseBlock(_Block, tag="tool_use", kw_only=True):
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Block, tag="tool_result", kw_only=True):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock | DocumentBlock | SearchResultBlock] | None = None
    is_error: bool | None = None


class ThinkingBlock(_Block, tag="thinking", kw_only=True):
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(_Block, tag="redacted_thinking", kw_only=True):
    data: str


class ServerToolUseBlock(_Block, tag="server_tool_use", kw_only=True):
    id: str
    name: str
    input: dict[str, Any]


class WebSearchResultBlock(_Block, tag="web_search_tool_result", kw_only=True):
    tool_use_id: str
    content: Any


Block = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | SearchResultBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ServerToolUseBlock
    | WebSearchResultBlock
)


class Message(msgspec.Struct, kw_only=True):
    role: Literal["user", "assistant"]
    content: str | list[Block]


class Tool(msgspec.Struct, kw_only=True):
    """A client tool (name, description, input_schema) or a server tool (a dated ``type``)."""

    name: str
    type: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None


class ToolChoice(msgspec.Struct, kw_only=True):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Thinking(msgspec.Struct, kw_only=True):
    type: Literal["enabled", "disabled"]
    budget_tokens: PositiveInt | None = None


class MessagesRequest(msgspec.Struct, kw_only=True):
    """``POST /v1/messages``; ``max_tokens`` is required, as the provider requires it."""

    model: Annotated[str, msgspec.Meta(min_length=1)]
    messages: list[Message]
    max_tokens: PositiveInt
    system: str | list[TextBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    stream: bool | None = None
    metadata: dict[str, Any] | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    service_tier: str | None = None
