"""Request validation: typed shape, sizes and tier caps, with errors that name the offending path.

The body is converted into the typed model of its wire format (:mod:`doorman.schema`), so a
value of the wrong type anywhere is a 400 naming its path. The parsed dict is still what is
forwarded (fields the model does not know pass through); the typed object is what the gateway
reads. Tier caps (``max_chars``) apply to everything the provider bills, not only message text.
"""

from __future__ import annotations

from typing import Any

import orjson

from doorman.config import ServerSettings, TierSettings
from doorman.cost.billed import BilledInput, anthropic_input, openai_input
from doorman.errors import BadRequest
from doorman.schema import ChatRequest, Request, decode_request
from doorman.upstream.deployment import Wire


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
    limit = server.max_json_depth
    # Every level of nesting opens a bracket, so a body with no more brackets than the limit
    # (inside strings too: an overcount) is within it; only the others are walked.
    if raw.count(b"[") + raw.count(b"{") > limit and _depth(body, limit) > limit:
        raise BadRequest(
            f"The request JSON is nested deeper than {limit} levels.",
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


def validate_chat(body: dict[str, Any], wire: Wire, server: ServerSettings) -> Request:
    """The typed request of ``wire``; raises BadRequest naming the path of what is wrong."""
    request = decode_request(body, wire)
    messages = request.messages
    if not messages:
        raise BadRequest(
            "messages: must contain at least one message.", code="empty_prompt", param="messages"
        )
    if len(messages) > server.max_messages:
        raise BadRequest(
            f"messages: too many messages: {len(messages)} > {server.max_messages}.",
            code="too_many_messages",
            param="messages",
        )
    if isinstance(request, ChatRequest) and request.n is not None and request.n > 1:
        raise BadRequest(
            "n: values greater than 1 are not supported by this gateway.",
            code="invalid_value",
            param="n",
        )
    return request


def billed_input(request: Request) -> BilledInput:
    """Everything the provider bills as input; refuses a prompt with nothing in it."""
    billed = openai_input(request) if isinstance(request, ChatRequest) else anthropic_input(request)
    if not billed.has_prompt:
        raise BadRequest(
            "messages: the prompt is empty: no message has any text or other content.",
            code="empty_prompt",
            param="messages",
        )
    return billed


def check_tier_caps(
    request: Request, billed: BilledInput, tier: TierSettings, tier_name: str
) -> None:
    """Tier caps on the whole billed input: messages, and characters of every billed string."""
    messages = request.messages
    if tier.max_messages is not None and len(messages) > tier.max_messages:
        raise BadRequest(
            f"messages: too many messages for tier '{tier_name}': {len(messages)} > {tier.max_messages}.",
            code="too_many_messages",
            param="messages",
        )
    if tier.max_chars is not None:
        chars = billed.chars
        if chars > tier.max_chars:
            raise BadRequest(
                f"messages: the prompt is too long for tier '{tier_name}': {chars} characters > "
                f"{tier.max_chars} (messages, names, tools, schemas and tool calls all count).",
                code="prompt_too_long",
                param="messages",
            )


def requested_max_tokens(request: Request | dict[str, Any]) -> int | None:
    """The caller's output cap (``max_completion_tokens`` wins over ``max_tokens``).

    Takes the typed request, or a parsed body that already passed :func:`validate_chat`.
    """
    if isinstance(request, dict):
        value = request.get("max_completion_tokens")
        if value is None:
            value = request.get("max_tokens")
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(request, ChatRequest) and request.max_completion_tokens is not None:
        return request.max_completion_tokens
    return request.max_tokens
