"""Trying to get more from the cache than a caller is owed: free requests, other tenants' answers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import doorman
from doorman.config import parse_settings
from doorman.errors import RateLimited

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cache"))
from cachekit import new_key

MSG = [{"role": "user", "content": "The same question, again and again."}]


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORMAN_PEPPER", "cache-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-cache-test-" + "x" * 24)


async def test_hits_still_count_against_the_request_rate_and_scope_holds(tmp_path: Path) -> None:
    settings = parse_settings({
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/doorman.db",
        "tiers": {"tight": {"requests_per_minute": 3, "max_output_tokens": 20,
                            "cache": {"mode": "exact", "scope": "user"}}},
    })  # fmt: skip
    mallory = await new_key(settings, "mallory", "tight")
    victim = await new_key(settings, "victim", "tight")
    async with doorman.Client(api_key=victim, config=settings) as dm:
        secret = await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=8)
        assert secret.headers["x-doorman-cache"] == "miss"
    async with doorman.Client(api_key=mallory, config=settings) as dm:
        # The same request, and variants that only differ in delivery fields: never her answer.
        statuses = []
        for extra in ({}, {"user": "victim"}, {"metadata": {"user": "victim"}}):
            reply = await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=8, **extra)
            statuses.append(reply.headers["x-doorman-cache"])
        assert statuses == ["miss", "hit", "hit"]  # mallory's own answer, cached for mallory
        # A hit is free in tokens and dollars, not in requests: the 4th call in a minute is refused.
        with pytest.raises(RateLimited) as refused:
            await dm.chat(model="sim-small", messages=MSG, temperature=0, max_tokens=8)
        assert refused.value.code == "rate_limit_exceeded"
        assert dm.stats.cache_hits == 2 and dm.stats.calls == 3
