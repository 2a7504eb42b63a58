"""The response cache through the official SDKs against a gateway process and a sim process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from harness import Gateway, Proc, serving, sim_config

MSG = [{"role": "user", "content": "Name three rivers in Europe."}]


@pytest.fixture(scope="module")
def gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(
        sim,
        private={"requests_per_minute": 10_000, "cache": {"mode": "exact", "scope": "user"}},
        team={"requests_per_minute": 10_000, "cache": {"mode": "exact", "scope": "tier"}},
    )
    yield from serving(tmp_path_factory, config)


def new_key(gateway: Gateway, user: str, tier: str) -> str:
    """Through the admin API: a CLI process per key costs seconds on a loaded machine."""
    with gateway.admin() as admin:
        r = admin.post("/admin/keys", json={"user": user, "tier": tier})
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def upstream_requests(sim: Proc) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats").json()["requests"])


@pytest.fixture
def fresh_sim(sim: Proc) -> Proc:
    httpx.post(f"{sim.url}/sim/reset")
    return sim


def oai(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def test_twenty_identical_sdk_calls_reach_the_provider_once(gateway: Gateway, fresh_sim: Proc) -> None:
    client = oai(gateway, new_key(gateway, "milestone", "private"))
    statuses, texts = [], set()
    for _ in range(20):
        raw = client.chat.completions.with_raw_response.create(
            model="sim-small", messages=MSG, temperature=0, max_tokens=12  # type: ignore[arg-type]
        )
        statuses.append(raw.headers["x-doorman-cache"])
        texts.add(raw.parse().choices[0].message.content)
        if statuses[-1] == "hit":
            assert float(raw.headers["x-doorman-cost-usd"]) == 0
            assert int(raw.headers["age"]) >= 0
    assert statuses.count("hit") == 19 and statuses[0] == "miss"
    assert len(texts) == 1
    assert upstream_requests(fresh_sim) == 1


def test_scope_user_never_shares_an_answer_between_users(gateway: Gateway, fresh_sim: Proc) -> None:
    alice = oai(gateway, new_key(gateway, "alice-c", "private"))
    bob = oai(gateway, new_key(gateway, "bob-c", "private"))
    body = {"model": "sim-small", "messages": MSG, "temperature": 0, "max_tokens": 7}
    first = alice.chat.completions.with_raw_response.create(**body)  # type: ignore[call-overload]
    again = alice.chat.completions.with_raw_response.create(**body)  # type: ignore[call-overload]
    other = bob.chat.completions.with_raw_response.create(**body)  # type: ignore[call-overload]
    assert first.headers["x-doorman-cache"] == "miss"
    assert again.headers["x-doorman-cache"] == "hit"
    assert other.headers["x-doorman-cache"] == "miss"  # bob's own call, not alice's answer
    assert upstream_requests(fresh_sim) == 2


def test_scope_tier_shares_within_the_tier(gateway: Gateway, fresh_sim: Proc) -> None:
    carol = oai(gateway, new_key(gateway, "carol-c", "team"))
    dave = oai(gateway, new_key(gateway, "dave-c", "team"))
    body = {"model": "sim-small", "messages": MSG, "temperature": 0, "max_tokens": 8}
    assert carol.chat.completions.with_raw_response.create(**body).headers["x-doorman-cache"] == "miss"  # type: ignore[call-overload]
    assert dave.chat.completions.with_raw_response.create(**body).headers["x-doorman-cache"] == "hit"  # type: ignore[call-overload]
    assert upstream_requests(fresh_sim) == 1


def test_a_streamed_answer_is_stored_and_replayed_as_a_stream(gateway: Gateway, fresh_sim: Proc) -> None:
    client = oai(gateway, new_key(gateway, "streamer", "private"))
    body = {"model": "sim-large", "messages": MSG, "temperature": 0, "max_tokens": 9, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip

    def run() -> tuple[str, str, object]:
        with client.chat.completions.with_streaming_response.create(**body) as resp:  # type: ignore[call-overload]
            status = resp.headers["x-doorman-cache"]
            chunks = list(resp.parse())
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return status, text, chunks[-1].usage

    miss = run()
    hit = run()
    assert (miss[0], hit[0]) == ("miss", "hit")
    assert hit[1] == miss[1] and len(hit[1].split()) == 9
    assert hit[2] is not None and hit[2].completion_tokens == 9  # type: ignore[attr-defined]
    plain = client.chat.completions.with_raw_response.create(**{**body, "stream": False})  # type: ignore[call-overload]
    assert plain.headers["x-doorman-cache"] == "hit"
    assert plain.parse().choices[0].message.content == miss[1]
    assert upstream_requests(fresh_sim) == 1


def test_a_streamed_hit_ends_with_the_cost_trailer(gateway: Gateway, fresh_sim: Proc) -> None:
    """Like every relayed stream, a replayed one ends with the settled cost (zero) as an SSE
    comment after the end marker, on both wire formats."""
    key = new_key(gateway, "trailer", "private")
    cases = [("/v1/chat/completions", {"model": "sim-small", "stream": True}, "data: [DONE]"),
             ("/v1/messages", {"model": "sim-claude", "stream": True}, "event: message_stop")]  # fmt: skip
    for path, extra, end in cases:
        body = {"messages": MSG, "temperature": 0, "max_tokens": 5, **extra}
        seen = []
        for _ in range(2):
            with httpx.stream("POST", gateway.url + path, json=body, timeout=30,
                              headers={"authorization": f"Bearer {key}"}) as resp:  # fmt: skip
                assert resp.status_code == 200
                text = resp.read().decode()
            seen.append((resp.headers["x-doorman-cache"], text))
        assert [status for status, _ in seen] == ["miss", "hit"]
        hit = seen[1][1]
        assert hit.rstrip("\n").rsplit("\n", 1)[-1] == ": x-doorman-cost-usd=0.00000000", hit[-200:]
        assert hit.index(end) < hit.index(": x-doorman-cost-usd=")
    assert upstream_requests(fresh_sim) == 2


def test_anthropic_stream_replay(gateway: Gateway, fresh_sim: Proc) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key=new_key(gateway, "claude-c", "private"),
                                 max_retries=0)  # fmt: skip
    texts, outputs = [], []
    for _ in range(2):
        with client.messages.stream(model="sim-claude", max_tokens=6, messages=MSG,  # type: ignore[arg-type]
                                     extra_body={"temperature": 0}) as stream:
            final = stream.get_final_message()
        texts.append(final.content[0].text)  # type: ignore[union-attr]
        outputs.append(final.usage.output_tokens)
    assert texts[0] == texts[1] and outputs == [6, 6]
    assert upstream_requests(fresh_sim) == 1


def test_a_cut_stream_is_never_stored(gateway: Gateway, fresh_sim: Proc) -> None:
    key = new_key(gateway, "cut-c", "private")
    body = {"model": "sim-small", "messages": MSG, "temperature": 0, "max_tokens": 20, "stream": True}
    httpx.post(f"{fresh_sim.url}/sim/configure", json={"disconnect_rate": 1.0})
    try:
        with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", json=body,
                          headers={"authorization": f"Bearer {key}"}) as resp:  # fmt: skip
            assert resp.headers["x-doorman-cache"] == "miss"
            received = b"".join(resp.iter_bytes())
        assert b"[DONE]" not in received
    finally:
        httpx.post(f"{fresh_sim.url}/sim/configure", json={"disconnect_rate": 0.0})
    r = httpx.post(f"{gateway.url}/v1/chat/completions", json={**body, "stream": False},
                   headers={"authorization": f"Bearer {key}"})  # fmt: skip
    assert r.status_code == 200 and r.headers["x-doorman-cache"] == "miss"


def test_fifty_concurrent_identical_requests_reach_the_provider_once(gateway: Gateway, fresh_sim: Proc) -> None:
    key = new_key(gateway, "crowd", "private")
    body = {"model": "sim-small", "messages": [{"role": "user", "content": "Crowd question"}],
            "temperature": 0, "max_tokens": 30}  # fmt: skip
    httpx.post(f"{fresh_sim.url}/sim/configure", json={"ttft_ms": 300})

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as c:
            return list(await asyncio.gather(*(
                c.post(f"{gateway.url}/v1/chat/completions", json=body,
                       headers={"authorization": f"Bearer {key}"}) for _ in range(50)
            )))  # fmt: skip

    try:
        responses = asyncio.run(fire())
    finally:
        httpx.post(f"{fresh_sim.url}/sim/configure", json={"ttft_ms": 0})
    assert all(r.status_code == 200 for r in responses)
    assert len({r.json()["choices"][0]["message"]["content"] for r in responses}) == 1
    assert sorted(r.headers["x-doorman-cache"] for r in responses).count("miss") == 1
    assert upstream_requests(fresh_sim) == 1


def test_usage_and_admin_stats_show_hit_rate_and_dollars_saved(gateway: Gateway, fresh_sim: Proc) -> None:
    import json

    client = oai(gateway, new_key(gateway, "saver", "private"))
    costs = []
    for _ in range(4):
        raw = client.chat.completions.with_raw_response.create(
            model="sim-large", messages=MSG, temperature=0, max_tokens=15  # type: ignore[arg-type]
        )
        costs.append(float(raw.headers["x-doorman-cost-usd"]))
    assert costs[0] > 0 and costs[1:] == [0, 0, 0]
    with gateway.admin() as admin:
        stats = admin.get("/admin/stats", params={"user": "saver"}).json()["totals"]
    assert stats["requests"] == 4 and stats["cache_hits"] == 3
    assert stats["cache_hit_rate"] == pytest.approx(0.75)
    assert stats["saved_usd"] == pytest.approx(3 * costs[0])
    out = gateway.cli("usage", "--user", "saver", "--json", "--config", str(gateway.config_path))
    total = json.loads(out.stdout)["total"]
    assert total["cache_hits"] == 3 and total["cache_hit_rate"] == pytest.approx(0.75)
    assert total["saved_usd"] == pytest.approx(3 * costs[0]) and total["cost_usd"] == pytest.approx(costs[0])
    table = gateway.cli("usage", "--user", "saver", "--config", str(gateway.config_path)).stdout
    assert "3 hits (75% of requests)" in table and "saved" in table
