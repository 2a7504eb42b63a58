"""Holding a provider to ``max_tokens``: the gateway cuts an answer that runs past the cap.

Admission reserved input + ``max_tokens``; a provider (or a self-hosted server) that ignores
the cap would deliver, and bill, more than was admitted. The gateway therefore enforces the cap
itself, in the provider's wire format (before any translation, so the translated answer says
``length`` / ``max_tokens`` in the client's words):

- a full answer whose output is over the cap (the provider's own usage says so, or, when it
  reports none, the gateway's count) is cut at the cap and marked ``finish_reason: length`` /
  ``stop_reason: max_tokens`` (:func:`clip_body`);
- a stream is cut by :class:`doorman.upstream.wire.StreamMeter`, which already counts every
  delta as it is relayed: the event that crosses the cap is shortened, the upstream is closed,
  and :func:`stream_ending` supplies the events a stream ends with in that wire format.

An honest provider is never touched: it stops at the cap by itself, and the gateway only acts
on output *beyond* it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from doorman.upstream.deployment import Wire

Encode = Callable[[str], list[int]]
Decode = Callable[[list[int]], str]

MAX_TOKENS_FLAG = "max_tokens_enforced"  # in the response flags and the ledger row


class TokenBudget:
    """Output tokens left under the cap; cuts text that would exceed it."""

    __slots__ = ("_decode", "_encode", "cut", "left", "used")

    def __init__(self, cap: int, encode: Encode, decode: Decode) -> None:
        self.left = cap
        self.used = 0
        self.cut = False
        self._encode = encode
        self._decode = decode

    def take(self, text: str) -> str:
        """``text`` as far as it fits (all of it, a prefix, or nothing)."""
        if not text:
            return text
        tokens = self._encode(text)
        if len(tokens) <= self.left:
            self.left -= len(tokens)
            self.used += len(tokens)
            return text
        kept = self._decode(tokens[: self.left]).rstrip("\ufffd")  # no half character
        self.used += self.left
        self.left = 0
        self.cut = True
        return kept


def clip_body(
    wire: Wire, body: dict[str, Any], cap: int, encode: Encode, decode: Decode,
    reported_output: int | None,
) -> tuple[bool, int]:  # fmt: skip
    """Cut a full answer (provider format) at ``cap`` output tokens, in place.

    Returns (whether it was cut, the output tokens the answer now holds by the gateway's
    count). When the provider reported its output within the cap, nothing is cut.
    """
    budget = TokenBudget(cap, encode, decode)
    if reported_output is not None and reported_output <= cap:
        return False, reported_output
    if wire == "anthropic":
        kept: list[Any] = []
        for block in body.get("content") or []:
            if budget.cut:
                break
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                block["text"] = budget.take(block["text"])
            elif isinstance(block, dict) and block.get("type") == "tool_use":
                budget.take(block.get("name") or "")
                budget.take(orjson.dumps(block.get("input") or {}).decode())
                if budget.cut:
                    break  # a call cut in half is no call: dropped
            kept.append(block)
        if budget.cut:
            body["content"] = kept
            body["stop_reason"] = "max_tokens"
        return budget.cut, budget.used
    for choice in body.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("content"), str):
            message["content"] = budget.take(message["content"])
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            whole = []
            for call in calls:
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    budget.take(str(fn.get("name") or ""))
                    budget.take(str(fn.get("arguments") or ""))
                if budget.cut:
                    break
                whole.append(call)
            if len(whole) != len(calls):
                message["tool_calls"] = whole or None
        if budget.cut:
            choice["finish_reason"] = "length"
    return budget.cut, budget.used


def stream_ending(
    wire: Wire, last: dict[str, Any] | None, block_index: int, usage: tuple[int, int],
    with_usage: bool,
) -> list[tuple[str | None, bytes]]:  # fmt: skip
    """The events (``event:`` name, ``data:`` payload) that end a stream cut at the cap.

    ``last`` is the last event the provider sent (OpenAI chunks reuse its id and model);
    ``usage`` is (input tokens, output tokens delivered); ``with_usage`` adds OpenAI's usage
    chunk (a client that asked for it, or a translator that needs it).
    """
    input_tokens, output_tokens = usage
    if wire == "anthropic":
        delta = {"stop_reason": "max_tokens", "stop_sequence": None}
        return [
            ("content_block_stop", orjson.dumps({"type": "content_block_stop", "index": block_index})),
            ("message_delta", orjson.dumps(
                {"type": "message_delta", "delta": delta, "usage": {"output_tokens": output_tokens}}
            )),
            ("message_stop", b'{"type":"message_stop"}'),
        ]  # fmt: skip
    base: dict[str, Any] = {}
    for k in ("id", "object", "created", "model"):
        if last is not None and k in last:
            base[k] = last[k]
    finish = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
    out: list[tuple[str | None, bytes]] = [(None, orjson.dumps(finish))]
    if with_usage:
        counts = {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        out.append((None, orjson.dumps({**base, "choices": [], "usage": counts})))
    out.append((None, b"[DONE]"))
    return out
