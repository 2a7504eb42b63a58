"""Authentication of API keys: formats, life cycle states, cache/revocation, lock-out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from authkit import PEPPER, Clock, bearer
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.auth.authenticator import Authenticator
from doorman.auth.service import KeyService
from doorman.auth.settings import AuthSettings
from doorman.config import Settings
from doorman.db.engine import create_engine
from doorman.errors import AuthenticationFailed, PermissionDenied, RateLimited, ServiceUnavailable

POST = ("POST", "/v1/chat/completions", b"{}")
DAY = 86400.0


async def auth(a: Authenticator, headers: dict[str, str], ip: str = "10.0.0.1") -> Any:
    return await a.authenticate(headers, *POST, ip)


async def code_of(a: Authenticator, headers: dict[str, str], ip: str = "10.0.0.1") -> str:
    with pytest.raises((AuthenticationFailed, PermissionDenied)) as info:
        await auth(a, headers, ip)
    return info.value.code


async def test_valid_key_by_bearer_and_x_api_key(
    service: KeyService, authenticator: Authenticator
) -> None:
    issued = await service.create(
        user="alice", tier="pro", models=["sim-small"], labels={"team": "robots"}
    )
    assert issued.key.startswith("dm-") and len(issued.key) == 46
    p = await auth(authenticator, bearer(issued.key))
    assert (p.key_id, p.user_id, p.tier) == (issued.info.id, "alice", "pro")
    assert p.allowed_models == ("sim-small",)
    assert p.labels == {"team": "robots"}
    assert p.expires_in_days is not None and p.expires_in_days >= 89
    p2 = await auth(authenticator, {"x-api-key": issued.key})
    assert p2.key_id == issued.info.id


async def test_expiry_warning_days(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    issued = await service.create(user="bob", tier="free", expires_days=20)
    clock.advance(10 * DAY)
    p = await auth(authenticator, bearer(issued.key))
    assert p.expires_in_days == 10


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"authorization": "Bearer "}, "missing_api_key"),
        ({"authorization": "Bearer dm-short"}, "malformed_api_key"),
        ({"authorization": "Bearer sk-" + "a" * 43}, "malformed_api_key"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, "unsupported_auth_scheme"),
        ({"authorization": "Bearer dm-" + "a" * 42 + "\x00"}, "malformed_api_key"),
        ({"authorization": "Bearer dm-" + "a" * 42 + "\n"}, "malformed_api_key"),
        ({"authorization": "Bearer " + "a" * 10_000}, "malformed_api_key"),
        ({"x-api-key": "dm-" + "é" * 43}, "malformed_api_key"),
    ],
)
async def test_bad_headers_rejected_without_touching_storage(
    settings: Settings, headers: dict[str, str], code: str
) -> None:
    # A database that does not exist: touching storage would raise ServiceUnavailable instead.
    dead = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    a = Authenticator(dead, settings, pepper=PEPPER)
    try:
        assert await code_of(a, headers) == code
    finally:
        await a.close()
        await dead.dispose()


async def test_unknown_revoked_expired_suspended_have_distinct_codes(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    assert await code_of(authenticator, bearer("dm-" + "A" * 43)) == "invalid_api_key"

    revoked = await service.create(user="u1", tier="free")
    await service.revoke(revoked.info.id)
    assert await code_of(authenticator, bearer(revoked.key)) == "revoked_api_key"

    suspended = await service.create(user="u2", tier="free")
    await service.suspend_user("u2", reason="abuse")
    with pytest.raises(PermissionDenied) as info:
        await auth(authenticator, bearer(suspended.key))
    assert info.value.code == "user_suspended" and info.value.status_code == 403
    await service.unsuspend_user("u2")
    authenticator.invalidate(user_id="u2")
    assert (await auth(authenticator, bearer(suspended.key))).user_id == "u2"

    expiring = await service.create(user="u3", tier="free", expires_days=1)
    clock.advance(DAY + 1)
    assert await code_of(authenticator, bearer(expiring.key)) == "expired_api_key"


async def test_revocation_is_immediate_here_and_within_a_second_elsewhere(
    engine: AsyncEngine,
    settings: Settings,
    service: KeyService,
    authenticator: Authenticator,
    clock: Clock,
) -> None:
    other = Authenticator(engine, settings, clock=clock, pepper=PEPPER)  # another replica
    try:
        issued = await service.create(user="carol", tier="pro")
        await auth(authenticator, bearer(issued.key))
        await auth(other, bearer(issued.key))  # both replicas have it cached now

        await service.revoke(issued.info.id)
        authenticator.invalidate(key_id=issued.info.id)  # what the admin route does
        assert await code_of(authenticator, bearer(issued.key)) == "revoked_api_key"

        clock.advance(1.0)  # the other replica's cache entry is at most 1 s old
        assert await code_of(other, bearer(issued.key)) == "revoked_api_key"
    finally:
        await other.close()


async def test_cache_keeps_hot_path_off_the_database(
    service: KeyService, settings: Settings, engine: AsyncEngine, clock: Clock
) -> None:
    issued = await service.create(user="dave", tier="pro")
    a = Authenticator(engine, settings, clock=clock, pepper=PEPPER)
    calls = 0
    original = a._fetch

    async def counting(key_hash: str) -> Any:
        nonlocal calls
        calls += 1
        return await original(key_hash)

    a._fetch = counting  # type: ignore[method-assign]
    try:
        for _ in range(50):
            await auth(a, bearer(issued.key))
        assert calls == 1
        clock.advance(1.0)
        await auth(a, bearer(issued.key))
        assert calls == 2
    finally:
        await a.close()


async def test_a_key_in_use_is_reread_in_the_background_not_by_a_request(
    service: KeyService, settings: Settings, engine: AsyncEngine, clock: Clock
) -> None:
    """Past half the TTL a request is served from the cache while the key is re-read for the
    next ones: with a database that does not answer, the request still completes, and the
    fresh row (here: revoked on another replica) is what the following request sees."""
    issued = await service.create(user="erin", tier="pro")
    a = Authenticator(engine, settings, clock=clock, pepper=PEPPER)
    original = a._fetch
    gate = asyncio.Event()
    gate.set()
    calls = 0

    async def slow(key_hash: str) -> Any:
        nonlocal calls
        calls += 1
        await gate.wait()
        return await original(key_hash)

    a._fetch = slow  # type: ignore[method-assign]
    try:
        await auth(a, bearer(issued.key))
        assert calls == 1
        clock.advance(0.4)  # not yet due
        await auth(a, bearer(issued.key))
        assert calls == 1

        gate.clear()  # the database stops answering
        clock.advance(0.2)  # 0.6 s old: due, still valid
        principal = await asyncio.wait_for(auth(a, bearer(issued.key)), 30)  # would hang if it waited
        assert principal.key_id == issued.info.id
        await asyncio.wait_for(auth(a, bearer(issued.key)), 30)  # one refresh in flight, not two
        assert calls == 2

        await service.revoke(issued.info.id)  # elsewhere: this replica is not told
        gate.set()
        await asyncio.gather(*a._inflight.values())
        clock.advance(0.1)
        assert await code_of(a, bearer(issued.key)) == "revoked_api_key"
        assert calls == 2  # the refreshed entry answered
    finally:
        gate.set()
        await a.close()


async def test_a_failed_background_refresh_serves_until_the_ttl_then_fails_the_request(
    service: KeyService, settings: Settings, engine: AsyncEngine, clock: Clock
) -> None:
    issued = await service.create(user="frank", tier="pro")
    a = Authenticator(engine, settings, clock=clock, pepper=PEPPER)
    original = a._fetch
    broken = False

    async def flaky(key_hash: str) -> Any:
        if broken:
            raise ServiceUnavailable("key store down", code="auth_unavailable")
        return await original(key_hash)

    a._fetch = flaky  # type: ignore[method-assign]
    try:
        await auth(a, bearer(issued.key))
        broken = True
        clock.advance(0.6)
        await auth(a, bearer(issued.key))  # served; the refresh fails behind it
        await asyncio.gather(*a._inflight.values(), return_exceptions=True)
        clock.advance(0.5)  # past the TTL: nothing valid to serve
        with pytest.raises(ServiceUnavailable):
            await auth(a, bearer(issued.key))
    finally:
        await a.close()


async def test_rotation_grace_then_old_secret_fails(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    issued = await service.create(user="erin", tier="pro")
    rotated = await service.rotate(issued.info.id)  # default grace 24 h
    authenticator.invalidate(key_id=issued.info.id)
    assert rotated.key != issued.key and rotated.info.id == issued.info.id
    old = await auth(authenticator, bearer(issued.key))
    assert old.via_previous_secret
    assert not (await auth(authenticator, bearer(rotated.key))).via_previous_secret

    clock.advance(24 * 3600 + 1)
    assert await code_of(authenticator, bearer(issued.key)) == "rotated_api_key"
    assert (await auth(authenticator, bearer(rotated.key))).user_id == "erin"


async def test_rotation_without_grace_cuts_old_secret_at_once(
    service: KeyService, authenticator: Authenticator
) -> None:
    issued = await service.create(user="fay", tier="pro")
    await auth(authenticator, bearer(issued.key))
    rotated = await service.rotate(issued.info.id, grace_hours=0)
    authenticator.invalidate(key_id=issued.info.id)
    assert await code_of(authenticator, bearer(issued.key)) == "invalid_api_key"
    await auth(authenticator, bearer(rotated.key))


async def test_last_used_is_written_in_batches(
    service: KeyService, authenticator: Authenticator
) -> None:
    issued = await service.create(user="gus", tier="pro")
    assert (await service.show(issued.info.id)).last_used_at is None
    await auth(authenticator, bearer(issued.key))
    assert (await service.show(issued.info.id)).last_used_at is None  # not per request
    await authenticator.flush_last_used()
    assert (await service.show(issued.info.id)).last_used_at is not None


def _failures(reason: str) -> float:
    return REGISTRY.get_sample_value("doorman_auth_failures_total", {"reason": reason}) or 0.0


async def test_lockout_is_exponential_and_alerts(
    service: KeyService, authenticator: Authenticator, clock: Clock
) -> None:
    events: list[dict[str, Any]] = []
    authenticator.on_alert = events.append
    good = await service.create(user="hal", tier="pro")
    before = _failures("invalid_api_key")
    bad = bearer("dm-" + "B" * 43)
    for _ in range(5):  # failures_before_lockout=5 in the fixture
        assert await code_of(authenticator, bad, ip="6.6.6.6") == "invalid_api_key"
    assert _failures("invalid_api_key") - before == 5
    assert [e["event"] for e in events] == ["auth_failure_burst"]
    assert events[0]["client_ip"] == "6.6.6.6"

    with pytest.raises(RateLimited) as info:  # even a valid key is refused while locked out
        await auth(authenticator, bearer(good.key), ip="6.6.6.6")
    assert info.value.code == "too_many_auth_failures"
    assert info.value.headers["retry-after"] == "30"
    await auth(authenticator, bearer(good.key), ip="7.7.7.7")  # other addresses unaffected

    clock.advance(31)
    await auth(authenticator, bearer(good.key), ip="6.6.6.6")
    for _ in range(5):
        await code_of(authenticator, bad, ip="6.6.6.6")
    with pytest.raises(RateLimited) as info:
        await auth(authenticator, bearer(good.key), ip="6.6.6.6")
    assert info.value.headers["retry-after"] == "60"  # doubled
    assert len(events) == 2


async def test_lockout_shared_through_redis(
    service: KeyService,
    engine: AsyncEngine,
    settings: Settings,
    redis_url: str,
) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    await client.flushdb()
    cfg = AuthSettings(failures_before_lockout=3, lockout_base_s=30)
    replica_a = Authenticator(engine, settings, redis=client, pepper=PEPPER, auth_settings=cfg)
    replica_b = Authenticator(engine, settings, redis=client, pepper=PEPPER, auth_settings=cfg)
    try:
        bad = bearer("dm-" + "C" * 43)
        await code_of(replica_a, bad, ip="9.9.9.9")
        await code_of(replica_b, bad, ip="9.9.9.9")
        await code_of(replica_a, bad, ip="9.9.9.9")
        with pytest.raises(RateLimited) as info:
            await auth(replica_b, bad, ip="9.9.9.9")
        assert info.value.code == "too_many_auth_failures"
        assert 1 <= int(info.value.headers["retry-after"]) <= 30
    finally:
        await replica_a.close()
        await replica_b.close()
        await client.aclose()


async def test_concurrent_creates_for_a_new_user(service: KeyService) -> None:
    import asyncio

    issued = await asyncio.gather(*(service.create(user="new", tier="pro") for _ in range(5)))
    assert len({i.info.id for i in issued}) == 5
    assert len(await service.list(user="new")) == 5


async def test_a_lockout_decided_elsewhere_applies_here_within_a_second(
    service: KeyService,
    engine: AsyncEngine,
    settings: Settings,
    redis_url: str,
    clock: Clock,
) -> None:
    """Replica B remembers 'not locked' for at most a second; A's lock-out then reaches it."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    await client.flushdb()
    cfg = AuthSettings(failures_before_lockout=3, lockout_base_s=30)
    replica_a = Authenticator(engine, settings, redis=client, clock=clock, pepper=PEPPER, auth_settings=cfg)
    replica_b = Authenticator(engine, settings, redis=client, clock=clock, pepper=PEPPER, auth_settings=cfg)
    try:
        good = await service.create(user="ivy", tier="pro")
        await auth(replica_b, bearer(good.key), ip="8.8.4.4")  # B checks: not locked
        bad = bearer("dm-" + "D" * 43)
        for _ in range(3):
            await code_of(replica_a, bad, ip="8.8.4.4")  # A locks the address out (in Redis)
        await auth(replica_b, bearer(good.key), ip="8.8.4.4")  # within B's second: still served
        clock.advance(1.1)
        with pytest.raises(RateLimited) as info:
            await auth(replica_b, bearer(good.key), ip="8.8.4.4")
        assert info.value.code == "too_many_auth_failures"
    finally:
        await replica_a.close()
        await replica_b.close()
        await client.aclose()
