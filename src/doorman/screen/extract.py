"""Find the text a request carries, and who vouches for it, in OpenAI and Anthropic bodies.

System (and OpenAI "developer") messages come from the application and are trusted. User turns
are screened as *direct* input. Tool results (OpenAI role ``tool``/``function``, Anthropic
``tool_result`` blocks), Anthropic ``document`` blocks and spans wrapped by
:func:`doorman.screen.wrap_untrusted` are *indirect*: content the user or an agent pulled in from
elsewhere. Assistant turns are the model's own words and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["direct", "indirect"]
Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Segment:
    path: Path  # where the string lives in the body, e.g. ("messages", 2, "content", 0, "text")
    kind: Kind
    text: str

    @property
    def where(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


def _openai(body: dict[str, Any]) -> Iterator[Segment]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("user", "tool", "function"):
            kind: Kind = "direct" if role == "user" else "indirect"
            content = message.get("content")
            if isinstance(content, str):
                yield Segment(("messages", i, "content"), kind, content)
            elif isinstance(content, list):
                for j, part in enumerate(content):
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        yield Segment(("messages", i, "content", j, "text"), kind, part["text"])
                    elif isinstance(part, str):
                        yield Segment(("messages", i, "content", j), kind, part)


def _anthropic_blocks(blocks: list[Any], prefix: Path, kind: Kind) -> Iterator[Segment]:
    for j, block in enumerate(blocks):
        if isinstance(block, str):
            yield Segment((*prefix, j), kind, block)
            continue
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "text" and isinstance(block.get("text"), str):
            yield Segment((*prefix, j, "text"), kind, block["text"])
        elif btype == "tool_result":
            inner = block.get("content")
            if isinstance(inner, str):
                yield Segment((*prefix, j, "content"), "indirect", inner)
            elif isinstance(inner, list):
                yield from _anthropic_blocks(inner, (*prefix, j, "content"), "indirect")
        elif btype == "document":
            source = block.get("source")
            if isinstance(source, dict) and isinstance(source.get("data"), str):
                if source.get("type") == "text":
                    yield Segment((*prefix, j, "source", "data"), "indirect", source["data"])
            elif isinstance(source, dict) and isinstance(source.get("content"), list):
                yield from _anthropic_blocks(
                    source["content"], (*prefix, j, "source", "content"), "indirect"
                )


def _anthropic(body: dict[str, Any]) -> Iterator[Segment]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            yield Segment(("messages", i, "content"), "direct", content)
        elif isinstance(content, list):
            yield from _anthropic_blocks(content, ("messages", i, "content"), "direct")


def segments(body: dict[str, Any], wire: str) -> list[Segment]:
    """Every screenable string in ``body``, in document order."""
    if wire == "anthropic":
        return list(_anthropic(body))
    return list(_openai(body))


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
