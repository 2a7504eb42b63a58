"""Withhold tool calls that need approval from an SSE stream, in the caller's wire format.

Headers left before the first event, so a stream cannot carry ``x-doorman-approval``. Instead,
when a withheld call has streamed in full (its arguments are needed for the record) it is
recorded, then replaced in place by the notice as ordinary text — a text block at the same index
(Anthropic) or a content delta (OpenAI) — followed by an SSE comment
``: x-doorman-approval=<id>`` that SDKs skip and raw clients can read. Passing calls keep their
order; OpenAI tool-call indexes are renumbered so the client sees no gap. When every call was
withheld the stream ends with ``stop`` / ``end_turn``.

Only installed when the tier has ``require_approval`` patterns; frames that cannot hold a tool
call are passed on without being parsed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import orjson

from doorman.approvals.store import WithheldCall, new_approval_id
from doorman.approvals.withhold import anthropic_input, notice
from doorman.errors import DoormanError, UpstreamError
from doorman.tool_policy import ToolPolicy
from doorman.upstream.deployment import Wire
from doorman.upstream.sse_frames import sse_batches

Record = Callable[[Sequence[WithheldCall]], Awaitable[None]]


def approval_comment(approval_id: str) -> bytes:
    return f": x-doorman-approval={approval_id}\n\n".encode()


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


@dataclass(slots=True)
class _Open:
    """A withheld call still streaming in."""

    id: str
    name: str
    call_id: str | None = None
    parts: list[str] = field(default_factory=list)
    start: Any = None  # Anthropic: the input given on the start block
    legacy: bool = False  # OpenAI ``function_call`` rather than ``tool_calls``
    kind: str = "function"  # OpenAI: "function" or "custom" (a custom tool's free-form input)


@dataclass(slots=True)
class _Held:
    """An OpenAI call not yet decided: its name may still be arriving in pieces, so it is held
    until its arguments start (or another call, or the finish, shows the name is complete).
    ``tool_calls`` entries and the legacy ``function_call`` alike."""

    name: str = ""
    call_id: str | None = None
    parts: list[str] = field(default_factory=list)
    kind: str = "function"
    legacy: bool = False

    def add(self, call: dict[str, Any], fn: dict[str, Any]) -> None:
        if call.get("type") == "custom" or "custom" in call:
            self.kind = "custom"
        if isinstance(fn.get("name"), str):
            self.name += fn["name"]
        if isinstance(call.get("id"), str):
            self.call_id = self.call_id or call["id"]
        if isinstance(fn.get("arguments"), str):
            self.parts.append(fn["arguments"])


class StreamWithholder:
    """Rewrites one stream's frames. ``record`` stores finished withheld calls (awaited before
    their notice is released, so the id works the moment the caller reads it)."""

    def __init__(
        self, wire: Wire, policy: ToolPolicy, record: Record, on_withheld: Callable[[str], None]
    ) -> None:
        self.wire = wire
        self.policy = policy
        self.record = record
        self.on_withheld = on_withheld
        self.open: dict[Any, _Open] = {}
        self.passing: dict[Any, int | None] = {}  # OpenAI: (choice, index) -> client index
        self.held: dict[Any, _Held] = {}  # OpenAI: calls whose name may be incomplete
        self.legacy_out: dict[int, dict[str, Any]] = {}  # OpenAI: a decided, passing legacy call
        self.names: dict[Any, str] = {}  # OpenAI: the name so far of each call let through
        self.next_index: dict[int, int] = {}
        self.passing_tools = 0  # Anthropic: tool_use blocks let through
        self.withheld = 0

    def _open(self, name: str, call_id: str | None = None, **kw: Any) -> _Open:
        state = _Open(new_approval_id(), name, call_id, **kw)
        self.withheld += 1
        self.on_withheld(state.id)
        return state

    async def frame(self, frame: bytes) -> bytes:
        """One complete SSE frame in, what the client gets for it out (maybe nothing)."""
        # Parsed only when it may hold a call; a JSON key may be spelled with escapes
        # ("\u0074ool_calls"), and a client's parser would read that as a call.
        if (
            not (self.open or self.held)
            and b"tool" not in frame
            and b"function" not in frame
            and b"\\u" not in frame
        ):
            return frame
        data = None
        for line in frame.split(b"\n"):
            if line.startswith(b"data:"):
                data = line[5:].strip()
        if not data or data == b"[DONE]":
            return frame
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            return frame
        if not isinstance(event, dict):
            return frame
        if self.wire == "anthropic":
            return await self._anthropic(event, frame)
        return await self._openai(event, frame)

    # ------------------------------------------------------------------ Anthropic
    async def _anthropic(self, event: dict[str, Any], frame: bytes) -> bytes:
        kind = event.get("type")
        index = event.get("index")
        if kind == "content_block_start":
            block = event.get("content_block")
            if isinstance(block, dict) and block.get("type") == "tool_use":
                name = block.get("name")
                if isinstance(name, str) and self.policy.needs_approval(name):
                    cid = block.get("id")
                    self.open[index] = self._open(
                        name, cid if isinstance(cid, str) else None, start=block.get("input")
                    )
                    return b""
                self.passing_tools += 1
            return frame
        state = self.open.get(index) if index is not None else None
        if kind == "content_block_delta" and state is not None:
            delta = event.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("partial_json"), str):
                state.parts.append(delta["partial_json"])
            return b""
        if kind == "content_block_stop" and state is not None:
            del self.open[index]
            call = {
                "type": "tool_use",
                "id": state.call_id,
                "name": state.name,
                "input": anthropic_input("".join(state.parts), state.start),
            }
            await self.record([WithheldCall(state.id, state.name, state.call_id, call)])
            text = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": notice(state.name, state.id)}
            return (
                _sse({"type": "content_block_start", "index": index, "content_block": text},
                     "content_block_start")
                + _sse({"type": "content_block_delta", "index": index, "delta": delta},
                       "content_block_delta")
                + _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
                + approval_comment(state.id)
            )  # fmt: skip
        if kind == "message_delta" and self.withheld and not self.passing_tools:
            delta = event.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason") == "tool_use":
                out = {**event, "delta": {**delta, "stop_reason": "end_turn"}}
                return _sse(out, "message_delta")
        return frame

    # ------------------------------------------------------------------ OpenAI
    async def _openai(self, event: dict[str, Any], frame: bytes) -> bytes:
        choices = event.get("choices")
        if not isinstance(choices, list):
            return frame
        changed = False
        before = b""
        new_choices: list[Any] = []
        for choice in choices:
            if not isinstance(choice, dict):
                new_choices.append(choice)
                continue
            ci = choice.get("index", 0)
            delta = choice.get("delta")
            if isinstance(delta, dict):
                new_delta, delta_changed = self._openai_delta(ci, delta)
                if delta_changed:
                    changed = True
                    choice = {**choice, "delta": new_delta}
            finish = choice.get("finish_reason")
            if finish is not None:
                released = self._released(ci, self._decide_all(ci))
                if released:  # calls that pass, complete only now: sent before the finish
                    before += _openai_chunk(event, ci, released)
                done = [k for k in self.open if k[0] == ci]
                if done:
                    before += await self._openai_finish(event, ci, done)
                passing = any(k[0] == ci and v is not None for k, v in self.passing.items())
                if (
                    finish in ("tool_calls", "function_call")
                    and self._withheld_in(ci)
                    and not passing
                ):
                    choice = {**choice, "finish_reason": "stop"}
                    changed = True
            new_choices.append(choice)
        if not changed:
            return before + frame
        idle = all(
            isinstance(c, dict) and not c.get("delta") and c.get("finish_reason") is None
            for c in new_choices
        )
        if idle and not event.get("usage"):
            return before  # the frame only carried withheld pieces
        return before + b"data: " + orjson.dumps({**event, "choices": new_choices}) + b"\n\n"

    def _withheld_in(self, ci: int) -> bool:
        return any(k[0] == ci and v is None for k, v in self.passing.items())

    def _openai_delta(self, ci: int, delta: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        changed = False
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            kept: list[Any] = []
            for call in calls:
                if not isinstance(call, dict):
                    kept.append(call)
                    continue
                key = (ci, call.get("index", 0))
                fn = _call_parts(call)
                if key not in self.passing:
                    # A new call means the ones before it are complete, their names too.
                    kept += self._decide_all(ci, but=key)
                    self.held.setdefault(key, _Held()).add(call, fn)
                    if fn.get("arguments"):  # arguments started: the name is whole
                        kept += self._decide(key)
                    changed = True
                    continue
                if self.passing[key] is None:
                    state = self.open.get(key)
                    if state is not None and isinstance(fn.get("arguments"), str):
                        state.parts.append(fn["arguments"])
                    changed = True
                    continue
                self._grow_name(key, fn.get("name"))
                if self.passing[key] != key[1]:
                    call = {**call, "index": self.passing[key]}
                    changed = True
                kept.append(call)
            if changed:
                delta = {k: v for k, v in delta.items() if k != "tool_calls"}
                if kept:
                    delta["tool_calls"] = kept
        legacy = delta.get("function_call")
        if isinstance(legacy, dict):
            # The legacy form: one call per choice, its name in pieces like a tool call's.
            key = (ci, "function_call")
            if key not in self.passing:
                self.held.setdefault(key, _Held(legacy=True)).add({}, legacy)
                if legacy.get("arguments"):  # arguments started: the name is whole
                    self._decide(key)
                delta = {k: v for k, v in delta.items() if k != "function_call"}
                changed = True
            elif self.passing[key] is None:
                state = self.open.get(key)
                if state is not None and isinstance(legacy.get("arguments"), str):
                    state.parts.append(legacy["arguments"])
                delta = {k: v for k, v in delta.items() if k != "function_call"}
                changed = True
            else:
                self._grow_name(key, legacy.get("name"))
        passed = self.legacy_out.pop(ci, None)
        if passed is not None:  # decided just now: the whole call so far, in one delta
            delta = {**delta, "function_call": passed}
            changed = True
        return delta, changed

    def _released(self, ci: int, calls: list[dict[str, Any]]) -> dict[str, Any]:
        """The delta carrying calls decided at a choice's finish (empty: none pass)."""
        delta: dict[str, Any] = {"tool_calls": calls} if calls else {}
        passed = self.legacy_out.pop(ci, None)
        if passed is not None:
            delta["function_call"] = passed
        return delta

    def _decide(self, key: Any) -> list[dict[str, Any]]:
        """Withhold a held call or let it pass: a passing call comes back as one delta (under
        the index the client sees), a withheld one starts collecting its arguments."""
        held = self.held.pop(key)
        ci = key[0]
        if held.name and self.policy.needs_approval(held.name):
            self.passing[key] = None
            self.open[key] = self._open(
                held.name, held.call_id, parts=held.parts, kind=held.kind, legacy=held.legacy
            )
            return []
        if held.legacy:  # passes: goes out as a function_call delta, not a tool_calls entry
            self.passing[key] = -1
            self.names[key] = held.name
            self.legacy_out[ci] = {"name": held.name, "arguments": "".join(held.parts)}
            return []
        index = self.passing[key] = self.next_index.get(ci, 0)
        self.next_index[ci] = index + 1
        self.names[key] = held.name
        body = {"name": held.name, _ARGS[held.kind]: "".join(held.parts)}
        merged: dict[str, Any] = {"index": index, "type": held.kind, held.kind: body}
        if held.call_id is not None:
            merged["id"] = held.call_id
        return [merged]

    def _grow_name(self, key: Any, piece: Any) -> None:
        """A call already let through gets another piece of its name (a client joins the
        pieces): if the whole name needs approval, end the stream rather than hand it out."""
        if not isinstance(piece, str) or not piece:
            return
        name = self.names[key] = self.names.get(key, "") + piece
        if self.policy.needs_approval(name):
            raise UpstreamError(
                f"The provider sent the name of a tool call in pieces after its arguments began; "
                f"the call to '{name[:256]}' needs a person's approval, so the answer was ended "
                "here instead of handing the call out.",
                code="tool_call_withheld",
            )

    def _decide_all(self, ci: int, but: Any = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key in [k for k in self.held if k[0] == ci and k != but]:
            out += self._decide(key)
        return out

    async def _openai_finish(self, event: dict[str, Any], ci: int, keys: list[Any]) -> bytes:
        """Record the choice's withheld calls; their notices as one content delta."""
        calls = []
        for key in keys:
            state = self.open.pop(key)
            args = "".join(state.parts)
            call: dict[str, Any] = (
                {"name": state.name, "arguments": args}
                if state.legacy
                else {"id": state.call_id, "type": state.kind,
                      state.kind: {"name": state.name, _ARGS[state.kind]: args}}
            )  # fmt: skip
            calls.append(WithheldCall(state.id, state.name, state.call_id, call))
        await self.record(calls)
        text = "\n".join(notice(c.tool_name, c.id) for c in calls)
        comments = b"".join(approval_comment(c.id) for c in calls)
        return _openai_chunk(event, ci, {"content": text}) + comments


_ARGS = {"function": "arguments", "custom": "input"}


def _call_parts(call: dict[str, Any]) -> dict[str, Any]:
    """A streamed OpenAI call's name and arguments pieces, for a function call or a custom-tool
    call (``custom: {name, input}``) alike — both are calls a client would run."""
    raw = call.get("function")
    if isinstance(raw, dict):
        return raw
    custom = call.get("custom")
    if isinstance(custom, dict):
        return {"name": custom.get("name"), "arguments": custom.get("input")}
    return {}


def _openai_chunk(event: dict[str, Any], ci: int, delta: dict[str, Any]) -> bytes:
    """A chunk of our own for choice ``ci``, shaped like ``event`` (same id, model, created)."""
    chunk = {
        **{k: v for k, v in event.items() if k not in ("choices", "usage")},
        "choices": [{"index": ci, "delta": delta, "finish_reason": None}],
    }
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def error_frame(wire: Wire, exc: DoormanError) -> bytes:
    """A terminal error event in the caller's format (the stream already answered 200)."""
    return _sse(exc.body(wire), "error" if wire == "anthropic" else None)


async def withhold_stream(
    stream: AsyncIterator[bytes],
    withholder: StreamWithholder,
    on_error: Callable[[DoormanError], None],
) -> AsyncIterator[bytes]:
    """``stream`` (SSE bytes in the caller's format) with calls needing approval withheld."""
    async with aclosing(sse_batches(stream)) as batches:
        async for frames, complete in batches:
            if not complete:
                yield frames[0]
                continue
            out: list[bytes] = []
            for frame in frames:
                try:
                    out.append(await withholder.frame(frame))
                except DoormanError as exc:  # the approval could not be recorded
                    on_error(exc)
                    yield b"".join(out) + error_frame(withholder.wire, exc)
                    return
            if any(out):
                yield b"".join(out)  # one write per upstream read
