"""Issue 3 end to end: signed requests through the official SDK, rotation, revocation across
replicas, expiry warnings — all against real gateway processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from doorman.client import SigningAuth
from harness import Gateway, Proc, sim_config, start_gateway, start_sim

MSG = [{"role": "user", "content": "Hello there."}]


@pytest.fixture(scope="module")
def signed_gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(sim, signed={"require_signature": True, "max_output_tokens": 20})
    gw = start_gateway(Path(tmp_path_factory.mktemp("signed")), config)
    yield gw
    gw.stop()


def test_signed_requests_through_the_openai_sdk(signed_gateway: Gateway) -> None:
    key = signed_gateway.create_key("robot-7", "signed")
    assert key["signing_secret"]
    auth = SigningAuth(api_key=key["key"], signing_secret=key["signing_secret"])
    client = openai.OpenAI(
        base_url=f"{signed_gateway.url}/v1", api_key=key["key"], max_retries=0,
        http_client=httpx.Client(auth=auth),
    )
    reply = client.chat.completions.create(model="sim-small", messages=MSG, max_tokens=4)
    assert reply.choices[0].message.content
    streamed = list(client.chat.completions.create(model="sim-small", messages=MSG, max_tokens=3, stream=True))
    assert streamed
    # The same key without a signature is refused: the tier requires one.
    unsigned = openai.OpenAI(base_url=f"{signed_gateway.url}/v1", api_key=key["key"], max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        unsigned.chat.completions.create(model="sim-small", messages=MSG, max_tokens=4)
    assert exc.value.code == "missing_signature"


def test_replayed_and_tampered_signed_requests_are_refused(signed_gateway: Gateway) -> None:
    key = signed_gateway.create_key("robot-8", "signed")
    auth = SigningAuth(api_key=key["key"], signing_secret=key["signing_secret"])
    url = f"{signed_gateway.url}/v1/chat/completions"
    request = httpx.Request("POST", url, json={"model": "sim-small", "messages": MSG, "max_tokens": 2})
    signed = next(auth.auth_flow(request))
    with httpx.Client() as http:
        first = http.send(signed)
        assert first.status_code == 200
        replay = http.send(signed)
        assert replay.status_code == 401 and replay.json()["error"]["code"] == "replayed_nonce"
        tampered = httpx.Request("POST", url, headers=dict(signed.headers),
                                 content=signed.content.replace(b"Hello", b"Howdy"))
        tampered.headers["x-doorman-nonce"] = "fresh-nonce-123456"
        r = http.send(tampered)
        assert r.status_code == 401 and r.json()["error"]["code"] in {"body_tampered", "invalid_signature"}


def test_expiry_warning_header_and_rotation_grace(gateway: Gateway) -> None:
    key = gateway.create_key("carol", "pro", "--expires-days", "5")
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key["key"], max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="sim-small", messages=MSG, max_tokens=2)
    assert raw.headers["x-doorman-key-expires-in-days"] in {"4", "5"}
    rotated = gateway.cli("keys", "rotate", key["id"], "--grace-hours", "1", "--json",
                          "--config", str(gateway.config_path))
    import json

    new_key = json.loads(rotated.stdout)["key"]
    assert new_key != key["key"]
    # Both the new and (during the grace period) the old secret work.
    openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=new_key, max_retries=0).chat.completions.create(
        model="sim-small", messages=MSG, max_tokens=2
    )
    time.sleep(1.1)  # let the key cache (TTL <= 1 s) see the rotation
    client.chat.completions.create(model="sim-small", messages=MSG, max_tokens=2)


@pytest.mark.slow
def test_revocation_reaches_another_replica_within_a_second(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "sim").mkdir()
    sim = start_sim(tmp_path / "sim")
    config = sim_config(sim)
    config["database_url"] = postgres_url
    a = start_gateway(tmp_path / "a", config)
    b = start_gateway(tmp_path / "b", config)
    try:
        key = a.create_key("dave", "pro")
        clients = [
            openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key["key"], max_retries=0) for gw in (a, b)
        ]
        for c in clients:
            c.chat.completions.create(model="sim-small", messages=MSG, max_tokens=2)  # warm the caches
        with a.admin() as admin:
            assert admin.post(f"/admin/keys/{key['id']}/revoke", json={}).status_code == 200
        revoked_at = time.monotonic()
        with pytest.raises(openai.AuthenticationError):  # at once on the replica that revoked
            clients[0].chat.completions.create(model="sim-small", messages=MSG, max_tokens=2)
        refused_at = None
        while time.monotonic() - revoked_at < 3:
            try:
                clients[1].chat.completions.create(model="sim-small", messages=MSG, max_tokens=2)
            except openai.AuthenticationError as exc:
                assert exc.code == "revoked_api_key"
                refused_at = time.monotonic()
                break
            time.sleep(0.05)
        # The key cache TTL is 1 s; a generous bound keeps this test free of timing flakes.
        assert refused_at is not None
    finally:
        a.stop()
        b.stop()
        sim.stop()
