"""What cross-format translation adds to one request, in CPU microseconds.

A translated request does three things an untranslated one does not: translate the request
body, re-serialise the provider's answer in the client's format, and (streams) rewrite every
event. This measures exactly that extra work on a typical tool-using chat request, both
directions, against the untranslated path measured in the same run (body build + dump, and
the usage read that both paths do).

    .venv/bin/python bench/translate_cost.py [-n 20000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import orjson

from doorman.upstream.translate import translate_request, translate_response, translate_stream
from doorman.upstream.wire import usage_from_body

OPENAI_REQUEST: dict[str, Any] = {
    "model": "m",
    "max_tokens": 300,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant for a travel agency. " * 4},
        {"role": "user", "content": "What's the weather in Paris and in Rome tomorrow?"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather forecast for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                    "required": ["city"],
                },
            },
        }
    ],
}
ANTHROPIC_ANSWER = orjson.dumps(
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [
            {"type": "text", "text": "Let me check both cities for you."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 180, "output_tokens": 60},
    }
)
TEXT_EVENT = orjson.dumps(
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " word"}}
)


def timed(fn: Callable[[], object], n: int) -> float:
    """Median of 5 runs of ``n`` calls, in CPU microseconds per call."""
    runs = []
    for _ in range(5):
        t = time.process_time()
        for _ in range(n):
            fn()
        runs.append((time.process_time() - t) / n * 1e6)
    return sorted(runs)[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=20000)
    n = ap.parse_args().n

    def plain() -> None:
        body = dict(OPENAI_REQUEST)
        orjson.dumps(body)
        usage_from_body("anthropic", orjson.loads(ANTHROPIC_ANSWER))

    def translated() -> None:
        body = translate_request("openai", "anthropic", dict(OPENAI_REQUEST))
        orjson.dumps(body)
        parsed = orjson.loads(ANTHROPIC_ANSWER)
        usage_from_body("anthropic", parsed)
        orjson.dumps(translate_response("openai", "anthropic", parsed))

    anthropic_request = translate_request("openai", "anthropic", dict(OPENAI_REQUEST))

    def reverse() -> None:
        orjson.dumps(translate_request("anthropic", "openai", dict(anthropic_request)))

    stream = translate_stream("openai", "anthropic", include_usage=True, input_tokens=0)

    def event() -> None:
        stream.feed("content_block_delta", TEXT_EVENT)

    base = timed(plain, n)
    full = timed(translated, n)
    print(f"untranslated request (build+dump body, read usage): {base:6.1f} us CPU")
    print(
        f"translated OpenAI caller -> Anthropic provider:     {full:6.1f} us CPU "
        f"(+{full - base:.1f} us; target <= +50)"
    )
    print(f"request translation Anthropic -> OpenAI:            {timed(reverse, n):6.1f} us CPU")
    print(f"one streamed text event, Anthropic -> OpenAI:       {timed(event, n):6.1f} us CPU")


if __name__ == "__main__":
    main()
