"""Withholding calls in full answers and streams, both formats: other calls pass, order and
finish reasons stay consistent; the policy's config is checked like allow/deny."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import pytest

from doorman.approvals.store import WithheldCall
from doorman.approvals.stream import StreamWithholder, withhold_stream
from doorman.approvals.withhold import withhold_answer
from doorman.config import ConfigError, parse_settings
from doorman.errors import ServiceUnavailable
from doorman.tool_policy import ToolPolicy

POLICY = ToolPolicy(require_approval=["send_*"])


def _oa_call(i: int, name: str) -> dict[str, Any]:
    return {"id": f"call_{i}", "type": "function",
            "function": {"name": name, "arguments": f'{{"n": {i}}}'}}  # fmt: skip


def test_openai_answer_keeps_other_calls_and_says_tool_calls() -> None:
    answer = {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": None,
        "tool_calls": [_oa_call(0, "send_money"), _oa_call(1, "get_weather")]}}]}  # fmt: skip
    withheld = withhold_answer(answer, "openai", POLICY)
    assert [w.tool_name for w in withheld] == ["send_money"]
    assert withheld[0].tool_call == _oa_call(0, "send_money")
    msg = answer["choices"][0]["message"]
    assert [c["function"]["name"] for c in msg["tool_calls"]] == ["get_weather"]
    assert withheld[0].id in msg["content"]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"


def test_openai_answer_with_every_call_withheld_stops() -> None:
    answer = {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Sure.",
        "tool_calls": [_oa_call(0, "send_money"), _oa_call(1, "send_mail")]}}]}  # fmt: skip
    withheld = withhold_answer(answer, "openai", POLICY)
    msg = answer["choices"][0]["message"]
    assert len(withheld) == 2 and "tool_calls" not in msg
    assert msg["content"].startswith("Sure.") and all(w.id in msg["content"] for w in withheld)
    assert answer["choices"][0]["finish_reason"] == "stop"


def test_openai_legacy_function_call_is_withheld_too() -> None:
    fc = {"name": "send_money", "arguments": "{}"}
    answer = {"choices": [{"finish_reason": "function_call",
                           "message": {"role": "assistant", "content": None, "function_call": fc}}]}  # fmt: skip
    withheld = withhold_answer(answer, "openai", POLICY)
    assert withheld[0].tool_call == fc and "function_call" not in answer["choices"][0]["message"]
    assert answer["choices"][0]["finish_reason"] == "stop"


def test_anthropic_answer_replaces_the_block_in_place() -> None:
    send = {"type": "tool_use", "id": "toolu_1", "name": "send_money", "input": {"to": "bob"}}
    weather = {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}}
    answer = {"content": [{"type": "text", "text": "Ok"}, send, weather], "stop_reason": "tool_use"}
    withheld = withhold_answer(answer, "anthropic", POLICY)
    assert withheld[0].tool_call == send and withheld[0].call_id == "toolu_1"
    assert [b["type"] for b in answer["content"]] == ["text", "text", "tool_use"]
    assert answer["stop_reason"] == "tool_use"
    only = {"content": [copy.deepcopy(send)], "stop_reason": "tool_use"}
    withhold_answer(only, "anthropic", POLICY)
    assert only["stop_reason"] == "end_turn"


def test_an_answer_without_calls_needing_approval_is_untouched() -> None:
    answer = {"choices": [{"finish_reason": "tool_calls", "message": {
        "role": "assistant", "tool_calls": [_oa_call(0, "get_weather")]}}]}  # fmt: skip
    before = copy.deepcopy(answer)
    assert withhold_answer(answer, "openai", POLICY) == [] and answer == before


# ---------------------------------------------------------------------------------- streams
def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    return (f"event: {event}\n".encode() if event else b"") + b"data: " + orjson.dumps(data) + b"\n\n"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return _sse({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})  # fmt: skip


async def _run(frames: list[bytes], wire: str, fail: bool = False) -> tuple[bytes, list[WithheldCall], list[str]]:  # fmt: skip
    recorded: list[WithheldCall] = []
    errors: list[str] = []

    async def record(calls: Sequence[WithheldCall]) -> None:
        if fail:
            raise ServiceUnavailable("down", code="approval_store_unavailable")
        recorded.extend(calls)

    async def source() -> AsyncIterator[bytes]:
        for frame in frames:  # split mid-frame, as the relay yields lines
            yield frame[:7]
            yield frame[7:]

    w = StreamWithholder(wire, POLICY, record, lambda _id: None)  # type: ignore[arg-type]
    out = b"".join([c async for c in withhold_stream(source(), w, lambda e: errors.append(e.code))])
    return out, recorded, errors


def _events(out: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line[5:]) for line in out.split(b"\n")
            if line.startswith(b"data:") and line[5:].strip() != b"[DONE]"]  # fmt: skip


def _openai_tool_stream() -> list[bytes]:
    return [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                "function": {"name": "send_money", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"to": '}}]}),
        _chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                "function": {"name": "get_weather", "arguments": "{}"}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"bob"}'}}]}),
        _chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ]  # fmt: skip


async def test_openai_stream_withholds_one_call_and_renumbers_the_other() -> None:
    out, recorded, _ = await _run(_openai_tool_stream(), "openai")
    assert len(recorded) == 1
    call = recorded[0].tool_call
    assert call == {"id": "call_a", "type": "function",
                    "function": {"name": "send_money", "arguments": '{"to": "bob"}'}}  # fmt: skip
    events = _events(out)
    calls = [tc for e in events for c in e["choices"] for tc in c["delta"].get("tool_calls", [])]
    assert [(tc["index"], tc["function"]["name"]) for tc in calls] == [(0, "get_weather")]
    text = "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])
    assert recorded[0].id in text
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"  # one call still passes
    assert f": x-doorman-approval={recorded[0].id}".encode() in out
    assert out.endswith(b"data: [DONE]\n\n")


async def test_openai_stream_with_every_call_withheld_stops() -> None:
    frames = [f for f in _openai_tool_stream() if b"get_weather" not in f]
    out, recorded, _ = await _run(frames, "openai")
    assert len(recorded) == 1
    finishes = [c["finish_reason"] for e in _events(out) for c in e["choices"] if c["finish_reason"]]
    assert finishes == ["stop"] and b"send_money\", \"arguments" not in out
    assert b'"bob"' not in out  # the arguments never reach the caller


async def test_a_name_streamed_in_pieces_cannot_slip_past() -> None:
    frames = [
        _chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                "function": {"name": "send", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"name": "_money"}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"to": "bob"}'}}]}),
        _chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                "function": {"name": "get_", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 1, "function": {"name": "weather"}}]}),
        _chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ]  # fmt: skip
    out, recorded, _ = await _run(frames, "openai")
    assert [r.tool_name for r in recorded] == ["send_money"] and b"bob" not in out
    assert recorded[0].tool_call["function"]["arguments"] == '{"to": "bob"}'
    events = _events(out)
    calls = [tc for e in events for c in e["choices"] for tc in c["delta"].get("tool_calls", [])]
    # The passing call, whose name was only complete at the finish, arrives whole before it.
    assert calls == [{"index": 0, "id": "call_b", "type": "function",
                      "function": {"name": "get_weather", "arguments": ""}}]  # fmt: skip
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_anthropic_stream_replaces_the_block_with_text_at_its_index() -> None:
    frames = [
        _sse({"type": "message_start", "message": {"id": "m", "content": []}}, "message_start"),
        _sse({"type": "content_block_start", "index": 0,
              "content_block": {"type": "tool_use", "id": "toolu_1", "name": "send_money",
                                "input": {}}}, "content_block_start"),
        _sse({"type": "content_block_delta", "index": 0,
              "delta": {"type": "input_json_delta", "partial_json": '{"to": "b'}}, "content_block_delta"),
        _sse({"type": "content_block_delta", "index": 0,
              "delta": {"type": "input_json_delta", "partial_json": 'ob"}'}}, "content_block_delta"),
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _sse({"type": "message_delta", "delta": {"stop_reason": "tool_use"}}, "message_delta"),
        _sse({"type": "message_stop"}, "message_stop"),
    ]  # fmt: skip
    out, recorded, _ = await _run(frames, "anthropic")
    assert recorded[0].tool_call == {"type": "tool_use", "id": "toolu_1", "name": "send_money",
                                     "input": {"to": "bob"}}  # fmt: skip
    events = _events(out)
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert starts == ["text"] and b"bob" not in out
    assert [e["delta"]["stop_reason"] for e in events if e["type"] == "message_delta"] == ["end_turn"]
    assert b"event: content_block_start\n" in out


async def test_a_stream_whose_approval_cannot_be_recorded_ends_with_an_error_event() -> None:
    out, recorded, errors = await _run(_openai_tool_stream(), "openai", fail=True)
    assert recorded == [] and errors == ["approval_store_unavailable"]
    assert _events(out)[-1]["error"]["code"] == "approval_store_unavailable"
    assert b'"bob"' not in out


async def test_frames_without_tool_calls_pass_byte_for_byte() -> None:
    frames = [_chunk({"content": "Hello"}), _chunk({}, "stop"), b"data: [DONE]\n\n"]
    out, recorded, _ = await _run(frames, "openai")
    assert out == b"".join(frames) and recorded == []


# ---------------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("tools", "problem"),
    [
        ({"deny": ["shell_*"], "require_approval": ["shell_exec"]}, "is denied"),
        ({"allow": ["get_weather"], "require_approval": ["send_money"]}, "matches no tool"),
        ({"require_approval": [""]}, "empty pattern"),
    ],
)
def test_check_config_names_a_tool_that_needs_approval_but_is_not_allowed(
    tools: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"tiers": {"agents": {"tools": tools}}})
    text = "\n".join(info.value.problems)
    assert "tiers.agents.tools" in text and "require_approval.0" in text and problem in text


def test_require_approval_within_allowed_patterns_is_valid() -> None:
    settings = parse_settings({
        "tiers": {"agents": {"tools": {"allow": ["send_*", "get_weather"],
                                       "require_approval": ["send_money", "send_*"]}}},
        "approvals": {"ttl_seconds": 600},
    })  # fmt: skip
    tools = settings.tiers["agents"].tools
    assert tools is not None and tools.needs_approval("send_mail")
    assert not tools.needs_approval("get_weather") and settings.approvals.ttl_seconds == 600
