"""Attacks on the console: CSRF, cross-site requests, stolen or forged cookies, guessing the
master key through the sign-in form, inline script smuggled into a page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from doorman.auth.sessions import ConsoleSessions
from doorman.config import parse_settings
from doorman.errors import AuthenticationFailed
from doorman.server.app import create_app
from doorman.server.console.headers import CONTENT_SECURITY_POLICY
from doorman.server.console.pages import PAGES
from harness import MASTER_KEY

PAGE_PATHS = [f"/console{p.path}" for p in PAGES]
PEPPER = "test-pepper-0123456789abcdef0123456789abcdef"
BEARER = {"authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The whole gateway app in-process (plain http). Tests pass cookies explicitly, so one
    client can play several browsers; its own cookie jar is emptied after each sign-in."""
    db = tmp_path_factory.mktemp("console-sec") / "doorman.db"
    settings = {"database_url": f"sqlite+aiosqlite:///{db}", "screening": {"enabled": False}}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DOORMAN_MASTER_KEY", MASTER_KEY)
        env.setenv("DOORMAN_PEPPER", PEPPER)
        app = create_app(parse_settings(settings))
        with TestClient(app, base_url="http://gateway.test") as client:
            yield client


def signed_in(client: TestClient) -> tuple[dict[str, str], str]:
    """(a Cookie header for a new session, its CSRF token)."""
    reply = client.post("/console/session", json={"master_key": MASTER_KEY})
    assert reply.status_code == 201, reply.text
    cookie = client.cookies["doorman_console"]
    client.cookies.clear()
    return {"cookie": f"doorman_console={cookie}"}, reply.json()["csrf_token"]


def test_state_changes_without_the_csrf_token_are_refused_and_change_nothing(
    gateway: TestClient,
) -> None:
    browser, csrf = signed_in(gateway)
    _other, other_csrf = signed_in(gateway)
    before = gateway.get("/admin/keys", headers=browser).json()["data"]
    for token in ({}, {"x-csrf-token": "forged"}, {"x-csrf-token": other_csrf}):
        headers = {**browser, **token}
        reply = gateway.post("/admin/keys", json={"user": "mallory"}, headers=headers)
        assert reply.status_code == 403
        assert reply.json()["error"]["code"] == "csrf_token_invalid"
        reply = gateway.post("/admin/users/alice/suspend", json={}, headers=headers)
        assert reply.status_code == 403
        reply = gateway.delete("/console/session", headers=headers)
        assert reply.status_code == 403
    assert gateway.get("/admin/keys", headers=browser).json()["data"] == before  # no key minted
    assert gateway.get("/console/session", headers=browser).status_code == 200  # nor signed out
    headers = {**browser, "x-csrf-token": csrf}
    assert gateway.post("/admin/keys", json={"user": "mallory"}, headers=headers).status_code == 201


def test_a_cross_site_origin_is_refused_even_with_the_token(gateway: TestClient) -> None:
    browser, csrf = signed_in(gateway)
    reply = gateway.post(
        "/admin/keys",
        json={"user": "mallory"},
        headers={**browser, "x-csrf-token": csrf, "origin": "https://evil.example"},
    )
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "cross_site_request"


def test_session_cookie_flags_over_plain_http(gateway: TestClient) -> None:
    reply = gateway.post("/console/session", json={"master_key": MASTER_KEY})
    gateway.cookies.clear()
    cookie = reply.headers["set-cookie"]
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert re.search(r"(?i)samesite=strict", cookie)
    assert "secure" not in attributes  # a Secure cookie would never come back over http
    assert MASTER_KEY not in cookie and MASTER_KEY not in reply.text


def test_sign_in_takes_json_only(gateway: TestClient) -> None:
    """A cross-site HTML form can post url-encoded data, never JSON."""
    reply = gateway.post("/console/session", data={"master_key": MASTER_KEY})
    assert reply.status_code == 415
    assert "set-cookie" not in reply.headers


def test_every_console_page_has_a_strict_csp_and_no_inline_code(gateway: TestClient) -> None:
    browser, _ = signed_in(gateway)
    for path in [*PAGE_PATHS, "/console/signin"]:
        reply = gateway.get(path, headers=browser)
        assert reply.status_code == 200, path
        csp = reply.headers["content-security-policy"]
        assert csp == CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert reply.headers["x-frame-options"] == "DENY"
        html = reply.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path  # inline script
        assert not re.search(r"<style", html), path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path  # inline event handlers
    for asset in ("/console/static/console.js", "/console/static/vendor/uPlot.iife.min.js"):
        reply = gateway.get(asset, headers=browser)
        assert reply.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_pages_and_admin_api_need_a_live_session(gateway: TestClient) -> None:
    for path in PAGE_PATHS:
        reply = gateway.get(path, follow_redirects=False)
        assert reply.status_code == 303 and reply.headers["location"] == "/console/signin"
    forged = {"cookie": "doorman_console=v1.abc.9999999999.forged"}
    assert gateway.get("/admin/keys", headers=forged).status_code == 401
    browser, csrf = signed_in(gateway)
    signout = gateway.delete("/console/session", headers={**browser, "x-csrf-token": csrf})
    assert signout.status_code == 200
    # A copy of the cookie taken before sign-out is worthless afterwards.
    reply = gateway.get("/admin/keys", headers=browser)
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "session_ended"
    assert gateway.get("/console/", headers=browser, follow_redirects=False).status_code == 303


