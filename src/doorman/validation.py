"""Request validation: shape, sizes and tier caps, with errors that name the offending path.

Hand-written rather than a full pydantic model of each provider schema: the gateway must accept
every field the provider accepts (new ones appear monthly) and only insist on what it relies on.
"""

from __future__ import annotations

from typing import Any

import orjson

from doorman.config import ServerSettings, TierSettings
from doorman.cost.tokens import content_text
from doorman.errors import BadRequest
from doorman.upstream.deployment import Wire

_OPENAI_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_ANTHROPIC_ROLES = frozenset({"user", "assistant"})


def parse_json(raw: bytes, server: ServerSettings) -> dict[str, Any]:
    if not raw.strip():
        raise BadRequest("The request body is empty; expected a JSON object.", code="invalid_json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            f"The request body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    depth = _depth(body, server.max_json_depth)
    if depth > server.max_json_depth:
        raise BadRequest(
            f"The request JSON is nested deeper than {server.max_json_depth} levels.",
            code="json_too_deep",
        )
    return body


def _depth(value: Any, limit: int) -> int:
    """Nesting depth, stopping early once past ``limit`` (iterative: no recursion bombs)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > deepest:
            deepest = level
            if deepest > limit:
                return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item if isinstance(v, dict | list))
    return deepest


def _require_int(body: dict[str, Any], name: str, *, minimum: int = 1) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{name}' must be an integer.", code="invalid_type", param=name)
    if value < minimum:
        raise BadRequest(f"'{name}' must be at least {minimum}.", code="invalid_value", param=name)
    return value


def validate_chat(body: dict[str, Any], wire: Wire, server: ServerSettings) -> None:
    """Shape checks shared by both wire formats; raises BadRequest naming the path."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest(
            "'model' is required and must be a non-empty string.",
            code="invalid_type",
            param="model",
        )
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise BadRequest(
            "'messages' is required and must be an array.", code="invalid_type", param="messages"
        )
    if not messages:
        raise BadRequest(
            "'messages' must contain at least one message.", code="empty_prompt", param="messages"
        )
    if len(messages) > server.max_messages:
        raise BadRequest(
            f"Too many messages: {len(messages)} > {server.max_messages}.",
            code="too_many_messages",
            param="messages",
        )
    roles = _ANTHROPIC_ROLES if wire == "anthropic" else _OPENAI_ROLES
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise BadRequest(
                f"messages[{i}] must be an object.", code="invalid_type", param=f"messages[{i}]"
            )
        role = msg.get("role")
        if role not in roles:
            raise BadRequest(
                f"messages[{i}].role must be one of {sorted(roles)}.",
                code="invalid_value",
                param=f"messages[{i}].role",
            )
        content = msg.get("content")
        if content is not None and not isinstance(content, str | list):
            raise BadRequest(
                f"messages[{i}].content must be a string or an array of parts.",
                code="invalid_type",
                param=f"messages[{i}].content",
            )
        if content is None and wire == "anthropic":
            raise BadRequest(
                f"messages[{i}].content is required.",
                code="invalid_type",
                param=f"messages[{i}].content",
            )
    if "stream" in body and not isinstance(body["stream"], bool):
        raise BadRequest("'stream' must be a boolean.", code="invalid_type", param="stream")
    _require_int(body, "max_tokens")
    _require_int(body, "max_completion_tokens")
    if wire == "openai":
        n = _require_int(body, "n")
        if n is not None and n > 1:
            raise BadRequest(
                "'n' greater than 1 is not supported by this gateway.",
                code="invalid_value",
                param="n",
            )
        opts = body.get("stream_options")
        if opts is not None and not isinstance(opts, dict):
            raise BadRequest(
                "'stream_options' must be an object.", code="invalid_type", param="stream_options"
            )
    else:
        system = body.get("system")
        if system is not None and not isinstance(system, str | list):
            raise BadRequest(
                "'system' must be a string or an array of blocks.",
                code="invalid_type",
                param="system",
            )
    if not any(t.strip() for t in _all_text(body)):
        raise BadRequest(
            "The prompt is empty: no message has any text.", code="empty_prompt", param="messages"
        )


def _all_text(body: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for msg in body.get("messages", []):
        texts.extend(content_text(msg.get("content")))
    return texts


def check_tier_caps(body: dict[str, Any], tier: TierSettings, tier_name: str) -> None:
    messages = body["messages"]
    if tier.max_messages is not None and len(messages) > tier.max_messages:
        raise BadRequest(
            f"Too many messages for tier '{tier_name}': {len(messages)} > {tier.max_messages}.",
            code="too_many_messages",
            param="messages",
        )
    if tier.max_chars is not None:
        chars = sum(len(t) for t in _all_text(body))
        system = body.get("system")
        if system is not None:
            chars += sum(len(t) for t in content_text(system))
        if chars > tier.max_chars:
            raise BadRequest(
                f"The prompt is too long for tier '{tier_name}': {chars} characters > {tier.max_chars}.",
                code="prompt_too_long",
                param="messages",
            )


def requested_max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return value if isinstance(value, int) else None
