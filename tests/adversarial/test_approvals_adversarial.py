"""Attacks on tool-call approvals: reuse, someone else's id, an expired id, forged ids, approvers
without the master key. Each is refused with a clear code and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from doorman.config import parse_settings
from doorman.db.engine import create_engine
from doorman.server.app import create_app
from harness import MASTER_KEY

PEPPER = "test-pepper-0123456789abcdef0123456789abcdef"
ADMIN = {"authorization": f"Bearer {MASTER_KEY}"}
SECRET_ARG = "hunter2-not-for-logs"
TOOL = {"type": "function", "function": {"name": "wire_funds", "parameters": {
    "type": "object", "properties": {"memo": {"type": "string"}}}}}  # fmt: skip


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    db = tmp_path_factory.mktemp("approvals-adv") / "doorman.db"
    url = f"sqlite+aiosqlite:///{db}"
    settings = {
        "database_url": url,
        "screening": {"enabled": False},
        # The refused approvers below are failed authentications from one address.
        "auth": {"failures_before_lockout": 1000},
        "tiers": {"agents": {"tools": {"require_approval": ["wire_*"]}}},
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOORMAN_MASTER_KEY", MASTER_KEY)
        mp.setenv("DOORMAN_PEPPER", PEPPER)
        with TestClient(create_app(parse_settings(settings))) as client:
            keys = {}
            for user in ("alice", "mallory"):
                reply = client.post("/admin/keys", json={"user": user, "tier": "agents"},
                                    headers=ADMIN)  # fmt: skip
                keys[user] = {"authorization": f"Bearer {reply.json()['key']}"}
            yield {"client": client, "keys": keys, "url": url}


def _withheld(env: dict[str, Any], user: str = "alice") -> str:
    reply = env["client"].post(
        "/v1/chat/completions",
        json={"model": "sim-small", "tools": [TOOL],
              "messages": [{"role": "user", "content": f"memo {SECRET_ARG}"}]},
        headers=env["keys"][user],
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    approval_id: str = reply.headers["x-doorman-approval"]
    assert SECRET_ARG not in reply.text.replace(f"memo {SECRET_ARG}", "")  # no arguments leak
    return approval_id


def _get(env: dict[str, Any], approval_id: str, user: str = "alice", **params: Any) -> Any:
    return env["client"].get(f"/v1/approvals/{approval_id}", headers=env["keys"][user],
                             params=params)  # fmt: skip


def _decide(env: dict[str, Any], approval_id: str, verb: str, headers: dict[str, str]) -> Any:
    return env["client"].post(f"/admin/approvals/{approval_id}/{verb}", headers=headers)


def test_an_approved_call_is_handed_out_once(env: dict[str, Any]) -> None:
    approval_id = _withheld(env)
    assert _decide(env, approval_id, "approve", ADMIN).status_code == 200
    first = _get(env, approval_id)
    assert first.status_code == 200 and first.json()["tool_call"]["function"]["name"] == "wire_funds"
    for _ in range(2):
        again = _get(env, approval_id)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "approval_already_used"
        assert "tool_call" not in again.text
    # In Anthropic's error shape when the Anthropic SDK asks.
    claude = _get_as_anthropic(env, approval_id)
    assert claude.status_code == 409 and claude.json()["type"] == "error"


def _get_as_anthropic(env: dict[str, Any], approval_id: str) -> Any:
    key = env["keys"]["alice"]["authorization"].removeprefix("Bearer ")
    return env["client"].get(f"/v1/approvals/{approval_id}",
                             headers={"x-api-key": key, "anthropic-version": "2023-06-01"})  # fmt: skip


def test_another_users_id_reads_like_an_unknown_one(env: dict[str, Any]) -> None:
    approval_id = _withheld(env)
    _decide(env, approval_id, "approve", ADMIN)
    theirs = _get(env, approval_id, "mallory")
    unknown = _get(env, "apr_" + "A" * 32, "mallory")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"] == "approval_not_found"
    assert "wire_funds" not in theirs.text and "alice" not in theirs.text
    assert _get(env, approval_id).status_code == 200  # still there for its owner, unspent


@pytest.mark.parametrize(
    "forged",
    ["apr_", "apr_' OR 1=1 --", "../admin/keys", "apr_" + "x" * 5000, "%00", "apr_%2F..%2F"],
)
def test_forged_ids_are_not_found_never_an_error(env: dict[str, Any], forged: str) -> None:
    reply = _get(env, forged)
    assert reply.status_code == 404, reply.text
    assert reply.json()["error"]["code"] in ("approval_not_found", "unknown_route")
    assert _decide(env, forged, "approve", ADMIN).status_code == 404


def test_expired_approvals_cannot_be_fetched_or_decided(env: dict[str, Any]) -> None:
    approval_id = _withheld(env)

    async def expire() -> None:
        engine = create_engine(env["url"])
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE tool_approvals SET expires_at = '2000-01-01 00:00:00' "
                         "WHERE id = :id"), {"id": approval_id},
                )  # fmt: skip
        finally:
            await engine.dispose()

    asyncio.run(expire())
    fetched = _get(env, approval_id)
    assert fetched.status_code == 410 and fetched.json()["error"]["code"] == "approval_expired"
    for verb in ("approve", "deny"):
        decided = _decide(env, approval_id, verb, ADMIN)
        assert decided.status_code == 410 and decided.json()["error"]["code"] == "approval_expired"
    listed = env["client"].get("/admin/approvals", params={"status": "expired"}, headers=ADMIN)
    assert approval_id in [a["id"] for a in listed.json()["data"]]


def test_only_the_master_key_decides(env: dict[str, Any]) -> None:
    approval_id = _withheld(env)
    for headers in (env["keys"]["alice"], env["keys"]["mallory"], {}, {"authorization": "Bearer x"}):
        for verb in ("approve", "deny"):
            assert _decide(env, approval_id, verb, headers).status_code == 401
        assert env["client"].get("/admin/approvals", headers=headers).status_code == 401
    assert _get(env, approval_id).json()["status"] == "pending"  # nothing changed
    denied = _decide(env, approval_id, "deny", ADMIN)
    assert denied.status_code == 200 and denied.json()["status"] == "denied"
    assert _get(env, approval_id).json()["status"] == "denied"
    assert "tool_call" not in _get(env, approval_id).json()
    again = _decide(env, approval_id, "approve", ADMIN)
    assert again.status_code == 409 and again.json()["error"]["code"] == "approval_already_decided"


def test_decisions_are_audited_without_the_arguments(env: dict[str, Any]) -> None:
    approval_id = _withheld(env)
    _decide(env, approval_id, "approve", ADMIN)
    audit = env["client"].get("/admin/audit", params={"target": approval_id}, headers=ADMIN)
    entries = audit.json()["data"]
    assert [e["action"] for e in entries] == ["approval.approve"]
    assert entries[0]["details"]["tool"] == "wire_funds" and SECRET_ARG not in audit.text


def test_the_ledger_row_records_the_request_for_approval(env: dict[str, Any]) -> None:
    approval_id = _withheld(env)
    listed = env["client"].get("/admin/approvals", params={"status": "pending"}, headers=ADMIN)
    request_id = next(a["request_id"] for a in listed.json()["data"] if a["id"] == approval_id)

    async def flags() -> str:
        engine = create_engine(env["url"])
        try:
            async with engine.connect() as conn:
                row = await conn.execute(
                    text("SELECT flags FROM ledger WHERE request_id = :r"), {"r": request_id}
                )
                return str(row.scalar_one())
        finally:
            await engine.dispose()

    assert "approval_requested" in asyncio.run(flags())


def test_without_a_key_or_with_bad_waits_nothing_is_revealed(env: dict[str, Any]) -> None:
    approval_id = _withheld(env)
    assert env["client"].get(f"/v1/approvals/{approval_id}").status_code == 401
    for wait in ("abc", "-1", "61", "nan"):
        reply = _get(env, approval_id, wait=wait)
        assert reply.status_code == 422 and reply.json()["error"]["param"] == "wait"
    assert _get(env, approval_id, wait="0.1").json()["status"] == "pending"
