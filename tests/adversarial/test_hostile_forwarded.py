"""Forwarded-address trust: X-Forwarded-For counts only from ``server.trusted_proxies``.

The review found that a gateway with default settings believed X-Forwarded-For from any
loopback peer: 30 bad keys with a rotating header were never locked out, 10 failures naming a
victim's address locked the victim out, and audit records carried the forged address.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness import MASTER_KEY, Gateway, start_gateway

FAILURES_BEFORE_LOCKOUT = 10  # the default of auth.failures_before_lockout


def _bad_key(prefix: str = "") -> str:
    return ("dm-" + prefix + secrets.token_urlsafe(32))[:46]


def _chat(gw: Gateway, key: str, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"}
    if forwarded_for:
        headers["x-forwarded-for"] = forwarded_for
    body = {"model": "sim-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
    return httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers=headers)


@pytest.fixture(scope="module")
def default_gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(Path(tmp_path_factory.mktemp("no-proxies")))
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def proxied_gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Behind a reverse proxy on loopback: the tests' own address is the trusted proxy."""
    config = {"server": {"trusted_proxies": ["127.0.0.1/32", "::1"]}}
    gw = start_gateway(Path(tmp_path_factory.mktemp("proxied")), config)
    yield gw
    gw.stop()


def test_audit_records_carry_the_real_peer_not_a_forged_header(default_gw: Gateway) -> None:
    # Runs before the lock-out test below, which (rightly) locks this address out.
    admin = {"authorization": f"Bearer {MASTER_KEY}", "x-forwarded-for": "203.0.113.99"}
    created = httpx.post(f"{default_gw.url}/admin/keys", json={"user": "audited"}, headers=admin)
    assert created.status_code in (200, 201), created.text
    audit = httpx.get(f"{default_gw.url}/admin/audit", params={"limit": 5}, headers=admin).json()
    addresses = {e["client_address"] for e in audit["data"]}
    assert "203.0.113.99" not in addresses
    assert "127.0.0.1" in addresses


def test_rotating_forwarded_for_does_not_escape_the_lockout(default_gw: Gateway) -> None:
    codes = [
        _chat(default_gw, _bad_key(), forwarded_for=f"198.51.100.{i}").status_code
        for i in range(FAILURES_BEFORE_LOCKOUT + 5)
    ]
    assert codes[:FAILURES_BEFORE_LOCKOUT] == [401] * FAILURES_BEFORE_LOCKOUT
    assert set(codes[FAILURES_BEFORE_LOCKOUT:]) == {429}
    refused = _chat(default_gw, _bad_key(), forwarded_for="192.0.2.77")
    assert refused.json()["error"]["code"] == "too_many_auth_failures"


def test_a_trusted_proxy_forwards_each_client_address(proxied_gw: Gateway) -> None:
    good = proxied_gw.create_key("victim", "pro")["key"]
    for _ in range(FAILURES_BEFORE_LOCKOUT):
        assert _chat(proxied_gw, _bad_key(), forwarded_for="198.51.100.66").status_code == 401
    locked = _chat(proxied_gw, _bad_key(), forwarded_for="198.51.100.66")
    assert locked.status_code == 429
    # Another client behind the same proxy is not punished for the attacker's failures.
    assert _chat(proxied_gw, good, forwarded_for="198.51.100.67").status_code == 200


def test_guessing_one_key_prefix_from_many_addresses_is_locked_out(proxied_gw: Gateway) -> None:
    prefix = secrets.token_urlsafe(6)[:8]
    codes = [
        _chat(proxied_gw, _bad_key(prefix), forwarded_for=f"192.0.2.{i}").status_code
        for i in range(FAILURES_BEFORE_LOCKOUT + 3)
    ]
    assert codes[:FAILURES_BEFORE_LOCKOUT] == [401] * FAILURES_BEFORE_LOCKOUT
    assert set(codes[FAILURES_BEFORE_LOCKOUT:]) == {429}
    message = _chat(proxied_gw, _bad_key(prefix), forwarded_for="192.0.2.250").json()
    assert "key prefix" in message["error"]["message"]
    # Keys with other prefixes, from a fresh address, are still judged on their merits.
    assert _chat(proxied_gw, _bad_key(), forwarded_for="192.0.2.251").status_code == 401
