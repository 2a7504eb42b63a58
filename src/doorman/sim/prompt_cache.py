"""The simulator's provider prompt cache: repeated long prefixes are reported as cached.

Mimics what the real providers bill, so prompt-caching prices are testable without an account:

* OpenAI: automatic. A prompt of 1,024 tokens or more whose prefix (everything before the last
  message, tools included) was seen before reports that prefix as
  ``prompt_tokens_details.cached_tokens``, in 128-token steps.
* Anthropic: explicit. The prefix up to the last block marked ``cache_control`` (tools, then
  system, then messages), when 1,024 tokens or more, is written on first sight
  (``cache_creation_input_tokens``) and read afterwards (``cache_read_input_tokens``);
  ``input_tokens`` is what remains after it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import orjson

from doorman.cost.tokens import count_messages

MIN_PREFIX_TOKENS = 1024
OPENAI_STEP = 128


class PromptCache:
    def __init__(self, max_prefixes: int = 4096) -> None:
        self.max_prefixes = max_prefixes
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def _remember(self, key: bytes) -> bool:
        """True when ``key`` was seen before; remembers it either way (LRU)."""
        seen = key in self._seen
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_prefixes:
            self._seen.popitem(last=False)
        return seen

    @staticmethod
    def _key(model: str, *parts: Any) -> bytes:
        return hashlib.blake2b(orjson.dumps([model, *parts]), digest_size=16).digest()

    def openai(self, body: dict[str, Any], model: str) -> int:
        """Cached prompt tokens for an OpenAI-format request."""
        messages = body.get("messages") or []
        prefix = messages[:-1]
        if not prefix:
            return 0
        tokens = count_messages(prefix, model)
        if tokens < MIN_PREFIX_TOKENS:
            return 0
        if not self._remember(self._key(model, body.get("tools"), prefix)):
            return 0
        return tokens // OPENAI_STEP * OPENAI_STEP

    def anthropic(self, body: dict[str, Any], model: str) -> tuple[int, int]:
        """(cache read, cache write) tokens for an Anthropic-format request."""
        prefix = _marked_prefix(body)
        if prefix is None:
            return 0, 0
        tools, system, messages = prefix
        tokens = count_messages(messages, model, system=system) if messages or system else 0
        tokens += len(orjson.dumps(tools)) // 4 if tools else 0
        if tokens < MIN_PREFIX_TOKENS:
            return 0, 0
        if self._remember(self._key(model, tools, system, messages)):
            return tokens, 0
        return 0, tokens


def _marked(block: Any) -> bool:
    return isinstance(block, dict) and block.get("cache_control") is not None


def _marked_prefix(body: dict[str, Any]) -> tuple[list[Any], Any, list[Any]] | None:
    """(tools, system, messages) up to and including the last cache_control block, or None."""
    tools = list(body.get("tools") or [])
    system = body.get("system")
    messages = list(body.get("messages") or [])
    for i in range(len(messages) - 1, -1, -1):
        content = messages[i].get("content") if isinstance(messages[i], dict) else None
        if isinstance(content, list):
            for j in range(len(content) - 1, -1, -1):
                if _marked(content[j]):
                    last = {**messages[i], "content": content[: j + 1]}
                    return tools, system, [*messages[:i], last]
    if isinstance(system, list):
        for j in range(len(system) - 1, -1, -1):
            if _marked(system[j]):
                return tools, system[: j + 1], []
    for j in range(len(tools) - 1, -1, -1):
        if _marked(tools[j]):
            return tools[: j + 1], None, []
    return None