def test_sessions_expire_and_cannot_be_extended() -> None:
    now = [1_000_000.0]
    sessions = ConsoleSessions(None, b"pepper" * 8, ttl_s=60, clock=lambda: now[0])  # type: ignore[arg-type]
    cookie, session = sessions.issue()
    assert sessions.parse(cookie) == session
    version, sid, expiry, mac = cookie.split(".")
    with pytest.raises(AuthenticationFailed) as stretched:
        sessions.parse(f"{version}.{sid}.{int(expiry) + 3600}.{mac}")
    assert stretched.value.code == "invalid_session"
    now[0] += 61
    with pytest.raises(AuthenticationFailed) as expired:
        sessions.parse(cookie)
    assert expired.value.code == "session_expired"


async def test_a_new_master_key_ends_every_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from doorman.auth.sessions import sessions_for
    from doorman.db.engine import create_engine
    from doorman.db.migrate import upgrade_async

    url = f"sqlite+aiosqlite:///{tmp_path}/doorman.db"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-old-" + "a" * 32)
        before = await sessions_for(SimpleNamespace(engine=engine, authenticator=None))
        cookie, _ = before.issue()
        monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-new-" + "b" * 32)
        after = await sessions_for(SimpleNamespace(engine=engine, authenticator=None))
        with pytest.raises(AuthenticationFailed) as refused:
            await after.check(cookie)
        assert refused.value.code == "invalid_session"
        await before.check(cookie)  # the same key still accepts it: only the key changed
    finally:
        await engine.dispose()


def in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: object) -> TestClient:
    monkeypatch.setenv("DOORMAN_MASTER_KEY", MASTER_KEY)
    monkeypatch.setenv("DOORMAN_PEPPER", PEPPER)
    config = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/doorman.db",
        "screening": {"enabled": False},
        **extra,
    }
    return TestClient(create_app(parse_settings(config)), base_url="https://gateway.test")


def test_a_disabled_console_serves_nothing_and_accepts_no_cookie(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with in_process(tmp_path, monkeypatch, console={"enabled": False}) as client:
        assert client.get("/console/").status_code == 404
        assert client.post("/console/session", json={"master_key": MASTER_KEY}).status_code == 404
        client.cookies.set("doorman_console", "v1.abc.9999999999.forged")
        reply = client.get("/admin/keys")
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "console_disabled"
        assert client.get("/admin/keys", headers=BEARER).status_code == 200


@pytest.fixture
def tls_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The gateway in-process as if served over TLS, locking out after three failures."""
    auth = {"failures_before_lockout": 3, "lockout_base_s": 600}
    with in_process(tmp_path, monkeypatch, auth=auth) as client:
        yield client


def test_cookie_is_secure_over_tls_and_wrong_master_keys_are_locked_out(
    tls_app: TestClient,
) -> None:
    reply = tls_app.post("/console/session", json={"master_key": MASTER_KEY})
    assert reply.status_code == 201
    assert re.search(r"(?i);\s*secure", reply.headers["set-cookie"])
    tls_app.cookies.clear()
    for _ in range(3):
        reply = tls_app.post("/console/session", json={"master_key": "dm-master-guess"})
        assert reply.status_code == 401
    # Locked out like an API-key guesser: the right key, the admin API and the proxy all refuse.
    reply = tls_app.post("/console/session", json={"master_key": MASTER_KEY})
    assert reply.status_code == 429
    assert reply.json()["error"]["code"] == "too_many_auth_failures"
    assert int(reply.headers["retry-after"]) > 0
    assert "set-cookie" not in reply.headers
    assert tls_app.get("/admin/keys", headers=BEARER).status_code == 429
    chat = tls_app.post(
        "/v1/chat/completions",
        headers={"authorization": "Bearer dm-anything"},
        json={"model": "sim-small", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert chat.status_code == 429


def test_console_admin_routes_name_the_bad_parameter(gateway: TestClient) -> None:
    for path, param in (
        ("/admin/overview?window=week", "window"),
        ("/admin/overview?by=user", "by"),
        ("/admin/screening?limit=0", "limit"),
        ("/admin/providers?window=", None),  # empty means the default
        ("/admin/users?suspended=maybe", "suspended"),
    ):
        reply = gateway.get(path, headers=BEARER)
        if param is None:
            assert reply.status_code == 200, path
            continue
        assert 400 <= reply.status_code < 500, path
        assert reply.json()["error"]["param"] == param, path
    assert gateway.get("/admin/overview").status_code == 401
    tiers = gateway.get("/admin/tiers", headers=BEARER).json()["data"]
    assert [t["name"] for t in tiers if t["default"]] == ["free"]


def test_cookie_is_secure_behind_a_trusted_tls_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOORMAN_MASTER_KEY", MASTER_KEY)
    monkeypatch.setenv("DOORMAN_PEPPER", PEPPER)
    settings = parse_settings(
        {
            "database_url": f"sqlite+aiosqlite:///{tmp_path}/doorman.db",
            "screening": {"enabled": False},
            "server": {"trusted_proxies": ["10.0.0.1"]},
        }
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://gateway.test", client=("10.0.0.1", 5000)) as proxy:
        body = {"master_key": MASTER_KEY}
        tls = proxy.post("/console/session", json=body, headers={"x-forwarded-proto": "https"})
        assert re.search(r"(?i);\s*secure", tls.headers["set-cookie"])
        plain = proxy.post("/console/session", json=body)
        assert not re.search(r"(?i);\s*secure", plain.headers["set-cookie"])
