"""The cache key: SHA-256 over the canonical request after routing, plus the tenant scope.

Everything that can change the answer is in the key (served model, messages, system, tools,
tool choice, response format, sampling parameters, the effective ``max_tokens``, stop, n, the
wire format, and any other field the provider would see); fields that only steer delivery or
bookkeeping (``stream``, ``stream_options``, ``metadata``, ``user``) are not, so a streamed and
a plain request share an answer. The scope is part of the hashed input: under ``scope: user``
two users can never compute the same key.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from doorman.cache.settings import CacheScope

# Delivery and bookkeeping only: the same answer whatever their value.
_NOT_IN_KEY = frozenset({"stream", "stream_options", "metadata", "user", "model"})
_VERSION = b"doorman-cache-v1\x00"


def scope_id(scope: CacheScope, *, user_id: str, tier: str) -> str:
    """Who may share an entry: one user, one tier, or everyone."""
    if scope == "user":
        return "user:" + user_id
    if scope == "tier":
        return "tier:" + tier
    return "global"


def canonical_request(
    body: dict[str, Any], *, served_model: str, wire: str, max_tokens: int
) -> dict[str, Any]:
    """The request as the key sees it: answer-changing fields only, numbers normalised."""
    canon = {k: v for k, v in body.items() if k not in _NOT_IN_KEY}
    canon.pop("max_completion_tokens", None)
    canon["max_tokens"] = max_tokens
    for name in ("temperature", "top_p"):
        value = canon.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            canon[name] = float(value)  # 0 and 0.0 are the same request
    canon["served_model"] = served_model
    canon["wire"] = wire
    return canon


def cache_key(canonical: dict[str, Any], scope: str) -> str:
    """Hex SHA-256 of the scope and the canonical request (sorted keys, compact JSON)."""
    h = hashlib.sha256(_VERSION)
    h.update(scope.encode())
    h.update(b"\x00")
    h.update(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS))
    return h.hexdigest()


def is_deterministic(body: dict[str, Any]) -> bool:
    """Only an answer the provider would repeat is cached by default: temperature 0 or a seed.

    An absent temperature means the provider's default (1.0), so it is not deterministic.
    """
    if body.get("seed") is not None:
        return True
    temperature = body.get("temperature")
    return (
        isinstance(temperature, int | float)
        and not isinstance(temperature, bool)
        and temperature == 0
    )
