"""Everything a provider bills as input, gathered from a typed request before any tokenizing.

One walk over the request collects the strings the provider tokenizes (message text, names,
tool definitions, tool calls and results, schemas, documents), the framing tokens the chat
format adds around them, and the images and media billed by formula. Counting tokens is then a
separate, model-specific step (:mod:`doorman.cost.tokens`), so validation can apply ``max_chars``
to the same inventory without knowing the model.

The framing constants are deliberately on the high side of the providers' published accounting
(OpenAI: 3 tokens a message, 1 a name, 3 to prime the reply; Anthropic: a tool-use system
prompt of 159-530 tokens by model), because the reservation must be an upper bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import orjson

from doorman.cost.media import audio_seconds, decode_base64, image_size, pdf_pages
from doorman.schema import anthropic as A
from doorman.schema import openai as O

MESSAGE_TOKENS = 4  # role markers around each message
NAME_TOKENS = 1
REPLY_TOKENS = 3
BLOCK_TOKENS = 4  # separators around each content part / block
TOOL_TOKENS = 12  # per tool definition (namespace and signature framing)
TOOLS_TOKENS = 16  # once, when any tool is declared
ANTHROPIC_TOOLS_PROMPT = 600  # the tool-use system prompt (159-530 tokens, by model)
ANTHROPIC_SERVER_TOOL = 1300  # a server tool's own prompt (bash 245, editor 700, computer 735+)
AUDIO_TOKENS_PER_SECOND = 12  # input audio bills ~10 tokens a second
PDF_PAGE_TEXT_TOKENS = 3000  # the text of one dense page
PDF_PAGE_IMAGE_TOKENS = 1600  # each page is also billed as an image
MAX_PDF_PAGES = 100  # the providers' page limit: the reservation when pages cannot be read


@dataclass(slots=True)
class Image:
    size: tuple[int, int] | None  # None: unknown, reserve the formula's maximum
    detail: str | None = None


@dataclass(slots=True)
class BilledInput:
    """The input of one request as the provider bills it, before tokenizing."""

    texts: list[str] = field(default_factory=list)
    framing: int = REPLY_TOKENS
    images: list[Image] = field(default_factory=list)
    media_tokens: int = 0  # audio and documents, from their size
    has_prompt: bool = False  # a non-blank text or any non-text input in a message

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)

    def text(self, value: str | None, *, prompt: bool = False) -> None:
        if value:
            self.texts.append(value)
            if prompt and not self.has_prompt and not value.isspace():
                self.has_prompt = True

    def json(self, value: Any, *, pretty: bool = False) -> None:
        """A JSON value the provider renders into the prompt. ``pretty``: count it indented,
        as a provider that pretty-prints it would bill it (the upper bound of the two)."""
        if value is not None:
            option = orjson.OPT_INDENT_2 if pretty else 0
            self.texts.append(orjson.dumps(value, option=option).decode())

    def pdf(self, raw: bytes | None) -> None:
        pages = pdf_pages(raw) if raw else None
        self.media_tokens += (pages or MAX_PDF_PAGES) * (
            PDF_PAGE_TEXT_TOKENS + PDF_PAGE_IMAGE_TOKENS
        )


# ----------------------------------------------------------------------------- OpenAI


def openai_input(req: O.ChatRequest) -> BilledInput:
    billed = BilledInput()
    for msg in req.messages:
        billed.framing += MESSAGE_TOKENS
        if msg.name:
            billed.framing += NAME_TOKENS
            billed.text(msg.name)
        content = msg.content
        if isinstance(content, str):
            billed.text(content, prompt=True)
        elif content is not None:
            for part in content:
                _openai_part(billed, part)
        if isinstance(msg, O.AssistantMessage):
            billed.text(msg.refusal)
            for call in msg.tool_calls or ():
                billed.framing += BLOCK_TOKENS
                billed.text(call.id)
                if isinstance(call, O.FunctionToolCall):
                    billed.text(call.function.name)
                    billed.text(call.function.arguments)
                else:
                    billed.text(call.custom.name)
                    billed.text(call.custom.input)
            if msg.function_call is not None:
                billed.text(msg.function_call.name)
                billed.text(msg.function_call.arguments)
            if msg.audio is not None:
                billed.text(msg.audio.id)
        elif isinstance(msg, O.ToolMessage):
            billed.text(msg.tool_call_id)
    declared = [*(req.tools or ()), *(req.functions or ())]
    if declared:
        billed.framing += TOOLS_TOKENS
    for tool in declared:
        billed.framing += TOOL_TOKENS
        spec: O.FunctionDef | O.CustomDef
        if isinstance(tool, O.FunctionTool):
            spec = tool.function
        elif isinstance(tool, O.CustomTool):
            spec = tool.custom
        else:
            spec = tool
        billed.text(spec.name)
        billed.text(spec.description)
        billed.json(spec.parameters if isinstance(spec, O.FunctionDef) else spec.format)
    for choice in (req.tool_choice, req.function_call):
        if isinstance(choice, str):
            billed.text(choice)
        else:
            billed.json(choice)
    fmt = req.response_format
    if isinstance(fmt, O.JSONSchemaResponse):
        billed.framing += TOOL_TOKENS
        billed.text(fmt.json_schema.name)
        billed.text(fmt.json_schema.description)
        billed.json(fmt.json_schema.schema)
    if req.prediction is not None:
        content = req.prediction.content
        if isinstance(content, str):
            billed.text(content)
        else:
            for text_part in content:
                billed.text(text_part.text)
    return billed


def _openai_part(billed: BilledInput, part: Any) -> None:
    billed.framing += BLOCK_TOKENS
    if isinstance(part, O.TextPart):
        billed.text(part.text, prompt=True)
    elif isinstance(part, O.RefusalPart):
        billed.text(part.refusal)
    elif isinstance(part, O.ImagePart):
        billed.has_prompt = True
        url = part.image_url.url
        size = image_size(url) if url.startswith("data:") else None
        billed.images.append(Image(size, part.image_url.detail))
    elif isinstance(part, O.AudioPart):
        billed.has_prompt = True
        raw = decode_base64(part.input_audio.data) or b""
        seconds = audio_seconds(raw, part.input_audio.format)
        billed.media_tokens += math.ceil(seconds * AUDIO_TOKENS_PER_SECOND) + BLOCK_TOKENS
    elif isinstance(part, O.FilePart):
        billed.has_prompt = True
        billed.text(part.file.filename)
        data = part.file.file_data
        billed.pdf(decode_base64(data) if data else None)


# -------------------------------------------------------------------------- Anthropic


def anthropic_input(req: A.MessagesRequest) -> BilledInput:
    billed = BilledInput()
    system = req.system
    if isinstance(system, str):
        billed.framing += MESSAGE_TOKENS
        billed.text(system)
    elif system:
        billed.framing += MESSAGE_TOKENS
        for system_block in system:
            billed.framing += BLOCK_TOKENS
            billed.text(system_block.text)
    for msg in req.messages:
        billed.framing += MESSAGE_TOKENS
        if isinstance(msg.content, str):
            billed.text(msg.content, prompt=True)
        else:
            for block in msg.content:
                _anthropic_block(billed, block)
    if req.tools:
        billed.framing += ANTHROPIC_TOOLS_PROMPT
        for tool in req.tools:
            billed.framing += TOOL_TOKENS
            if tool.type not in (None, "custom"):
                billed.framing += ANTHROPIC_SERVER_TOOL
            billed.text(tool.name)
            billed.text(tool.description)
            billed.json(tool.input_schema, pretty=True)
    if req.tool_choice is not None:
        billed.framing += BLOCK_TOKENS
        billed.text(req.tool_choice.name)
    return billed


def _anthropic_block(billed: BilledInput, block: Any) -> None:
    billed.framing += BLOCK_TOKENS
    if isinstance(block, A.TextBlock):
        billed.text(block.text, prompt=True)
    elif isinstance(block, A.ImageBlock):
        billed.has_prompt = True
        source = block.source
        size = image_size(source.data) if isinstance(source, A.Base64Source) else None
        billed.images.append(Image(size))
    elif isinstance(block, A.DocumentBlock):
        billed.has_prompt = True
        billed.text(block.title)
        billed.text(block.context)
        _anthropic_document(billed, block.source)
    elif isinstance(block, A.SearchResultBlock):
        billed.has_prompt = True
        billed.text(block.source)
        billed.text(block.title)
        for inner_text in block.content:
            _anthropic_block(billed, inner_text)
    elif isinstance(block, A.ToolUseBlock | A.ServerToolUseBlock):
        billed.framing += TOOL_TOKENS
        billed.text(block.id)
        billed.text(block.name)
        billed.json(block.input, pretty=True)
    elif isinstance(block, A.ToolResultBlock):
        billed.has_prompt = True
        billed.framing += TOOL_TOKENS
        billed.text(block.tool_use_id)
        if isinstance(block.content, str):
            billed.text(block.content)
        else:
            for inner in block.content or ():
                _anthropic_block(billed, inner)
    elif isinstance(block, A.ThinkingBlock):
        billed.text(block.thinking)
    elif isinstance(block, A.RedactedThinkingBlock):
        billed.text(block.data)
    elif isinstance(block, A.WebSearchResultBlock):
        billed.has_prompt = True
        billed.text(block.tool_use_id)
        billed.json(block.content)


def _anthropic_document(billed: BilledInput, source: Any) -> None:
    if isinstance(source, A.PlainTextSource):
        billed.text(source.data)
    elif isinstance(source, A.ContentSource):
        if isinstance(source.content, str):
            billed.text(source.content)
        else:
            for block in source.content:
                _anthropic_block(billed, block)
    elif isinstance(source, A.Base64Source):
        raw = decode_base64(source.data)
        if source.media_type == "application/pdf" or raw is None:
            billed.pdf(raw)
        else:
            billed.text(raw.decode("utf-8", errors="replace"))
    else:  # a URL or an uploaded file: its pages cannot be seen from here
        billed.pdf(None)
