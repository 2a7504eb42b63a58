"""Admin API for approvers (master key or a console session), mounted under ``/admin``.

- ``GET /admin/approvals?status=pending|approved|denied|expired&limit=100`` — newest first,
  with each call's arguments (an approver has to see what it approves)
- ``POST /admin/approvals/{id}/approve`` and ``/deny`` — optional body ``{"reason": "..."}``;
  a decided or expired approval is refused (409 ``approval_already_decided`` / 410
  ``approval_expired``). Each decision is written to the audit log with the tool's name, never
  its arguments.
"""

from __future__ import annotations

from typing import cast

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from doorman.approvals.store import STATUSES, ApprovalStore, Status
from doorman.auth.admin import _Body, _body, _int_query, _json
from doorman.auth.master import require_master
from doorman.errors import Unprocessable


class DecisionBody(_Body):
    reason: str | None = Field(default=None, max_length=500)


def _store(request: Request) -> ApprovalStore:
    return cast(ApprovalStore, request.app.state.doorman.approvals)


async def list_approvals(request: Request) -> Response:
    await require_master(request)
    limit = _int_query(request, "limit", 100, 1, 1000)
    raw = request.query_params.get("status") or None
    if raw is not None and raw not in STATUSES:
        raise Unprocessable(f"status: must be one of {', '.join(STATUSES)}", param="status")
    approvals = await _store(request).list(status=cast(Status | None, raw), limit=limit)
    return _json({"object": "list", "data": [a.for_approver() for a in approvals]})


async def _decide(request: Request, *, approve: bool) -> Response:
    actor = await require_master(request)
    body = await _body(request, DecisionBody)
    approval = await _store(request).decide(
        request.path_params["approval_id"], approve=approve, actor=actor, reason=body.reason
    )
    return _json(approval.for_approver())


async def approve(request: Request) -> Response:
    return await _decide(request, approve=True)


async def deny(request: Request) -> Response:
    return await _decide(request, approve=False)


routes: list[BaseRoute] = [
    Route("/approvals", list_approvals, methods=["GET"]),
    Route("/approvals/{approval_id}/approve", approve, methods=["POST"]),
    Route("/approvals/{approval_id}/deny", deny, methods=["POST"]),
]
