"""Where the pipeline meets approvals: withhold calls in a full answer or a stream.

Both run after output screening, on the answer in the caller's wire format, and only when the
tier's ``tools.require_approval`` has patterns. A withheld call lands in the ledger row as the
flag ``approval_requested``; its approval row names the request id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from doorman.approvals.store import Requester, WithheldCall
from doorman.approvals.stream import StreamWithholder, withhold_stream
from doorman.approvals.withhold import APPROVAL_HEADER, withhold_answer
from doorman.errors import DoormanError, ServiceUnavailable
from doorman.exchange import Exchange
from doorman.tool_policy import ToolPolicy

if TYPE_CHECKING:
    from doorman.server.state import Gateway

FLAG = "approval_requested"


def approval_policy(ex: Exchange) -> ToolPolicy | None:
    """The tier's tool policy when some calls need approval, else None (nothing to inspect)."""
    policy = ex.tier.tools if ex.tier is not None else None
    return policy if policy is not None and policy.require_approval else None


def _requester(ex: Exchange) -> Requester:
    assert ex.principal is not None
    return Requester(
        user_id=ex.principal.user_id,
        key_id=ex.principal.key_id,
        tier=ex.tier_name or None,
        model=ex.model or None,
        request_id=ex.request_id,
        wire=ex.wire,
    )


async def _record(gw: Gateway, ex: Exchange, calls: Sequence[WithheldCall]) -> None:
    try:
        await gw.approvals.record(calls, _requester(ex))
        gw.metrics.tool_approvals.labels("requested").inc(len(calls))
    except Exception as exc:  # fail closed: the call stays withheld, the caller is told
        raise ServiceUnavailable(
            "A tool call needs approval but the approval could not be recorded; the call was "
            "not released. Try again later.",
            code="approval_store_unavailable",
        ) from exc


def _note(ex: Exchange, approval_id: str) -> None:
    ex.approval_ids.append(approval_id)
    if FLAG not in ex.flags:
        ex.flags.append(FLAG)


async def withhold_full(gw: Gateway, ex: Exchange, parsed: dict[str, Any]) -> bool:
    """Withhold calls in a full answer (rewritten in place); True when it changed."""
    policy = approval_policy(ex)
    if policy is None:
        return False
    calls = withhold_answer(parsed, ex.wire, policy)
    if not calls:
        return False
    await _record(gw, ex, calls)
    for call in calls:
        _note(ex, call.id)
    return True


def withhold_relay(gw: Gateway, ex: Exchange, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``stream`` with calls needing approval withheld (unchanged when none can)."""
    policy = approval_policy(ex)
    if policy is None:
        return stream

    async def record(calls: Sequence[WithheldCall]) -> None:
        await _record(gw, ex, calls)

    def failed(exc: DoormanError) -> None:
        ex.error_code = exc.code

    withholder = StreamWithholder(ex.wire, policy, record, lambda aid: _note(ex, aid))
    return withhold_stream(stream, withholder, failed)


def approval_headers(ex: Exchange) -> dict[str, str]:
    return {APPROVAL_HEADER: ", ".join(ex.approval_ids)} if ex.approval_ids else {}
