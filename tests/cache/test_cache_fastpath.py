"""The cache-hit fast path: a byte-identical repeat is answered right after authentication.

What a caller notices: the repeat is a hit (no upstream call, zero cost, ``age``), it counts
against the request rate, its ledger row says ``cache_hit`` with what it saved, and a stream
replayed from the cache ends with the cost trailer like any relayed stream. What an operator
notices: ``doorman_cache_fast_hits_total`` counts the hits that skipped parsing and screening.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cachekit import ledger, new_key

import doorman
from doorman.config import Settings, parse_settings
from doorman.exchange import Exchange

MSG = [{"role": "user", "content": "Which planet has the most moons?"}]


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORMAN_PEPPER", "cache-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-cache-test-" + "x" * 24)


def settings_for(tmp_path: Path, **tier: Any) -> Settings:
    """The embedded simulator behind a caching tier."""
    return parse_settings({
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/doorman.db",
        "tiers": {"pro": {"requests_per_minute": 1000, "max_output_tokens": 40,
                          "cache": {"mode": "exact", "scope": "user"}, **tier}},
    })  # fmt: skip


def fast_hits(dm: doorman.Client) -> float:
    gw = dm._gateway
    assert gw is not None
    value = gw.metrics.registry.get_sample_value("doorman_cache_fast_hits_total")
    return float(value or 0.0)


async def test_a_repeat_is_a_fast_hit_with_the_same_answer_headers_and_ledger_row(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    key = await new_key(settings, "ada", "pro")
    async with doorman.Client(api_key=key, config=settings) as dm:
        first = await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=12, task="qa")
        second = await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=12, task="qa")
        third = await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=12, task="qa")
        fast = fast_hits(dm)
    assert [r.headers["x-doorman-cache"] for r in (first, second, third)] == ["miss", "hit", "hit"]
    assert fast == 2  # both repeats skipped parsing, screening and routing
    assert second.body == first.body and third.text == first.text
    assert second.cost_usd == 0 and int(second.headers["age"]) >= 0
    assert second.served_by == "sim-small"
    assert "x-ratelimit-remaining-requests" in second.headers
    rows = {r["request_id"]: r for r in await ledger(settings)}
    hit = rows[second.request_id]
    assert hit["cache_hit"] and hit["cost_usd"] == 0 and hit["status"] == 200
    assert hit["saved_usd"] == pytest.approx(first.cost_usd) and first.cost_usd > 0
    assert hit["requested_model"] == "sim-small" and hit["served_model"] == "sim-small"
    assert hit["task"] == "qa" and hit["user_id"] == "ada"


async def test_a_streamed_hit_ends_with_the_cost_trailer_on_both_paths(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    key = await new_key(settings, "grace", "pro")
    async with doorman.Client(api_key=key, config=settings) as dm:
        params: dict[str, Any] = {"temperature": 0, "max_tokens": 12,
                                  "stream_options": {"include_usage": True}}  # fmt: skip
        pipeline = dm._pipeline
        assert pipeline is not None

        async def raw_stream(extra: dict[str, Any]) -> tuple[dict[str, str], bytes]:
            reply, _ = await dm._run("sim-small", MSG, [], "openai", None, {**params, **extra},
                                     stream=True)  # fmt: skip
            assert reply.stream is not None
            chunks = [chunk async for chunk in reply.stream]
            await reply.aclose()
            return reply.headers, b"".join(chunks)

        _, miss = await raw_stream({})
        fast_before = fast_hits(dm)
        fast_headers, fast = await raw_stream({})  # byte-identical: the fast path
        assert fast_hits(dm) == fast_before + 1
        slow_headers, slow = await raw_stream({"user": "someone"})  # same key, other bytes
        assert fast_hits(dm) == fast_before + 1
    assert fast_headers["x-doorman-cache"] == slow_headers["x-doorman-cache"] == "hit"
    for text in (miss, fast, slow):
        lines = text.decode().rstrip("\n").split("\n")
        assert lines[-1].startswith(": x-doorman-cost-usd="), text[-200:]
        assert "data: [DONE]" in text.decode()
    for text in (fast, slow):
        assert text.decode().rstrip("\n").split("\n")[-1] == ": x-doorman-cost-usd=0.00000000"
        assert b'"usage"' in text  # include_usage is honoured on both paths


async def test_cache_controls_and_nondeterministic_requests_never_take_the_fast_path(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    key = await new_key(settings, "linus", "pro")
    async with doorman.Client(api_key=key, config=settings) as dm:
        await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=9)
        refreshed = await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=9,
                                  extra_headers={"Cache-Control": "no-cache"})  # fmt: skip
        bypassed = await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=9,
                                 extra_headers={"x-doorman-cache": "bypass"})  # fmt: skip
        hot = [await dm.chat(model="sim-small", messages=MSG, temperature=0.7, max_tokens=9)
               for _ in range(2)]  # fmt: skip
        assert fast_hits(dm) == 0
    assert refreshed.headers["x-doorman-cache"] == "refresh" and refreshed.cost_usd > 0
    assert bypassed.headers["x-doorman-cache"] == "bypass"
    assert [r.headers["x-doorman-cache"] for r in hot] == ["bypass", "bypass"]


def test_the_fast_key_covers_wire_key_tier_task_and_every_byte() -> None:
    from doorman.auth.principal import Principal
    from doorman.cache.fastpath import raw_digest

    def digest(body: bytes = b'{"a":1}', *, key: str = "k1", tier: str = "pro",
               wire: Any = "openai", **headers: str) -> bytes | None:  # fmt: skip
        ex = Exchange(request_id="r", wire=wire, method="POST", path="/v1/chat/completions",
                      headers=dict(headers), raw_body=body, client_ip="x")  # fmt: skip
        ex.principal = Principal(key_id=key, user_id="u", tier=tier, expires_at=None,
                                 allowed_models=None)  # fmt: skip
        ex.tier_name = tier
        return raw_digest(ex)

    base = digest()
    assert base is not None and digest() == base
    others = [digest(b'{"a":1} '), digest(key="k2"), digest(tier="free"), digest(wire="anthropic"),
              digest(**{"x-doorman-task": "qa"}), digest(**{"x-doorman-task": ""})]  # fmt: skip
    assert None not in others and len({base, *others}) == 1 + len(others)
    assert digest(**{"cache-control": "max-age=0"}) is None
    assert digest(**{"x-doorman-cache": "hit"}) is None
