"""The cache's parts on their own: the key, the LRU bounds, stream assembly and replay."""

from __future__ import annotations

import asyncio

import orjson

from doorman.cache.assemble import StreamAssembler
from doorman.cache.entry import CachedAnswer
from doorman.cache.key import cache_key, canonical_request, is_deterministic, scope_id
from doorman.cache.replay import sse_events
from doorman.cache.runtime import ResponseCache
from doorman.cache.settings import ResponseCacheSettings
from doorman.cache.stores import MemoryStore
from doorman.upstream.wire import Usage

BODY = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}


def key_for(body: dict[str, object], *, user: str = "u1", scope: str = "user") -> str:
    canon = canonical_request(body, served_model="sim-small", wire="openai", max_tokens=50)
    return cache_key(canon, scope_id(scope, user_id=user, tier="pro"))  # type: ignore[arg-type]


def test_scope_is_part_of_the_key() -> None:
    assert key_for(BODY, user="alice") != key_for(BODY, user="bob")
    assert key_for(BODY, user="alice", scope="tier") == key_for(BODY, user="bob", scope="tier")


def test_answer_changing_fields_change_the_key_and_delivery_fields_do_not() -> None:
    base = key_for(BODY)
    for change in ({"temperature": 0.5}, {"tools": [{"type": "function"}]}, {"stop": ["x"]},
                   {"response_format": {"type": "json_object"}}, {"seed": 1}, {"top_p": 0.5}):  # fmt: skip
        assert key_for({**BODY, **change}) != base, change
    for same in ({"stream": True}, {"stream_options": {"include_usage": True}},
                 {"metadata": {"task": "x"}}, {"user": "end-user-7"}, {"temperature": 0.0}):  # fmt: skip
        assert key_for({**BODY, **same}) == base, same
    other_model = canonical_request(BODY, served_model="sim-large", wire="openai", max_tokens=50)
    assert cache_key(other_model, "user:u1") != base


def test_only_deterministic_requests_by_default() -> None:
    assert is_deterministic({"temperature": 0})
    assert is_deterministic({"temperature": 0.9, "seed": 3})
    assert not is_deterministic({})
    assert not is_deterministic({"temperature": 0.2})


def test_memory_store_is_bounded_by_entries_and_bytes() -> None:
    async def run() -> None:
        store = MemoryStore(max_entries=3, max_bytes=1000)
        for i in range(5):
            await store.set(f"k{i}", b"x" * 100, 60)
        assert len(store) == 3 and await store.get("k0") is None
        await store.get("k2")  # recently used: survives the next evictions
        for i in range(5, 7):
            await store.set(f"k{i}", b"y" * 400, 60)
        assert store.bytes <= 1000 and await store.get("k2") is not None
        assert await store.get("k3") is None

    asyncio.run(run())


def test_a_corrupt_entry_is_a_miss_not_an_error() -> None:
    async def run() -> None:
        cache = ResponseCache(ResponseCacheSettings(), MemoryStore(10, 10_000))
        await cache.store.set("k", b"garbage", 60)
        assert await cache.get("k") is None
        answer = CachedAnswer(body=b'{"a":1}', served_model="m", cost_usd=0.5)
        assert await cache.put("k", answer, 60)
        got = await cache.get("k")
        assert got is not None and got.body == b'{"a":1}' and got.cost_usd == 0.5

    asyncio.run(run())


def _chunks(events: list[bytes]) -> list[bytes]:
    """Split as a line-oriented relay would: one line per chunk."""
    return [line + b"\n" for e in events for line in e.split(b"\n")][:-1]


def test_openai_stream_round_trip_with_tool_calls() -> None:
    body = {
        "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "t1", "type": "function",
                            "function": {"name": "f", "arguments": '{"a": 1}'}}]}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }  # fmt: skip
    asm = StreamAssembler("openai")
    for chunk in _chunks(sse_events("openai", body, include_usage=True)):
        asm.feed(chunk)
    rebuilt = asm.body(Usage(5, 3), "m")
    assert rebuilt is not None and orjson.loads(rebuilt) == body


def test_anthropic_stream_round_trip_and_a_cut_stream_is_not_complete() -> None:
    body = {
        "id": "m1", "type": "message", "role": "assistant", "model": "claude",
        "content": [{"type": "text", "text": "Hello there"},
                    {"type": "tool_use", "id": "tu", "name": "f", "input": {"q": "x"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 9, "output_tokens": 4},
    }  # fmt: skip
    events = sse_events("anthropic", body, include_usage=True)
    asm = StreamAssembler("anthropic")
    for chunk in _chunks(events):
        asm.feed(chunk)
    rebuilt = asm.body(Usage(9, 4), "claude")
    assert rebuilt is not None and orjson.loads(rebuilt) == body
    cut = StreamAssembler("anthropic")
    for chunk in _chunks(events[:-1]):
        cut.feed(chunk)
    assert cut.body(Usage(9, 4), "claude") is None


def test_followers_get_the_leaders_answer_and_a_stuck_leader_is_not_trusted_forever() -> None:
    async def run() -> None:
        cache = ResponseCache(ResponseCacheSettings(coalesce_wait_seconds=0.2), MemoryStore(10, 10_000))
        answer, leader = await cache.find("k")
        assert answer is None and leader is not None
        follower = asyncio.ensure_future(cache.find("k"))
        await asyncio.sleep(0)
        assert not follower.done()  # waiting for the leader, not going upstream
        await cache.put("k", CachedAnswer(body=b"{}", served_model="m"), 60)
        await cache.release(leader)
        got, ticket = await follower
        assert got is not None and ticket is None
        # A leader that never lets go: followers wait their bounded time, then one leads anew.
        _, stuck = await cache.find("other")
        assert stuck is not None
        assert await cache.find("other") == (None, None)
        _, fresh = await cache.find("other")
        assert fresh is not None and fresh is not stuck

    asyncio.run(run())
