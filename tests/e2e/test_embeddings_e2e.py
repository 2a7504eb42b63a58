"""POST /v1/embeddings end to end with the official openai SDK against a gateway and a sim."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from harness import Gateway, Proc, serving

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"


@pytest.fixture(scope="module")
def gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = {
        "providers": {
            "oa": {"kind": "openai", "base_url": f"{sim.url}/v1"},
            "an": {"kind": "anthropic", "base_url": sim.url},
        },
        "models": {
            "embed": {"provider": "oa", "price": {"input": 100.0, "output": 0.0}},
            "claude-only": {"provider": "an", "price": {"input": 1.0, "output": 1.0}},
        },
        "tiers": {
            "pro": {"tokens_per_day": 60, "max_output_tokens": 100},
            "strict": {"screening": {"secrets": {"action": "block"}}},
        },
    }
    yield from serving(tmp_path_factory, config)


def _client(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def _sim_embeddings(sim: Proc) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats").json()["by_path"].get("/v1/embeddings", 0))


def test_sdk_embeddings_are_served_priced_and_recorded(gateway: Gateway, sim: Proc) -> None:
    key = gateway.create_key("emb-a", "enterprise")["key"]
    raw = _client(gateway, key).embeddings.with_raw_response.create(
        model="embed", input=["the cat sat", "on the mat"], dimensions=32
    )
    result = raw.parse()
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 32
    assert result.data[0].embedding != result.data[1].embedding
    tokens = result.usage.prompt_tokens
    assert tokens > 0
    assert float(raw.headers["x-doorman-cost-usd"]) == pytest.approx(tokens * 100 / 1e6)
    same = _client(gateway, key).embeddings.create(
        model="embed", input="the cat sat", dimensions=32
    )
    assert same.data[0].embedding == result.data[0].embedding  # deterministic
    usage = gateway.admin().get("/admin/usage", params={"by": "model"}).json()
    rows = usage.get("rows", usage) if isinstance(usage, dict) else usage
    assert "embed" in str(rows)


def test_embeddings_are_budgeted_by_input_tokens(gateway: Gateway, sim: Proc) -> None:
    key = gateway.create_key("emb-budget", "pro")["key"]
    client = _client(gateway, key)
    text = "word " * 25  # ~25 tokens; the tier allows 60 per day
    client.embeddings.create(model="embed", input=text)
    client.embeddings.create(model="embed", input=text)
    before = _sim_embeddings(sim)
    with pytest.raises(openai.RateLimitError):
        client.embeddings.create(model="embed", input=text)
    assert _sim_embeddings(sim) == before


def test_secrets_in_embedding_input_follow_the_tier_policy(gateway: Gateway, sim: Proc) -> None:
    key = gateway.create_key("emb-strict", "strict")["key"]
    before = _sim_embeddings(sim)
    with pytest.raises(openai.BadRequestError) as info:
        _client(gateway, key).embeddings.create(model="embed", input=f"creds {AWS_KEY} here")
    assert AWS_KEY not in str(info.value)
    assert _sim_embeddings(sim) == before


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "embed", "input": 5}, "input"),
        ({"model": "embed", "input": []}, "input"),
        ({"model": "embed"}, "input"),
        ({"model": "embed", "input": "x", "dimensions": "big"}, "dimensions"),
        ({"model": "claude-only", "input": "hello"}, "model"),
    ],
)
def test_bad_embedding_requests_get_a_400_naming_the_field(
    gateway: Gateway, body: dict[str, object], param: str
) -> None:
    key = gateway.create_key("emb-bad", "enterprise")["key"]
    r = httpx.post(
        f"{gateway.url}/v1/embeddings",
        headers={"authorization": f"Bearer {key}"},
        json=body,
        timeout=30,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param
