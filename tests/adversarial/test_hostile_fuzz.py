"""Fuzzing the gateway from its own OpenAPI description (schemathesis + hypothesis).

Every operation in ``GET /openapi.json`` (proxy, admin and operations routes) gets generated
requests, each sent twice: with valid credentials (an API key, or the master key for the admin
API) and without. What must hold for every answer:

- never a 500;
- no admin action without the master key: admin routes never answer 2xx to the keyless call;
- no secret in any response or in the gateway's log: the provider key, the master key, the
  caller's own API key.

Bounded: ``MAX_EXAMPLES`` per operation, no shrinking database, one gateway for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from doorman.server.openapi import openapi_document
from harness import MASTER_KEY, Gateway, start_gateway

MAX_EXAMPLES = 6
PROVIDER_KEY = "sk-fuzz-provider-" + "K9q" * 10

schema = schemathesis.openapi.from_dict(orjson.loads(openapi_document()))


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config: dict[str, Any] = {
        # The built-in simulator, sent a provider key so that a leak of it would show.
        "providers": {"sim": {"kind": "sim", "api_key_env": "FUZZ_PROVIDER_KEY"}},
        # The fuzzer's keyless calls must not lock its own address out of the authenticated ones.
        "auth": {"failures_before_lockout": 1_000_000},
    }
    gateway = start_gateway(Path(tmp_path_factory.mktemp("fuzz")), config,
                            env={"FUZZ_PROVIDER_KEY": PROVIDER_KEY})  # fmt: skip
    yield gateway
    log = gateway.proc.log()
    gateway.stop()
    for secret in (PROVIDER_KEY, MASTER_KEY):
        assert secret not in log


@pytest.fixture(scope="module")
def caller_key(gw: Gateway) -> str:
    return str(gw.create_key("fuzzer", "enterprise")["key"])


def _check(response: Any, path: str, secrets: tuple[str, ...], *, authed: bool) -> None:
    where = f"{response.request.method} {path} -> {response.status_code}"
    assert response.status_code != 500, f"{where}: {response.text[:500]}"
    for secret in secrets:
        assert secret not in response.text, f"{where} leaks a secret"
        assert secret not in str(response.headers), f"{where} leaks a secret in a header"
    if not authed and path.startswith("/admin"):
        assert not 200 <= response.status_code < 300, f"{where}: admin action without master key"


# One pytest item per operation, each with its own id: schemathesis' own parametrize gives every
# operation the same node id, which pytest-xdist collapses into a single item (one operation
# fuzzed instead of all of them).
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_fuzzed_requests_never_500_never_leak_never_act_without_the_master_key(
    operation: Any, gw: Gateway, caller_key: str
) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        path = case.operation.path
        secret = MASTER_KEY if path.startswith("/admin") else caller_key
        secrets = (PROVIDER_KEY, MASTER_KEY, caller_key)
        authed = case.call(base_url=gw.url, headers={"authorization": f"Bearer {secret}"}, timeout=30)
        _check(authed, path, secrets, authed=True)
        # The same request with the credential removed (or with a wrong one, as generated).
        headers = {k: v for k, v in (case.headers or {}).items()
                   if k.lower() not in ("authorization", "x-api-key")}  # fmt: skip
        case.headers = headers
        keyless = case.call(base_url=gw.url, timeout=30)
        _check(keyless, path, secrets, authed=False)

    fuzz()


def test_the_gateway_serves_its_openapi_description(gw: Gateway) -> None:
    import httpx

    doc = httpx.get(f"{gw.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ("/v1/chat/completions", "/v1/messages", "/admin/keys", "/admin/audit"):
        assert path in paths
    chat = paths["/v1/chat/completions"]["post"]
    assert chat["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "model", "messages"]  # fmt: skip
    assert "error" in chat["responses"]["429"]["content"]["application/json"]["schema"]["properties"]
    anthropic_error = paths["/v1/messages"]["post"]["responses"]["400"]
    assert anthropic_error["content"]["application/json"]["schema"]["required"] == ["type", "error"]
    assert paths["/admin/keys"]["post"]["security"] == [{"masterKey": []}]
