"""Typed model of an OpenAI Chat Completions request: every field the provider bills or the
gateway reads.

Fields not modelled here still reach the provider unchanged (the gateway forwards the parsed
dict); the typed object is what validation, counting and screening read. Content-part, message
and tool types are closed unions: a part the gateway does not know is a part it cannot count,
so it is refused with its path instead of being forwarded unbilled.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]


class _Part(msgspec.Struct, tag_field="type", kw_only=True):
    """A content part; ``type`` selects the class."""


class TextPart(_Part, tag="text", kw_only=True):
    text: str


class RefusalPart(_Part, tag="refusal", kw_only=True):
    refusal: str


class ImageURL(msgspec.Struct, kw_only=True):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Part, tag="image_url", kw_only=True):
    image_url: ImageURL


class InputAudio(msgspec.Struct, kw_only=True):
    data: str
    format: str


class AudioPart(_Part, tag="input_audio", kw_only=True):
    input_audio: InputAudio


class FileRef(msgspec.Struct, kw_only=True):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(_Part, tag="file", kw_only=True):
    file: FileRef


UserPart = TextPart | ImagePart | AudioPart | FilePart
AssistantPart = TextPart | RefusalPart


class FunctionCall(msgspec.Struct, kw_only=True):
    name: str
    arguments: str


class CustomCall(msgspec.Struct, kw_only=True):
    name: str
    input: str


class _ToolCall(msgspec.Struct, tag_field="type", kw_only=True):
    id: str


class FunctionToolCall(_ToolCall, tag="function", kw_only=True):
    function: FunctionCall


class CustomToolCall(_ToolCall, tag="custom", kw_only=True):
    custom: CustomCall


ToolCall = FunctionToolCall | CustomToolCall


class _Message(msgspec.Struct, tag_field="role", kw_only=True):
    """A chat message; ``role`` selects the class."""

    name: str | None = None


class SystemMessage(_Message, tag="system", kw_only=True):
    content: str | list[TextPart]


class DeveloperMessage(_Message, tag="developer", kw_only=True):
    content: str | list[TextPart]


class UserMessage(_Message, tag="user", kw_only=True):
    content: str | list[UserPart]


class AudioRef(msgspec.Struct, kw_only=True):
    id: str


class AssistantMessage(_Message, tag="assistant", kw_only=True):
    content: str | list[AssistantPart] | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    audio: AudioRef | None = None


class ToolMessage(_Message, tag="tool", kw_only=True):
    content: str | list[TextPart]
    tool_call_id: str


class FunctionMessage(_Message, tag="function", kw_only=True):
    content: str | None = None


Message = (
    SystemMessage
    | DeveloperMessage
    | UserMessage
    | AssistantMessage
    | ToolMessage
    | FunctionMessage
)


class FunctionDef(msgspec.Struct, kw_only=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class CustomDef(msgspec.Struct, kw_only=True):
    name: str
    description: str | None = None
    format: dict[str, Any] | None = None


class _Tool(msgspec.Struct, tag_field="type", kw_only=True):
    pass


class FunctionTool(_Tool, tag="function", kw_only=True):
    function: FunctionDef


class CustomTool(_Tool, tag="custom", kw_only=True):
    custom: CustomDef


Tool = FunctionTool | CustomTool


class JSONSchemaFormat(msgspec.Struct, kw_only=True):
    name: str
    description: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


class _Format(msgspec.Struct, tag_field="type", kw_only=True):
    pass


class TextFormat(_Format, tag="text", kw_only=True):
    pass


class JSONObjectFormat(_Format, tag="json_object", kw_only=True):
    pass


class JSONSchemaResponse(_Format, tag="json_schema", kw_only=True):
    json_schema: JSONSchemaFormat


ResponseFormat = TextFormat | JSONObjectFormat | JSONSchemaResponse


class StreamOptions(msgspec.Struct, kw_only=True):
    include_usage: bool | None = None


class Prediction(msgspec.Struct, kw_only=True):
    type: Literal["content"]
    content: str | list[TextPart]


class ChatRequest(msgspec.Struct, kw_only=True):
    """``POST /v1/chat/completions``."""

    model: Annotated[str, msgspec.Meta(min_length=1)]
    messages: list[Message]
    max_tokens: PositiveInt | None = None
    max_completion_tokens: PositiveInt | None = None
    n: PositiveInt | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    functions: list[FunctionDef] | None = None
    function_call: str | dict[str, Any] | None = None
    response_format: ResponseFormat | None = None
    prediction: Prediction | None = None
    metadata: dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    reasoning_effort: str | None = None
    modalities: list[str] | None = None
    store: bool | None = None
