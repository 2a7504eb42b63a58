"""The official openai SDK against a running gateway and a separate sim process."""

from __future__ import annotations

import httpx
import openai
import orjson
import pytest

from harness import Gateway

MSG = [{"role": "user", "content": "Say something short."}]


def client(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def test_non_stream_completion_with_usage_cost_and_limit_headers(gateway: Gateway, api_key: str) -> None:
    raw = client(gateway, api_key).chat.completions.with_raw_response.create(
        model="sim-small", messages=MSG, max_tokens=12
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.completion_tokens == 12
    h = raw.headers
    assert h["x-request-id"].startswith("req_")
    assert h["x-doorman-served-by"] == "sim-small"
    # 0.15 $/M input, 0.60 $/M output, as configured.
    expected = (completion.usage.prompt_tokens * 0.15 + 12 * 0.60) / 1e6
    assert float(h["x-doorman-cost-usd"]) == pytest.approx(expected, rel=1e-6)
    assert int(h["x-ratelimit-limit-requests"]) == 1000
    assert int(h["x-ratelimit-remaining-requests"]) < 1000
    assert "ratelimit-policy" in h and "ratelimit" in h


def test_client_request_id_is_echoed(gateway: Gateway, api_key: str) -> None:
    raw = client(gateway, api_key).chat.completions.with_raw_response.create(
        model="sim-small", messages=MSG, max_tokens=3, extra_headers={"x-request-id": "trace-abc.123"}
    )
    assert raw.headers["x-request-id"] == "trace-abc.123"


def test_stream_with_include_usage_ends_with_usage_chunk(gateway: Gateway, api_key: str) -> None:
    chunks = list(
        client(gateway, api_key).chat.completions.create(
            model="sim-large", messages=MSG, max_tokens=7, stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 7
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7
    assert not chunks[-1].choices


def test_stream_without_include_usage_has_no_usage_chunk(gateway: Gateway, api_key: str) -> None:
    # Doorman asks the upstream for usage to bill the stream, but must not leak that chunk.
    chunks = list(
        client(gateway, api_key).chat.completions.create(
            model="sim-small", messages=MSG, max_tokens=5, stream=True
        )
    )
    assert chunks and all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_unknown_key_is_authentication_error(gateway: Gateway) -> None:
    with pytest.raises(openai.AuthenticationError) as exc:
        client(gateway, "dm-" + "A" * 43).chat.completions.create(model="sim-small", messages=MSG)
    assert exc.value.code == "invalid_api_key"


def test_unknown_model_is_not_found(gateway: Gateway, api_key: str) -> None:
    with pytest.raises(openai.NotFoundError) as exc:
        client(gateway, api_key).chat.completions.create(model="gpt-nope", messages=MSG)
    assert "gpt-nope" in exc.value.message


def test_wrong_types_are_bad_request_naming_the_field(gateway: Gateway, api_key: str) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        client(gateway, api_key).chat.completions.create(
            model="sim-small", messages=MSG, max_tokens="lots"  # type: ignore[arg-type]
        )
    assert exc.value.param == "max_tokens"
    with pytest.raises(openai.BadRequestError) as exc:
        client(gateway, api_key).chat.completions.create(
            model="sim-small", messages=[{"role": "wizard", "content": "hi"}]  # type: ignore[list-item]
        )
    assert exc.value.param == "messages[0].role"
    with pytest.raises(openai.BadRequestError) as exc:
        client(gateway, api_key).chat.completions.create(model="sim-small", messages=[])
    assert exc.value.code == "empty_prompt"


def test_tier_caps_rate_limit_is_rate_limit_error(gateway: Gateway) -> None:
    key = str(gateway.create_key("tiny-user", "tiny")["key"])
    c = client(gateway, key)
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="sim-small", messages=MSG * 5)
    assert exc.value.code == "too_many_messages"
    for _ in range(3):
        c.chat.completions.create(model="sim-small", messages=MSG, max_tokens=2)
    with pytest.raises(openai.RateLimitError) as rl:
        c.chat.completions.create(model="sim-small", messages=MSG, max_tokens=2)
    assert rl.value.code == "rate_limit_exceeded"
    assert int(rl.value.response.headers["retry-after"]) >= 1


def test_malformed_oversized_and_deep_bodies_get_clear_4xx(gateway: Gateway, api_key: str) -> None:
    url = f"{gateway.url}/v1/chat/completions"
    auth = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}
    r = httpx.post(url, content=b"{not json", headers=auth)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    big = orjson.dumps({"model": "sim-small", "messages": [{"role": "user", "content": "x" * 70_000}]})
    r = httpx.post(url, content=big, headers=auth)
    assert r.status_code == 413 and "limit" in r.json()["error"]["message"]
    deep: object = "x"
    for _ in range(20):
        deep = {"a": deep}
    r = httpx.post(url, json={"model": "sim-small", "messages": MSG, "metadata": deep}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["code"] == "json_too_deep"


def test_models_list(gateway: Gateway, api_key: str) -> None:
    ids = {m.id for m in client(gateway, api_key).models.list()}
    assert {"sim-small", "sim-large", "sim-claude"} <= ids


def test_health_and_readiness(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{gateway.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
