"""Find every caller-controlled string a request carries, and who vouches for it.

A gateway's caller writes the whole body, so every string in it that reaches the model is
screened, and every string at all is looked at for secrets before it is forwarded. Each
:class:`Segment` says *where* the text lives (a path into the body, for redaction and for error
messages), *how* it is judged for injection, and *who* vouches for it:

- ``source="user"``: user turns (``direct``), tool results, documents and wrapped spans
  (``indirect``).
- ``source="system"``: system/developer messages, Anthropic ``system``, tool definitions and
  ``response_format`` schemas: written by the application, screened unless the tier trusts them.
- ``source="assistant"``: assistant turns, their tool-call arguments and ``tool_use`` input,
  Anthropic prefill, OpenAI ``prediction``: the model's words as the caller replays them, which a
  caller can forge, so screened unless the tier trusts them.
- ``kind="data"``: any other string (metadata, stop sequences, ...): secrets only.

Base64 documents are decoded when they are text; binary documents the screen cannot read (PDF,
Word, ...) come back as :class:`Opaque` entries so the screener can apply its unscreenable-content
policy instead of passing them silently. Image bytes are neither text nor a secret carrier and
are skipped.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["direct", "indirect", "data"]
Source = Literal["user", "system", "assistant"]
Path = tuple[str | int, ...]

_TEXT_MEDIA = ("text/", "application/json", "application/xml", "application/x-yaml")
# keys whose values are identifiers or enums, never prose: not worth a secret scan
_SKIP_DATA_KEYS = frozenset({"model", "role", "type", "id", "tool_call_id", "media_type"})


@dataclass(frozen=True, slots=True)
class Segment:
    path: Path  # where the string lives in the body, e.g. ("messages", 2, "content", 0, "text")
    kind: Kind
    text: str
    source: Source = "user"
    # Turns redacted text back into the stored value (base64 documents); None: store as is.
    encode: Callable[[str], str] | None = field(default=None, compare=False)
    # False when ``path`` points at a container (joined strings): injection only, no redaction.
    redactable: bool = True

    @property
    def where(self) -> str:
        return where(self.path)


@dataclass(frozen=True, slots=True)
class Opaque:
    """Caller content the screen cannot read (a PDF, an office file): policy decides."""

    path: Path
    media_type: str

    @property
    def where(self) -> str:
        return where(self.path)


def where(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(slots=True)
class Extracted:
    segments: list[Segment] = field(default_factory=list)
    opaque: list[Opaque] = field(default_factory=list)
    covered: set[Path] = field(default_factory=set)  # string paths already in a segment

    def add(self, seg: Segment) -> None:
        self.segments.append(seg)
        if seg.redactable:
            self.covered.add(seg.path)


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every string leaf (dict values and list items) under ``value``, in document order.

    Iterative, with no depth limit: nothing nested deep is skipped, and no nesting can exhaust
    the stack (the request's depth is bounded by ``server.max_json_depth`` anyway)."""
    stack: list[tuple[Path, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            stack.extend((((*where, str(k)), v) for k, v in reversed(item.items())))
        elif isinstance(item, list):
            stack.extend((((*where, i), v) for i, v in reversed(list(enumerate(item)))))


def _structured(out: Extracted, value: Any, path: Path, kind: Kind, source: Source) -> None:
    """A JSON object's strings: one joined segment for injection (an attack split over several
    fields still reads as one text) and one redactable data segment per string."""
    leaves = list(_strings(value, path))
    if not leaves:
        return
    out.add(Segment(path, kind, "\n".join(s for _, s in leaves), source, redactable=False))
    for leaf_path, text in leaves:
        out.add(Segment(leaf_path, "data", text, source))


def _json_argument(out: Extracted, raw: str, path: Path, source: Source) -> None:
    """Tool-call ``arguments`` are a JSON *string*: redact in the string as sent, screen the
    decoded values (``\\u`` escapes cannot hide words from the screen)."""
    out.add(Segment(path, "data", raw, source))
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    leaves = [s for _, s in _strings(parsed, ())] if parsed is not None else [raw]
    if leaves:
        out.add(Segment(path, "direct", "\n".join(leaves), source, redactable=False))


def _decode_base64_text(data: str) -> str | None:
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True, slots=True)
class _Base64:
    """Re-encodes redacted document text (behind a data-URL header when it had one)."""

    header: str = ""

    def __call__(self, text: str) -> str:
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        return f"{self.header},{encoded}" if self.header else encoded


def _base64_document(out: Extracted, data: str, media: str, path: Path, header: str = "") -> None:
    """Text documents are decoded and screened as indirect input; anything else is opaque."""
    out.covered.add(path)
    if media.startswith(_TEXT_MEDIA):
        text = _decode_base64_text(data)
        if text is not None:
            out.add(Segment(path, "indirect", text, "user", encode=_Base64(header)))
            return
    out.opaque.append(Opaque(path, media or "unknown"))


# -- OpenAI ---------------------------------------------------------------------------------


def _openai_content(out: Extracted, content: Any, prefix: Path, kind: Kind, source: Source) -> None:
    if isinstance(content, str):
        out.add(Segment(prefix, kind, content, source))
        return
    if not isinstance(content, list):
        return
    for j, part in enumerate(content):
        if isinstance(part, str):
            out.add(Segment((*prefix, j), kind, part, source))
            continue
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            out.add(Segment((*prefix, j, "text"), kind, part["text"], source))
        elif isinstance(part.get("refusal"), str):
            out.add(Segment((*prefix, j, "refusal"), kind, part["refusal"], source))
        elif isinstance(part.get("image_url"), dict) or isinstance(part.get("input_audio"), dict):
            out.covered.update(p for p, _ in _strings(part, (*prefix, j)))  # media bytes
        file = part.get("file")
        if isinstance(file, dict) and isinstance(file.get("file_data"), str):
            header, sep, data = file["file_data"].partition(",")
            if not (sep and header.startswith("data:")):
                header, data = "", file["file_data"]
            media = header[5:].split(";")[0]
            _base64_document(out, data, media, (*prefix, j, "file", "file_data"), header)


_OPENAI_SOURCE: dict[str, tuple[Kind, Source]] = {
    "user": ("direct", "user"),
    "tool": ("indirect", "user"),
    "function": ("indirect", "user"),
    "system": ("direct", "system"),
    "developer": ("direct", "system"),
    "assistant": ("direct", "assistant"),
}


def _openai(body: dict[str, Any], out: Extracted) -> None:
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        if not isinstance(message, dict):
            continue
        kind, source = _OPENAI_SOURCE.get(str(message.get("role")), ("direct", "user"))
        _openai_content(out, message.get("content"), ("messages", i, "content"), kind, source)
        if isinstance(message.get("name"), str):
            out.add(Segment(("messages", i, "name"), kind, message["name"], source))
        for c, call in enumerate(message.get("tool_calls") or ()):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                continue
            base: Path = ("messages", i, "tool_calls", c, "function")
            if isinstance(function.get("name"), str):
                out.add(Segment((*base, "name"), "direct", function["name"], "assistant"))
            if isinstance(function.get("arguments"), str):
                _json_argument(out, function["arguments"], (*base, "arguments"), "assistant")
        legacy = message.get("function_call")
        if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
            _json_argument(
                out, legacy["arguments"], ("messages", i, "function_call", "arguments"), "assistant"
            )
    for t, tool in enumerate(
        body.get("tools") or () if isinstance(body.get("tools"), list) else ()
    ):
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
            _structured(out, tool["function"], ("tools", t, "function"), "direct", "system")
        elif isinstance(tool, dict):
            _structured(out, tool, ("tools", t), "direct", "system")
    for f, function in enumerate(
        body.get("functions") or () if isinstance(body.get("functions"), list) else ()
    ):
        _structured(out, function, ("functions", f), "direct", "system")
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        _structured(out, response_format, ("response_format",), "direct", "system")
    prediction = body.get("prediction")
    if isinstance(prediction, dict):
        _openai_content(
            out, prediction.get("content"), ("prediction", "content"), "direct", "assistant"
        )


# -- Anthropic ------------------------------------------------------------------------------


def _anthropic_blocks(
    out: Extracted, blocks: list[Any], prefix: Path, kind: Kind, source: Source
) -> None:
    for j, block in enumerate(blocks):
        if isinstance(block, str):
            out.add(Segment((*prefix, j), kind, block, source))
            continue
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "text" and isinstance(block.get("text"), str):
            out.add(Segment((*prefix, j, "text"), kind, block["text"], source))
        elif btype == "tool_result":
            inner = block.get("content")
            if isinstance(inner, str):
                out.add(Segment((*prefix, j, "content"), "indirect", inner, "user"))
            elif isinstance(inner, list):
                _anthropic_blocks(out, inner, (*prefix, j, "content"), "indirect", "user")
        elif btype in ("tool_use", "server_tool_use"):
            if isinstance(block.get("name"), str):
                out.add(Segment((*prefix, j, "name"), "direct", block["name"], "assistant"))
            _structured(out, block.get("input"), (*prefix, j, "input"), "direct", "assistant")
        elif btype in ("thinking", "redacted_thinking"):
            for key in ("thinking", "data"):
                if isinstance(block.get(key), str):
                    out.add(Segment((*prefix, j, key), "direct", block[key], "assistant"))
        elif btype == "document":
            _anthropic_document(out, block, (*prefix, j))
            for key in ("title", "context"):
                if isinstance(block.get(key), str):
                    out.add(Segment((*prefix, j, key), "indirect", block[key], "user"))
        elif btype == "image":
            out.covered.update(p for p, _ in _strings(block, (*prefix, j)))  # image bytes


def _anthropic_document(out: Extracted, block: dict[str, Any], path: Path) -> None:
    source = block.get("source")
    if not isinstance(source, dict):
        return
    stype = source.get("type")
    data = source.get("data")
    if stype == "text" and isinstance(data, str):
        out.add(Segment((*path, "source", "data"), "indirect", data, "user"))
    elif stype == "base64" and isinstance(data, str):
        media = str(source.get("media_type") or "")
        _base64_document(out, data, media, (*path, "source", "data"))
    elif stype == "content" and isinstance(source.get("content"), list):
        _anthropic_blocks(out, source["content"], (*path, "source", "content"), "indirect", "user")
    elif stype == "content" and isinstance(source.get("content"), str):
        out.add(Segment((*path, "source", "content"), "indirect", source["content"], "user"))


def _anthropic(body: dict[str, Any], out: Extracted) -> None:
    system = body.get("system")
    if isinstance(system, str):
        out.add(Segment(("system",), "direct", system, "system"))
    elif isinstance(system, list):
        _anthropic_blocks(out, system, ("system",), "direct", "system")
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        if not isinstance(message, dict):
            continue
        source: Source = "assistant" if message.get("role") == "assistant" else "user"
        content = message.get("content")
        if isinstance(content, str):
            out.add(Segment(("messages", i, "content"), "direct", content, source))
        elif isinstance(content, list):
            _anthropic_blocks(out, content, ("messages", i, "content"), "direct", source)
    for t, tool in enumerate(
        body.get("tools") or () if isinstance(body.get("tools"), list) else ()
    ):
        if isinstance(tool, dict):
            _structured(out, tool, ("tools", t), "direct", "system")


def extract(body: dict[str, Any], wire: str) -> Extracted:
    """Every screenable string in ``body`` (see the module docstring), in document order,
    followed by every other string as a secrets-only ``data`` segment."""
    out = Extracted()
    if wire == "anthropic":
        _anthropic(body, out)
    else:
        _openai(body, out)
    for path, text in _strings(body, ()):
        if path in out.covered or not text or (path and path[-1] in _SKIP_DATA_KEYS):
            continue
        out.add(Segment(path, "data", text, "user"))
    return out


def segments(body: dict[str, Any], wire: str) -> list[Segment]:
    """The segments of :func:`extract` (kept for callers that only need the text)."""
    return extract(body, wire).segments


class BodyEditor:
    """Copy-on-write string replacement: only containers on an edited path are copied.

    The caller's body is never mutated; untouched branches are shared with the copy.
    """

    def __init__(self, body: dict[str, Any]) -> None:
        self.original = body
        self.body: dict[str, Any] | None = None
        self._copied: set[int] = set()

    def _own(self, container: Any) -> Any:
        clone: Any = dict(container) if isinstance(container, dict) else list(container)
        self._copied.add(id(clone))
        return clone

    def set(self, path: Path, value: str) -> None:
        if self.body is None:
            self.body = self._own(self.original)
        node: Any = self.body
        for key in path[:-1]:
            child = node[key]
            if id(child) not in self._copied:
                child = self._own(child)
                node[key] = child
            node = child
        node[path[-1]] = value

    def result(self) -> dict[str, Any]:
        return self.body if self.body is not None else self.original
