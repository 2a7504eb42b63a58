"""Admin API: master-key guard, strict bodies, the key life cycle, users, audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
from authkit import Clock, bearer
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount

from doorman.auth.admin import routes
from doorman.auth.authenticator import Authenticator
from doorman.auth.master import ensure_master_key, verify_master_key
from doorman.config import Settings
from doorman.errors import AuthenticationFailed, DoormanError

CHAT = ("POST", "/v1/chat/completions", b"{}", "10.0.0.5")


def build_app(settings: Settings, engine: AsyncEngine, authenticator: Authenticator) -> Starlette:
    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DoormanError)
        return Response(
            exc.render(), status_code=exc.status_code, headers=exc.headers,
            media_type="application/json",
        )

    app = Starlette(
        routes=[Mount("/admin", routes=routes)], exception_handlers={DoormanError: on_error}
    )
    app.state.doorman = SimpleNamespace(
        settings=settings, engine=engine, redis=None, authenticator=authenticator
    )
    return app


@pytest.fixture
async def master(engine: AsyncEngine) -> str:
    key = await ensure_master_key(engine)
    assert key is not None
    return key


@pytest.fixture
async def admin(
    settings: Settings, engine: AsyncEngine, authenticator: Authenticator, master: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(settings, engine, authenticator)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw", headers=bearer(master)
    ) as client:
        yield client


async def test_master_key_generated_once_and_stored_hashed(
    engine: AsyncEngine, master: str
) -> None:
    assert master.startswith("dm-master-")
    assert await ensure_master_key(engine) is None  # second start: nothing new to print
    assert await verify_master_key(engine, master)
    assert not await verify_master_key(engine, master + "x")
    async with engine.connect() as conn:
        from sqlalchemy import text

        values = (await conn.execute(text("SELECT value FROM settings"))).scalars().all()
    assert master not in values


async def test_master_key_from_env(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "env-master-secret")
    assert await ensure_master_key(engine) is None
    assert await verify_master_key(engine, "env-master-secret")
    assert not await verify_master_key(engine, "env-master-secreT")


async def test_admin_requires_master_key(admin: httpx.AsyncClient) -> None:
    r = await admin.get("/admin/keys", headers={"authorization": ""})
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_master_key"
    r = await admin.get("/admin/keys", headers=bearer("dm-master-wrong"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_master_key"
    r = await admin.get("/admin/keys", headers={"authorization": "Basic eDp5"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unsupported_auth_scheme"


async def test_master_key_guessing_is_locked_out(
    admin: httpx.AsyncClient, master: str
) -> None:
    for _ in range(5):  # failures_before_lockout=5 in the fixture
        await admin.get("/admin/keys", headers=bearer("dm-master-guess"))
    r = await admin.get("/admin/keys")  # even the right key, from the locked address
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_auth_failures"
    assert int(r.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"user": "a", "tier": "pro", "colour": "red"}, "colour"),
        ({"user": "a", "tier": "gold"}, "tier"),
        ({"user": "a", "tier": "pro", "expires_days": 0}, "expires_days"),
        ({"user": "a", "tier": "pro", "expires_days": "5"}, "expires_days"),
        ({"user": "a", "tier": "pro", "models": ["nope"]}, "models.0"),
        ({"user": "a b", "tier": "pro"}, "user"),
        ({"tier": "pro"}, "user"),
        ({"user": "a", "tier": "pro", "labels": {"k": 1}}, "labels.k"),
    ],
)
async def test_create_rejects_unknown_fields_and_invalid_values(
    admin: httpx.AsyncClient, body: dict[str, object], named: str
) -> None:
    r = await admin.post("/admin/keys", json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert named in err["message"] and err["param"] == named
    listing = await admin.get("/admin/keys")
    assert listing.json()["data"] == []  # nothing half-applied


async def test_invalid_json_is_400(admin: httpx.AsyncClient) -> None:
    r = await admin.post("/admin/keys", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


async def test_key_life_cycle_through_admin_api(
    admin: httpx.AsyncClient, authenticator: Authenticator, clock: Clock
) -> None:
    r = await admin.post(
        "/admin/keys",
        json={"user": "robot-7", "tier": "pro", "expires_days": 30, "models": ["sim-small"],
              "labels": {"fleet": "eu"}},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key_id, secret = created["id"], created["key"]
    assert created["user"] == "robot-7" and created["tier"] == "pro"
    assert created["expires_at"] and "signing_secret" not in created
    assert (await authenticator.authenticate(bearer(secret), *CHAT)).key_id == key_id

    listed = await admin.get("/admin/keys", params={"user": "robot-7"})
    listing = listed.json()["data"]
    assert [k["id"] for k in listing] == [key_id]
    assert "key" not in listing[0] and secret not in listed.text
    shown = (await admin.get(f"/admin/keys/{key_id}")).json()
    assert shown["status"] == "active" and "key" not in shown

    r = await admin.post(f"/admin/keys/{key_id}/rotate", json={"grace_hours": 2})
    assert r.status_code == 200, r.text
    new_secret = r.json()["key"]
    assert new_secret != secret and r.json()["previous_secret_valid_until"]
    await authenticator.authenticate(bearer(secret), *CHAT)  # grace
    await authenticator.authenticate(bearer(new_secret), *CHAT)

    r = await admin.post(f"/admin/keys/{key_id}/revoke", json={"reason": "lost robot"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    for s in (secret, new_secret):  # revocation is immediate on this replica
        with pytest.raises(AuthenticationFailed) as info:
            await authenticator.authenticate(bearer(s), *CHAT)
        assert info.value.code == "revoked_api_key"

    r = await admin.post(f"/admin/keys/{key_id}/rotate", json={})
    assert r.status_code == 400 and r.json()["error"]["code"] == "key_revoked"
    r = await admin.get("/admin/keys/key_doesnotexist")
    assert r.status_code == 404

    audit = (await admin.get("/admin/audit")).json()["data"]
    actions = [e["action"] for e in audit]
    assert actions[:3] == ["key.revoke", "key.rotate", "key.create"]
    assert all(e["client_address"] == "127.0.0.1" and e["actor"] == "master" for e in audit)
    assert audit[0]["details"]["reason"] == "lost robot" and audit[0]["target"] == key_id


async def test_signing_key_through_admin_api(admin: httpx.AsyncClient) -> None:
    r = await admin.post("/admin/keys", json={"user": "s", "tier": "pro", "signing": True})
    assert r.json()["signing_secret"].startswith("dms-")
    r = await admin.post("/admin/keys", json={"user": "s", "tier": "secure"})
    assert r.json()["signing"] is True and "signing_secret" in r.json()


async def test_suspend_and_unsuspend_user(
    admin: httpx.AsyncClient, authenticator: Authenticator
) -> None:
    secret = (await admin.post("/admin/keys", json={"user": "eve", "tier": "free"})).json()["key"]
    await authenticator.authenticate(bearer(secret), *CHAT)
    r = await admin.post("/admin/users/eve/suspend", json={"reason": "stuffing"})
    assert r.status_code == 200 and r.json()["suspended"] is True
    with pytest.raises(DoormanError) as info:
        await authenticator.authenticate(bearer(secret), *CHAT)
    assert info.value.status_code == 403 and info.value.code == "user_suspended"
    r = await admin.post("/admin/users/eve/unsuspend", json={"oops": 1})
    assert r.status_code == 422 and r.json()["error"]["param"] == "oops"
    r = await admin.post("/admin/users/eve/unsuspend")
    assert r.json()["suspended"] is False
    await authenticator.authenticate(bearer(secret), *CHAT)
    r = await admin.post("/admin/users/nobody/suspend")
    assert r.status_code == 404
    audit = (await admin.get("/admin/audit", params={"target": "eve"})).json()["data"]
    assert [e["action"] for e in audit] == ["user.unsuspend", "user.suspend"]
    r = await admin.get("/admin/audit", params={"limit": "lots"})
    assert r.status_code == 422 and r.json()["error"]["param"] == "limit"
