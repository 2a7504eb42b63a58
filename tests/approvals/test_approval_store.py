"""The approvals store on SQLite and PostgreSQL: record, decide once, hand out once, expire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from doorman.approvals.settings import ApprovalSettings
from doorman.approvals.store import ApprovalStore, Requester, WithheldCall, new_approval_id
from doorman.auth.service import Actor
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.db.models import AuditEntry
from doorman.errors import Conflict, Gone, NotFound

ALICE = Requester("alice", "key_a", "agents", "sim-small", "req_1", "openai")
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "send_money", "arguments": '{"to": "bob", "amount": 5}'}}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ApprovalStore]:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    clock = Clock()
    s = ApprovalStore(engine, ApprovalSettings(ttl_seconds=60, poll_interval_seconds=0.05),
                      clock=clock)  # fmt: skip
    s.test_clock = clock  # type: ignore[attr-defined]
    try:
        yield s
    finally:
        await engine.dispose()


async def _pending(store: ApprovalStore, who: Requester = ALICE) -> str:
    approval_id = new_approval_id()
    await store.record([WithheldCall(approval_id, "send_money", "call_1", CALL)], who)
    return approval_id


async def test_ids_are_unguessable_and_distinct() -> None:
    ids = {new_approval_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("apr_") and len(i) >= 36 for i in ids)


async def test_a_recorded_call_is_pending_for_its_user_only(store: ApprovalStore) -> None:
    approval_id = await _pending(store)
    approval = await store.fetch(approval_id, "alice")
    assert approval.status == "pending" and approval.tool_name == "send_money"
    assert "tool_call" not in approval.for_caller(with_call=False)
    with pytest.raises(NotFound) as other:
        await store.fetch(approval_id, "mallory")
    with pytest.raises(NotFound) as unknown:
        await store.fetch(new_approval_id(), "mallory")
    # Another user's id reads exactly like an unknown one, apart from the id echoed back.
    assert other.value.code == unknown.value.code == "approval_not_found"


async def test_approved_call_is_handed_out_once(store: ApprovalStore) -> None:
    approval_id = await _pending(store)
    decided = await store.decide(approval_id, approve=True, actor=Actor("ops", "10.0.0.1"))
    assert decided.status == "approved" and decided.decided_by == "ops"
    approval = await store.fetch(approval_id, "alice")
    collected = await store.collect(approval)
    assert collected.tool_call == CALL
    with pytest.raises(Conflict) as again:
        await store.fetch(approval_id, "alice")
    assert again.value.code == "approval_already_used"
    with pytest.raises(Conflict):  # a racing second collect loses too
        await store.collect(approval)


async def test_two_concurrent_collects_hand_the_call_out_once(store: ApprovalStore) -> None:
    approval_id = await _pending(store)
    await store.decide(approval_id, approve=True, actor=Actor("ops"))
    approval = await store.fetch(approval_id, "alice")
    results = await asyncio.gather(*(store.collect(approval) for _ in range(5)),
                                   return_exceptions=True)  # fmt: skip
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))


async def test_a_decision_is_final_and_audited(store: ApprovalStore) -> None:
    approval_id = await _pending(store)
    denied = await store.decide(approval_id, approve=False, actor=Actor("ops"), reason="no")
    assert denied.status == "denied"
    assert (await store.fetch(approval_id, "alice")).for_caller(with_call=False)["reason"] == "no"
    for approve in (True, False):
        with pytest.raises(Conflict) as info:
            await store.decide(approval_id, approve=approve, actor=Actor("ops"))
        assert info.value.code == "approval_already_decided"
    async with store._sessions() as session:
        rows = (await session.scalars(select(AuditEntry))).all()
    assert [(r.action, r.target, r.actor) for r in rows] == [("approval.deny", approval_id, "ops")]
    assert rows[0].details["tool"] == "send_money"
    assert "bob" not in str(rows[0].details)  # never the arguments


async def test_expired_approvals_cannot_be_decided_or_fetched(store: ApprovalStore) -> None:
    approval_id = await _pending(store)
    store.test_clock.t += 61  # type: ignore[attr-defined]
    with pytest.raises(Gone) as fetch:
        await store.fetch(approval_id, "alice")
    with pytest.raises(Gone) as decide:
        await store.decide(approval_id, approve=True, actor=Actor("ops"))
    assert fetch.value.code == decide.value.code == "approval_expired"
    assert [a.id for a in await store.list(status="expired")] == [approval_id]
    assert await store.list(status="pending") == []


async def test_an_approved_call_not_collected_in_time_expires(store: ApprovalStore) -> None:
    approval_id = await _pending(store)
    store.test_clock.t += 50  # type: ignore[attr-defined]
    await store.decide(approval_id, approve=True, actor=Actor("ops"))
    store.test_clock.t += 50  # 100 s after the request, 50 s after the decision: still valid
    approval = await store.fetch(approval_id, "alice")
    store.test_clock.t += 20  # type: ignore[attr-defined]
    with pytest.raises(Gone):
        await store.collect(approval)


async def test_list_filters_by_status(store: ApprovalStore) -> None:
    a, b, c = [await _pending(store) for _ in range(3)]
    await store.decide(a, approve=True, actor=Actor("ops"))
    await store.decide(b, approve=False, actor=Actor("ops"))
    assert [x.id for x in await store.list(status="pending")] == [c]
    assert [x.id for x in await store.list(status="approved")] == [a]
    assert [x.id for x in await store.list(status="denied")] == [b]
    assert {x.id for x in await store.list()} == {a, b, c}
    assert (await store.list(status="pending"))[0].for_approver()["tool_call"] == CALL


async def test_long_poll_returns_once_another_store_decides(database_url: str,
                                                            store: ApprovalStore) -> None:  # fmt: skip
    """Two stores on one database stand for two replicas: the decision is seen by polling."""
    approval_id = await _pending(store)
    other_engine = create_engine(database_url)
    try:
        other = ApprovalStore(other_engine, store.settings, clock=store.clock)

        async def decide_soon() -> None:
            await asyncio.sleep(0.2)
            await other.decide(approval_id, approve=True, actor=Actor("ops"))

        waiting = asyncio.ensure_future(store.fetch(approval_id, "alice", wait=30))
        await decide_soon()
        approval = await asyncio.wait_for(waiting, 20)
    finally:
        await other_engine.dispose()
    assert approval.status == "approved"


async def test_long_poll_gives_up_pending_after_its_wait(store: ApprovalStore) -> None:
    approval_id = await _pending(store)
    approval = await store.fetch(approval_id, "alice", wait=0.2)
    assert approval.status == "pending"


@pytest.mark.parametrize("forged", ["apr_\x00", "apr_" + "A" * 5000, "' OR 1=1 --", "", "apr_é"])
async def test_malformed_ids_are_not_found_on_either_database(
    store: ApprovalStore, forged: str
) -> None:
    with pytest.raises(NotFound) as fetched:
        await store.fetch(forged, "alice")
    with pytest.raises(NotFound):
        await store.decide(forged, approve=True, actor=Actor("ops"))
    assert forged not in fetched.value.message or not forged
