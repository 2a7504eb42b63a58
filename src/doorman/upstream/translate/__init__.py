"""Translation between the OpenAI Chat Completions and Anthropic Messages wire formats.

One module per direction, named for who speaks to whom:

- :mod:`.openai_to_anthropic`: an OpenAI-format caller served by an Anthropic provider
  (request OpenAI -> Anthropic; response and stream Anthropic -> OpenAI).
- :mod:`.anthropic_to_openai`: the reverse.

What has no counterpart raises :class:`Untranslatable` naming the field, never a silent drop of
something that changes the meaning of the request. Hints that only change price or caching
(``cache_control``, ``stream_options``, ``seed``, ``service_tier``) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from doorman.upstream.deployment import Wire
from doorman.upstream.translate import anthropic_to_openai, openai_to_anthropic
from doorman.upstream.translate.common import Untranslatable

__all__ = [
    "StreamTranslator",
    "Untranslatable",
    "translate_request",
    "translate_response",
    "translate_stream",
]


class StreamTranslator(Protocol):
    def feed(self, event: str | None, data: bytes) -> list[bytes]:
        """One upstream SSE event (its ``event:`` name and ``data:`` payload) -> client bytes."""
        ...

    def close(self) -> list[bytes]:
        """The client events still owed when the upstream stream ended."""
        ...


def translate_request(client: Wire, provider: Wire, body: dict[str, Any]) -> dict[str, Any]:
    """The request body in the provider's format; raises :class:`Untranslatable`."""
    if client == provider:
        return body
    if client == "openai":
        return openai_to_anthropic.request(body)
    return anthropic_to_openai.request(body)


def translate_response(client: Wire, provider: Wire, body: dict[str, Any]) -> dict[str, Any]:
    """A full provider response in the client's format."""
    if client == provider:
        return body
    if client == "openai":
        return openai_to_anthropic.response(body)
    return anthropic_to_openai.response(body)


def translate_stream(
    client: Wire, provider: Wire, *, include_usage: bool, input_tokens: int
) -> StreamTranslator:
    """A translator of the provider's SSE events into the client's, for one stream."""
    factory: Callable[..., StreamTranslator]
    if client == "openai":
        factory = openai_to_anthropic.StreamToOpenAI
        return factory(include_usage=include_usage)
    factory = anthropic_to_openai.StreamToAnthropic
    return factory(input_tokens=input_tokens)
