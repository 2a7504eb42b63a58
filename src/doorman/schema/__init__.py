"""Typed request models of the two chat wire formats, and their conversion from parsed JSON.

``decode_request`` turns the parsed body into an OpenAI :class:`ChatRequest` or an Anthropic
:class:`MessagesRequest`; any field of the wrong type, anywhere, becomes a 400 whose ``param``
is the path of the offending value (``messages[0].tool_calls``).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from doorman.errors import BadRequest
from doorman.schema.anthropic import MessagesRequest
from doorman.schema.openai import ChatRequest

__all__ = ["ChatRequest", "MessagesRequest", "Request", "decode_request"]

Request = ChatRequest | MessagesRequest

# msgspec: "Expected `array | null`, got `int` - at `$.messages[0].tool_calls`"
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")
_INVALID_TAG = re.compile(r"^Invalid value (?P<value>.+)$")


def decode_request(body: dict[str, Any], wire: str) -> Request:
    """The typed request, or BadRequest naming the path of the first wrong value."""
    model: type[Request] = MessagesRequest if wire == "anthropic" else ChatRequest
    try:
        request: Request = msgspec.convert(body, model, strict=True)
        return request
    except msgspec.ValidationError as exc:
        raise _bad_request(str(exc)) from None


def _bad_request(text: str) -> BadRequest:
    match = _AT.search(text)
    path = match.group("path").lstrip(".") if match else ""
    detail = text[: match.start()] if match else text
    missing = _MISSING.match(detail)
    if missing is not None:
        field = missing.group("field")
        path = f"{path}.{field}" if path else field
        return BadRequest(f"{path}: this field is required.", code="missing_field", param=path)
    invalid = _INVALID_TAG.match(detail)
    last = path.rsplit(".", 1)[-1]
    if invalid is not None and last in ("type", "role"):
        what = "content type" if last == "type" else "role"
        return BadRequest(
            f"{path}: unknown {what} {invalid.group('value')}. The gateway accepts only the "
            "documented types, because it must count everything the provider bills.",
            code="invalid_value",
            param=path,
        )
    detail = detail.replace("`NoneType`", "`null`")
    code = "invalid_type" if "got `" in detail else "invalid_value"
    where = path or "body"
    return BadRequest(f"{where}: {detail}", code=code, param=path or None)
