"""Issue 19 item 1: a provider that refuses the gateway's key is reported, not hidden.

The caller gets a 502 ``upstream_auth_failed`` (never a 503 "unavailable", never the provider's
message, which echoes the key), and ``/readyz`` names the provider whose credential was refused.
Real processes: ``doorman sim --api-key`` answers 401 to any other key, like a real provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from harness import Gateway, Proc, start_gateway, start_sim

RIGHT_KEY = "sk-right-0123456789"
WRONG_KEY = "sk-wrong-9876543210"


@pytest.fixture(scope="module")
def keyed_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = start_sim(tmp_path_factory.mktemp("sim"), "--api-key", RIGHT_KEY)
    yield proc
    proc.stop()


def _gateway(sim: Proc, workdir: Path, provider_key: str) -> Gateway:
    config = {
        "providers": {
            "upstream": {"kind": "openai", "base_url": f"{sim.url}/v1", "api_key_env": "DM_OP_KEY"}
        },
        "models": {"gpt-4o-mini": {"provider": "upstream"}},
    }
    return start_gateway(workdir, config, env={"DM_OP_KEY": provider_key})


def test_refused_provider_key_is_a_502_upstream_auth_failed(
    keyed_sim: Proc, tmp_path: Path
) -> None:
    gw = _gateway(keyed_sim, tmp_path, WRONG_KEY)
    try:
        key = gw.create_key("alice", "pro")["key"]
        client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        assert caught.value.status_code == 502
        body = caught.value.response.text
        assert caught.value.response.json()["error"]["code"] == "upstream_auth_failed"
        assert WRONG_KEY not in body and "Incorrect API key" not in body
        assert WRONG_KEY not in gw.proc.log()

        ready = httpx.get(f"{gw.url}/readyz")
        assert ready.status_code == 503
        check = ready.json()["checks"]["provider:upstream"]
        assert "credential_refused" in check and "401" in check
    finally:
        gw.stop()


def test_accepted_provider_key_is_ready(keyed_sim: Proc, tmp_path: Path) -> None:
    gw = _gateway(keyed_sim, tmp_path, RIGHT_KEY)
    try:
        ready = httpx.get(f"{gw.url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["provider:upstream"] == "ok"
    finally:
        gw.stop()
