"""The approvals store: record withheld calls, decide them, hand an approved call out once.

Every state change is one conditional UPDATE (``... WHERE status = 'pending' AND expires_at >
now``), so two approvers, two replicas or two fetches racing each other cannot both win, on
SQLite and on PostgreSQL alike. A decision and its audit-log row commit together.
"""

from __future__ import annotations

import asyncio
import builtins
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from doorman.approvals.models import ToolApproval
from doorman.approvals.polls import WaitSlots
from doorman.approvals.settings import ApprovalSettings
from doorman.auth.service import Actor, audit_entry
from doorman.errors import Conflict, Gone, NotFound

_log = structlog.get_logger("doorman.approvals")


def log(event: str, **fields: Any) -> None:
    """One structured line where logging was set up (``serve``: JSON on stderr); the CLI's
    stdout stays its own (an unconfigured structlog would print there)."""
    if structlog.is_configured():
        _log.info(event, **fields)


Status = Literal["pending", "approved", "denied", "expired"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "denied", "expired")
ID_PREFIX = "apr_"


_ID_SHAPE = re.compile(r"apr_[A-Za-z0-9_-]{1,60}")


def well_formed(approval_id: str) -> bool:
    """Only ids of our own shape reach the database (a NUL byte or a megabyte of path never
    does: PostgreSQL would refuse the first with an error instead of a 404)."""
    return _ID_SHAPE.fullmatch(approval_id) is not None


def new_approval_id() -> str:
    """An unguessable id (192 random bits): knowing one id says nothing about another."""
    return ID_PREFIX + secrets.token_urlsafe(24)


def _not_found(approval_id: str) -> NotFound:
    # The same answer for "no such id" and "someone else's id": existence is not revealed.
    named = f"'{approval_id}'" if well_formed(approval_id) else "of that shape"
    return NotFound(f"No approval with id {named}.", code="approval_not_found")


@dataclass(frozen=True, slots=True)
class WithheldCall:
    """A tool call taken out of an answer, to be recorded as a pending approval."""

    id: str
    tool_name: str
    call_id: str | None
    tool_call: dict[str, Any]  # exactly what the caller would have received, in its wire format


@dataclass(frozen=True, slots=True)
class Requester:
    """Who caused the withheld calls (the approval is bound to this user)."""

    user_id: str
    key_id: str | None
    tier: str | None
    model: str | None
    request_id: str
    wire: str


