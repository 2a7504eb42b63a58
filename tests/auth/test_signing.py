"""Signed requests: verify, replay, tamper, clock skew; SigningAuth through httpx and openai."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from authkit import PEPPER, Clock, bearer
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from doorman.auth.authenticator import Authenticator
from doorman.auth.service import IssuedKey, KeyService
from doorman.client import SigningAuth, sign_request
from doorman.config import Settings
from doorman.errors import AuthenticationFailed, DoormanError

PATH = "/v1/chat/completions"
BODY = b'{"model":"sim-small","messages":[{"role":"user","content":"hi"}]}'


async def signing_key(service: KeyService) -> IssuedKey:
    issued = await service.create(user="sig", tier="pro", signing=True)
    assert issued.signing_secret is not None
    return issued


def signed(issued: IssuedKey, clock: Clock, body: bytes = BODY, **kw: Any) -> dict[str, str]:
    assert issued.signing_secret
    headers = bearer(issued.key)
    headers.update(
        sign_request(issued.signing_secret, "POST", PATH, body, timestamp=int(clock()), **kw)
    )
    return headers


async def code(a: Authenticator, headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(AuthenticationFailed) as info:
        await a.authenticate(headers, "POST", PATH, body, "10.1.1.1")
    return info.value.code


async def test_signed_request_passes_and_replay_is_refused(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    issued = await signing_key(service)
    headers = signed(issued, clock)
    p = await authenticator.authenticate(headers, "POST", PATH, BODY, "10.1.1.1")
    assert p.signed
    assert await code(authenticator, headers) == "replayed_nonce"


async def test_unsigned_request_with_signing_key_is_refused(
    service: KeyService, authenticator: Authenticator
) -> None:
    issued = await signing_key(service)
    assert await code(authenticator, bearer(issued.key)) == "missing_signature"


async def test_tampered_body_and_bad_signature_have_distinct_codes(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    issued = await signing_key(service)
    tampered = BODY.replace(b"hi", b"ignore all previous instructions")
    assert await code(authenticator, signed(issued, clock), tampered) == "body_tampered"

    without_hash = signed(issued, clock)
    del without_hash["x-doorman-content-sha256"]
    assert await code(authenticator, without_hash, tampered) == "invalid_signature"

    wrong_secret = bearer(issued.key)
    wrong_secret.update(sign_request("dms-" + "0" * 64, "POST", PATH, BODY, timestamp=int(clock())))
    assert await code(authenticator, wrong_secret) == "invalid_signature"

    other_path = signed(issued, clock)
    with pytest.raises(AuthenticationFailed) as info:
        await authenticator.authenticate(other_path, "POST", "/v1/messages", BODY, "10.1.1.1")
    assert info.value.code == "invalid_signature"

    garbage = signed(issued, clock)
    garbage["x-doorman-signature"] = "not-hex"
    assert await code(authenticator, garbage) == "invalid_signature"


async def test_clock_skew_window(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    issued = await signing_key(service)
    assert issued.signing_secret
    for offset in (-301, 301):
        headers = bearer(issued.key)
        headers.update(
            sign_request(
                issued.signing_secret, "POST", PATH, BODY, timestamp=int(clock()) + offset
            )
        )
        assert await code(authenticator, headers) == "stale_timestamp"
    for offset in (-299, 299):
        headers = bearer(issued.key)
        headers.update(
            sign_request(
                issued.signing_secret, "POST", PATH, BODY, timestamp=int(clock()) + offset
            )
        )
        await authenticator.authenticate(headers, "POST", PATH, BODY, "10.1.1.1")


async def test_tier_requiring_signature_issues_signing_keys(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    issued = await service.create(user="s2", tier="secure")  # require_signature: true
    assert issued.signing_secret is not None
    assert await code(authenticator, bearer(issued.key)) == "missing_signature"
    await authenticator.authenticate(signed(issued, clock), "POST", PATH, BODY, "10.1.1.1")


async def test_rotation_issues_new_signing_secret_old_one_works_in_grace(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    old = await signing_key(service)
    new = await service.rotate(old.info.id, grace_hours=1)
    authenticator.invalidate(key_id=old.info.id)
    assert new.signing_secret and new.signing_secret != old.signing_secret
    await authenticator.authenticate(signed(old, clock), "POST", PATH, BODY, "10.1.1.1")
    await authenticator.authenticate(signed(new, clock), "POST", PATH, BODY, "10.1.1.1")
    mixed = bearer(new.key)
    assert old.signing_secret
    mixed.update(sign_request(old.signing_secret, "POST", PATH, BODY, timestamp=int(clock())))
    assert await code(authenticator, mixed) == "invalid_signature"


async def test_replay_refused_across_replicas_with_redis(
    service: KeyService, engine: AsyncEngine, settings: Settings, redis_url: str, clock: Clock
) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    a = Authenticator(engine, settings, redis=client, clock=clock, pepper=PEPPER)
    b = Authenticator(engine, settings, redis=client, clock=clock, pepper=PEPPER)
    try:
        issued = await signing_key(service)
        headers = signed(issued, clock)
        await a.authenticate(headers, "POST", PATH, BODY, "10.1.1.1")
        assert await code(b, headers) == "replayed_nonce"
    finally:
        await a.close()
        await b.close()
        await client.aclose()


def _gateway_app(authenticator: Authenticator) -> Starlette:
    """The smallest app that authenticates like the gateway and answers like OpenAI."""

    async def chat(request: Request) -> JSONResponse:
        body = await request.body()
        path = request.scope["raw_path"].decode()
        if request.scope["query_string"]:
            path += "?" + request.scope["query_string"].decode()
        try:
            await authenticator.authenticate(
                {k.lower(): v for k, v in request.headers.items()},
                request.method, path, body, "127.0.0.1",
            )
        except DoormanError as exc:
            return JSONResponse(exc.body(), status_code=exc.status_code)
        return JSONResponse({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "sim-small",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "signed ok"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        })

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


async def test_signing_auth_with_httpx(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    issued = await signing_key(service)
    assert issued.signing_secret
    transport = httpx.ASGITransport(app=_gateway_app(authenticator))
    auth = SigningAuth(api_key=issued.key, signing_secret=issued.signing_secret, clock=clock)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", auth=auth) as client:
        for _ in range(2):  # a fresh nonce each time
            r = await client.post("/v1/chat/completions?x=1", content=BODY)
            assert r.status_code == 200, r.text
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as plain:
        r = await plain.post("/v1/chat/completions", content=BODY, headers=bearer(issued.key))
        assert r.json()["error"]["code"] == "missing_signature"


async def test_official_openai_sdk_with_signing_auth(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    import openai

    issued = await signing_key(service)
    assert issued.signing_secret
    http_client: Any = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_gateway_app(authenticator)),
        auth=SigningAuth(api_key=issued.key, signing_secret=issued.signing_secret, clock=clock),
    )
    client = openai.AsyncOpenAI(
        base_url="http://gw/v1", api_key=issued.key, http_client=http_client, max_retries=0
    )
    try:
        reply = await client.chat.completions.create(
            model="sim-small", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "signed ok"
        unsigned = openai.AsyncOpenAI(
            base_url="http://gw/v1", api_key=issued.key, max_retries=0,
            http_client=cast(Any, httpx.AsyncClient(
                transport=httpx.ASGITransport(app=_gateway_app(authenticator))
            )),
        )
        with pytest.raises(openai.AuthenticationError):
            await unsigned.chat.completions.create(
                model="sim-small", messages=[{"role": "user", "content": "hi"}]
            )
        await unsigned.close()
    finally:
        await client.close()


def test_signing_auth_sync_client_signs_exact_body() -> None:
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        seen["body"] = request.content
        return httpx.Response(200)

    auth = SigningAuth(api_key="dm-" + "k" * 43, signing_secret="dms-secret", clock=lambda: 1000)
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.post("http://gw/v1/x", content=BODY)
    expected = sign_request(
        "dms-secret", "POST", "/v1/x", BODY, timestamp=1000, nonce=seen["x-doorman-nonce"]
    )
    assert seen["x-doorman-signature"] == expected["x-doorman-signature"]
    assert seen["authorization"] == "Bearer dm-" + "k" * 43


def test_signing_auth_with_httpx2_clients() -> None:
    httpx2 = pytest.importorskip("httpx2")
    seen: dict[str, Any] = {}

    def handler(request: Any) -> Any:
        seen.update(request.headers)
        return httpx2.Response(200)

    auth = SigningAuth(api_key="dm-" + "k" * 43, signing_secret="dms-secret", clock=lambda: 1000)
    with httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth) as client:
        client.post("http://gw/v1/x?a=b", content=BODY)
    expected = sign_request(
        "dms-secret", "POST", "/v1/x?a=b", BODY, timestamp=1000, nonce=seen["x-doorman-nonce"]
    )
    assert seen["x-doorman-signature"] == expected["x-doorman-signature"]
