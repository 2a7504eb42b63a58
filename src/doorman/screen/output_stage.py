"""The output-screening stage: set up one request's guard, add its canary, screen full answers.

Runs after admission (a refused request needs no guard). Streams are screened by
:func:`doorman.screen.output_stream.guard_stream`, which the pipeline wraps around the relay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from doorman.exchange import Exchange
from doorman.screen.output import (
    SIDE_TEXT_FIELDS,
    OutputBlocked,
    OutputGuard,
    canary_instruction,
    new_canary,
    screen_value,
)

if TYPE_CHECKING:
    from doorman.server.state import Gateway
    from doorman.upstream.deployment import Wire


def system_text(body: dict[str, Any], wire: Wire) -> str:
    """The system prompt the application wrote (both formats), for the echo detector."""
    parts: list[str] = []
    if wire == "anthropic":
        system = body.get("system")
        if isinstance(system, str):
            parts.append(system)
        elif isinstance(system, list):
            parts += [
                b["text"] for b in system if isinstance(b, dict) and isinstance(b.get("text"), str)
            ]
    else:
        for msg in body.get("messages") or []:
            if isinstance(msg, dict) and msg.get("role") in ("system", "developer"):
                content = msg.get("content")
                if isinstance(content, str):
                    parts.append(content)
                elif isinstance(content, list):
                    parts += [p["text"] for p in content
                              if isinstance(p, dict) and isinstance(p.get("text"), str)]  # fmt: skip
    return "\n".join(parts)


class GuardOutput:
    """Builds the request's :class:`OutputGuard` when the tier screens output."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        screener = self.gw.screener
        if screener is None or ex.tier is None:
            return
        settings = screener.settings_for(ex.tier.screening)
        out = settings.output
        if not settings.enabled or not out.active:
            return
        canary = new_canary() if out.canary else None
        guard = OutputGuard(
            out,
            frozenset(settings.pii_kinds),
            canary=canary,
            system_text=system_text(ex.body, ex.wire),
        )
        guard.findings = ex.flags  # findings land in the response flags and the ledger row
        ex.output_guard = guard
        ex.canary = canary


def add_canary(body: dict[str, Any], wire: Wire, canary: str) -> None:
    """Put the canary instruction at the top of the system prompt of an upstream body."""
    line = canary_instruction(canary)
    if wire == "anthropic":
        system = body.get("system")
        if isinstance(system, list):
            body["system"] = [{"type": "text", "text": line}, *system]
        else:
            body["system"] = f"{line}\n\n{system}" if system else line
        return
    body["messages"] = [{"role": "system", "content": line}, *body.get("messages", [])]


def guard_body(ex: Exchange, parsed: dict[str, Any]) -> bool:
    """Screen a full answer (client wire) in place — its text, its reasoning, refusal and
    thinking, and its tool calls' arguments (an injected page can make the model exfiltrate
    through a call) — True when it changed.

    Raises :class:`OutputBlocked` on a blocking finding.
    """
    guard: OutputGuard = ex.output_guard
    changed = False

    def screen(holder: dict[str, Any], field: str) -> None:
        nonlocal changed
        value = holder.get(field)
        if isinstance(value, str | dict | list):
            new = screen_value(guard, value)
            if new != value:
                changed = True
                holder[field] = new

    if ex.wire == "anthropic":
        for block in parsed.get("content") or []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type", "text")
            if isinstance(kind, str) and kind in _ANTHROPIC_TEXT:
                screen(block, _ANTHROPIC_TEXT[kind])
        return changed
    for choice in parsed.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        for field in ("content", *SIDE_TEXT_FIELDS):
            screen(message, field)
        for call in message.get("tool_calls") or []:
            for kind, field in (("function", "arguments"), ("custom", "input")):
                if isinstance(call, dict) and isinstance(call.get(kind), dict):
                    screen(call[kind], field)
        if isinstance(message.get("function_call"), dict):
            screen(message["function_call"], "arguments")
    return changed


# Where an Anthropic block's caller-visible text is (a tool call's: every string of its input).
_ANTHROPIC_TEXT = {"text": "text", "thinking": "thinking", "tool_use": "input",
                   "server_tool_use": "input"}  # fmt: skip


__all__ = ["GuardOutput", "OutputBlocked", "add_canary", "guard_body", "system_text"]