@dataclass(frozen=True, slots=True)
class Approval:
    id: str
    status: Status  # effective: a pending row past its expiry reads as expired
    tool_name: str
    call_id: str | None
    wire: str
    user_id: str
    key_id: str | None
    tier: str | None
    model: str | None
    request_id: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    consumed_at: datetime | None
    tool_call: dict[str, Any]

    @classmethod
    def from_row(cls, row: ToolApproval, now: datetime) -> Approval:
        status: Status = row.status  # type: ignore[assignment]
        uncollected = status == "approved" and row.consumed_at is None
        if (status == "pending" or uncollected) and row.expires_at <= now:
            status = "expired"
        return cls(
            row.id, status, row.tool_name, row.call_id, row.wire, row.user_id, row.key_id,
            row.tier, row.model, row.request_id, row.created_at, row.expires_at,
            row.decided_at, row.decided_by, row.reason, row.consumed_at,
            orjson.loads(row.tool_call),
        )  # fmt: skip

    def for_caller(self, *, with_call: bool) -> dict[str, Any]:
        """What the caller sees: never who decided, never the call unless handed out now."""
        out: dict[str, Any] = {
            "id": self.id,
            "object": "tool_approval",
            "status": self.status,
            "tool_name": self.tool_name,
            "request_id": self.request_id,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "decided_at": _iso(self.decided_at),
        }
        if self.status == "denied" and self.reason:
            out["reason"] = self.reason
        if with_call:
            out["tool_call"] = self.tool_call
        return out

    def for_approver(self) -> dict[str, Any]:
        """What an approver sees: everything needed to decide, including the arguments."""
        return {
            "id": self.id,
            "status": self.status,
            "tool_name": self.tool_name,
            "call_id": self.call_id,
            "tool_call": self.tool_call,
            "wire": self.wire,
            "user": self.user_id,
            "key_id": self.key_id,
            "tier": self.tier,
            "model": self.model,
            "request_id": self.request_id,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "decided_at": _iso(self.decided_at),
            "decided_by": self.decided_by,
            "reason": self.reason,
            "collected": self.consumed_at is not None,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class ApprovalStore:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: ApprovalSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.waits = WaitSlots(settings.max_waits_per_user)  # long-polls open, per user

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # ------------------------------------------------------------------ requested
    async def record(self, calls: Sequence[WithheldCall], who: Requester) -> None:
        """Store withheld calls as pending approvals (one transaction; committed on return,
        so the caller may ask about them the moment it reads their ids)."""
        if not calls:
            return
        now = self.now()
        expires = now + timedelta(seconds=self.settings.ttl_seconds)
        async with self._sessions() as session, session.begin():
            for call in calls:
                session.add(
                    ToolApproval(
                        id=call.id, status="pending", tool_name=call.tool_name[:256],
                        call_id=(call.call_id or None) and str(call.call_id)[:128],
                        tool_call=orjson.dumps(call.tool_call).decode(), wire=who.wire,
                        user_id=who.user_id, key_id=who.key_id, tier=who.tier, model=who.model,
                        request_id=who.request_id, created_at=now, expires_at=expires,
                    )
                )  # fmt: skip
        for call in calls:  # the tool's name and the ids only: arguments may hold secrets
            log(
                "approval_requested", approval_id=call.id, tool=call.tool_name[:256],
                user_id=who.user_id, request_id=who.request_id,
            )  # fmt: skip

    # ------------------------------------------------------------------ read
    async def get(self, approval_id: str) -> Approval | None:
        if not well_formed(approval_id):
            return None
        async with self._sessions() as session:
            row = await session.get(ToolApproval, approval_id)
        return Approval.from_row(row, self.now()) if row is not None else None

    async def list(
        self, *, status: Status | None = None, limit: int = 100
    ) -> builtins.list[Approval]:
        """Newest first. ``expired`` is derived from the clock, so it is filtered here."""
        now = self.now()
        query = select(ToolApproval).order_by(ToolApproval.created_at.desc()).limit(limit)
        if status == "pending":
            query = query.where(ToolApproval.status == "pending", ToolApproval.expires_at > now)
        elif status == "expired":
            query = query.where(
                ToolApproval.expires_at <= now,
                (ToolApproval.status == "pending")
                | ((ToolApproval.status == "approved") & ToolApproval.consumed_at.is_(None)),
            )
        elif status is not None:
            query = query.where(ToolApproval.status == status)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        out = [Approval.from_row(r, now) for r in rows]
        return [a for a in out if status is None or a.status == status]

    # ------------------------------------------------------------------ caller
    async def _own(self, approval_id: str, user_id: str) -> Approval:
        approval = await self.get(approval_id)
        if approval is None or approval.user_id != user_id:
            raise _not_found(approval_id)
        return approval

    async def fetch(self, approval_id: str, user_id: str, *, wait: float = 0.0) -> Approval:
        """The caller asks about its approval, waiting up to ``wait`` seconds for a decision.

        Returns the approval (the call is handed out only through :meth:`collect`), or raises:
        404 for an unknown or another user's id, 410 once expired, 409 when already collected.
        """
        deadline = time.monotonic() + min(wait, self.settings.max_wait_seconds)
        while True:
            approval = await self._own(approval_id, user_id)
            if approval.status != "pending" or time.monotonic() >= deadline:
                break
            # A decision may be written by another replica: re-read the database at a modest
            # pace rather than wait on anything held in this process.
            pause = min(self.settings.poll_interval_seconds, deadline - time.monotonic())
            await asyncio.sleep(max(pause, 0.0))
        if approval.status == "expired":
            raise Gone(
                f"The approval '{approval.id}' expired at {_iso(approval.expires_at)}; the tool "
                "call was not released. Ask the model again.",
                code="approval_expired",
            )
        if approval.status == "approved" and approval.consumed_at is not None:
            raise _already_used(approval.id)
        return approval

    async def answer(self, approval_id: str, user_id: str, *, wait: float = 0.0) -> dict[str, Any]:
        """What ``GET /v1/approvals/{id}`` answers: the status, and an approved call the first
        time it is asked for (errors as :meth:`fetch` and :meth:`collect` raise them)."""
        approval = await self.fetch(approval_id, user_id, wait=wait)
        handed = approval.status == "approved"
        if handed:
            approval = await self.collect(approval)
        return approval.for_caller(with_call=handed)

    async def collect(self, approval: Approval) -> Approval:
        """Hand out an approved call exactly once: the first caller to mark it wins."""
        now = self.now()
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(ToolApproval)
                .where(
                    ToolApproval.id == approval.id,
                    ToolApproval.status == "approved",
                    ToolApproval.consumed_at.is_(None),
                    ToolApproval.expires_at > now,
                )
                .values(consumed_at=now)
            )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            current = await self.get(approval.id)
            if current is not None and current.status == "expired":
                raise Gone(f"The approval '{approval.id}' expired.", code="approval_expired")
            raise _already_used(approval.id)
        log("approval_collected", approval_id=approval.id, tool=approval.tool_name)
        return approval

    # ------------------------------------------------------------------ approvers
    async def decide(
        self, approval_id: str, *, approve: bool, actor: Actor, reason: str | None = None
    ) -> Approval:
        """Approve or deny a pending approval; refused (409/410/404) in any other state."""
        if not well_formed(approval_id):
            raise _not_found(approval_id)
        now = self.now()
        status = "approved" if approve else "denied"
        values: dict[str, Any] = {
            "status": status, "decided_at": now, "decided_by": actor.name[:128], "reason": reason,
        }  # fmt: skip
        if approve:  # the caller gets a full period to collect the call
            values["expires_at"] = now + timedelta(seconds=self.settings.ttl_seconds)
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(ToolApproval)
                .where(
                    ToolApproval.id == approval_id,
                    ToolApproval.status == "pending",
                    ToolApproval.expires_at > now,
                )
                .values(**values)
            )
            won = result.rowcount == 1  # type: ignore[attr-defined]
            if won:
                row = await session.get(ToolApproval, approval_id)
                assert row is not None
                details = {"tool": row.tool_name, "user": row.user_id, "reason": reason}
                action = "approval.approve" if approve else "approval.deny"
                session.add(audit_entry(now, actor, action, approval_id, details))
        if not won:
            current = await self.get(approval_id)
            if current is None:
                raise _not_found(approval_id)
            if current.status == "expired":
                raise Gone(
                    f"The approval '{current.id}' expired at {_iso(current.expires_at)}; it can "
                    "no longer be decided.",
                    code="approval_expired",
                )
            raise Conflict(
                f"The approval '{current.id}' was already {current.status}"
                f"{' by ' + current.decided_by if current.decided_by else ''}.",
                code="approval_already_decided",
            )
        decided = await self.get(approval_id)
        assert decided is not None
        log(
            "approval_decided", approval_id=approval_id, tool=decided.tool_name,
            decision=status, actor=actor.name, user_id=decided.user_id,
        )  # fmt: skip
        return decided


def _already_used(approval_id: str) -> Conflict:
    return Conflict(
        f"The approved call of '{approval_id}' was already handed out; an approval is single-use.",
        code="approval_already_used",
    )
