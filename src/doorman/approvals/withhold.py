"""Take the calls that need approval out of a full answer and put a notice in their place.

Works on the answer in the caller's wire format. Other tool calls stay, in order (OpenAI's
stream indexes are renumbered by :mod:`.stream`); when every call was withheld the answer ends
like a plain text answer (``finish_reason: stop`` / ``stop_reason: end_turn``), so a client loop
does not wait for tool results it was never asked for.
"""

from __future__ import annotations

from typing import Any

import orjson

from doorman.approvals.store import WithheldCall, new_approval_id
from doorman.tool_policy import ToolPolicy
from doorman.upstream.deployment import Wire

APPROVAL_HEADER = "x-doorman-approval"


def notice(name: str, approval_id: str) -> str:
    """The text a caller reads instead of the call: what happened, the id, how to get it."""
    return (
        f"[doorman] The call to the tool '{name}' needs a person's approval and was withheld. "
        f"Approval id: {approval_id}. Ask GET /v1/approvals/{approval_id} for the decision; "
        "the call is handed out once, after it is approved."
    )


def _openai_call(call: dict[str, Any]) -> tuple[str, str | None] | None:
    """(name, id) of a function call or a custom-tool call (``{"type": "custom", "custom":
    {"name", "input"}}``); None when it names no tool."""
    fn = call.get("function")
    if not isinstance(fn, dict):
        fn = call.get("custom")
    if isinstance(fn, dict) and isinstance(fn.get("name"), str):
        cid = call.get("id")
        return fn["name"], cid if isinstance(cid, str) else None
    return None


def withhold_answer(parsed: dict[str, Any], wire: Wire, policy: ToolPolicy) -> list[WithheldCall]:
    """Rewrite ``parsed`` in place; the withheld calls (empty: nothing changed)."""
    if wire == "anthropic":
        return _anthropic(parsed, policy)
    withheld: list[WithheldCall] = []
    for choice in parsed.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            withheld += _openai_message(choice, message, policy)
    return withheld


def _openai_message(
    choice: dict[str, Any], message: dict[str, Any], policy: ToolPolicy
) -> list[WithheldCall]:
    out: list[WithheldCall] = []
    kept: list[Any] = []
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        found = _openai_call(call) if isinstance(call, dict) else None
        if found is not None and policy.needs_approval(found[0]):
            out.append(WithheldCall(new_approval_id(), found[0], found[1], call))
        else:
            kept.append(call)
    legacy = message.get("function_call")  # OpenAI's older single-call form
    legacy_withheld = (
        isinstance(legacy, dict)
        and isinstance(legacy.get("name"), str)
        and policy.needs_approval(legacy["name"])
    )
    if legacy_withheld:
        assert isinstance(legacy, dict)
        out.append(WithheldCall(new_approval_id(), legacy["name"], None, legacy))
        del message["function_call"]
    if not out:
        return out
    if isinstance(calls, list):
        if kept:
            message["tool_calls"] = kept
        else:
            message.pop("tool_calls", None)
    text = "\n".join(notice(w.tool_name, w.id) for w in out)
    content = message.get("content")
    message["content"] = f"{content}\n\n{text}" if isinstance(content, str) and content else text
    if not kept and choice.get("finish_reason") in ("tool_calls", "function_call"):
        choice["finish_reason"] = "stop"
    return out


def _anthropic(parsed: dict[str, Any], policy: ToolPolicy) -> list[WithheldCall]:
    out: list[WithheldCall] = []
    blocks = parsed.get("content")
    if not isinstance(blocks, list):
        return out
    tools_left = 0
    for i, block in enumerate(blocks):
        if not (isinstance(block, dict) and block.get("type") == "tool_use"):
            continue
        name = block.get("name")
        if isinstance(name, str) and policy.needs_approval(name):
            cid = block.get("id")
            withheld = WithheldCall(new_approval_id(), name, cid if isinstance(cid, str) else None,
                                    block)  # fmt: skip
            out.append(withheld)
            blocks[i] = {"type": "text", "text": notice(name, withheld.id)}
        else:
            tools_left += 1
    if out and not tools_left and parsed.get("stop_reason") == "tool_use":
        parsed["stop_reason"] = "end_turn"
    return out


def anthropic_input(partial_json: str, fallback: Any) -> Any:
    """A streamed tool_use input from its ``partial_json`` pieces (the start block's when none)."""
    if not partial_json.strip():
        return fallback if fallback is not None else {}
    try:
        return orjson.loads(partial_json)
    except orjson.JSONDecodeError:
        return fallback if fallback is not None else {}
