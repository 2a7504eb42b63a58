"""After a request: settle its reservation, record its ledger row, measure it, log one line.

Kept apart from the stages because it runs on every path out of the pipeline — success,
refusal, upstream failure, end of stream, client disconnect — and must never raise.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from doorman.cost.prices import cost_usd, price_for
from doorman.exchange import Exchange
from doorman.ledger.row import LedgerRow
from doorman.observe.request_log import REQUEST_LOG

if TYPE_CHECKING:
    from doorman.server.state import Gateway

log = structlog.get_logger("doorman.request")


def _cost(gw: Gateway, ex: Exchange) -> float:
    served = ex.served.model if ex.served is not None else ex.model
    model = gw.settings.models.get(served)
    if model is None or ex.degraded:
        return 0.0
    if ex.audio is not None:  # transcriptions are billed by the second sent
        return ex.audio.cost_usd(ex.audio.sent_seconds)
    u = ex.usage
    return cost_usd(
        price_for(served, model), u.input_tokens, u.output_tokens, u.cached_tokens,
        u.cache_write_tokens,
    )  # fmt: skip


def _budget_spend(ex: Exchange, name: str) -> float | None:
    """Spend in the user's budget window after settlement, from the reservation's snapshot."""
    res = ex.reservation
    if res is None:
        return None
    for status in res.statuses:
        spec = status.spec
        if spec.scope.kind == "user" and spec.name == name:
            return max(0.0, spec.capacity - status.remaining - ex.reserved_usd + ex.cost_usd)
    return None


def build_row(ex: Exchange, gateway_ms: float) -> LedgerRow:
    p = ex.principal
    received, sent, saved = _audio_columns(ex)
    return LedgerRow(
        request_id=ex.request_id,
        key_id=p.key_id if p else None,
        user_id=p.user_id if p else None,
        tier=ex.tier_name or None,
        task=ex.task,
        requested_model=ex.requested_model or None,
        served_model=ex.served.model if ex.served else None,
        provider=ex.served.provider if ex.served else None,
        input_tokens=ex.usage.input_tokens,
        output_tokens=ex.usage.output_tokens,
        cached_tokens=ex.usage.cached_tokens,
        cache_write_tokens=ex.usage.cache_write_tokens,
        cost_usd=ex.cost_usd,
        reserved_usd=ex.reserved_usd,
        latency_ms=round(gateway_ms, 3),
        upstream_ms=round(ex.upstream_ms, 3) if ex.upstream_ms is not None else None,
        ttft_ms=round(ex.ttft_ms, 3) if ex.ttft_ms is not None else None,
        status=ex.status,
        error_code=ex.error_code,
        retries=ex.retries,
        cache_hit=ex.cache_hit,
        saved_usd=ex.saved_usd,
        degraded=ex.degraded,
        flags=",".join(dict.fromkeys(ex.flags)) or None,
        wire=ex.wire,
        stream=ex.stream or (ex.answer is not None and ex.answer.replay),
        audio_seconds_received=received,
        audio_seconds_sent=sent,
        audio_saved_usd=saved,
    )


def _note_shortfall(gw: Gateway, ex: Exchange) -> None:
    """Usage beyond the reservation is charged in full by the settle; say so loudly, since it
    means the counting model under-estimated what this provider bills."""
    if ex.reservation is None or ex.served is None:
        return
    over_tokens = ex.usage.total - (ex.input_tokens + ex.max_tokens)
    over_usd = ex.cost_usd - ex.reserved_usd
    if over_tokens <= 0 and over_usd <= 1e-9:
        return
    gw.metrics.observe_shortfall(ex.served.model, max(0, over_tokens), max(0.0, over_usd))
    log.warning(
        "reservation_shortfall",
        request_id=ex.request_id,
        model=ex.served.model,
        reserved_input_tokens=ex.input_tokens,
        reserved_output_tokens=ex.max_tokens,
        input_tokens=ex.usage.input_tokens,
        output_tokens=ex.usage.output_tokens,
        reserved_usd=round(ex.reserved_usd, 8),
        cost_usd=round(ex.cost_usd, 8),
    )


def _audio_columns(ex: Exchange) -> tuple[float | None, float | None, float | None]:
    """(seconds received, seconds sent, dollars saved by trimming) of a transcription."""
    job = ex.audio
    if job is None or job.received_seconds <= 0:
        return None, None, None
    sent = job.sent_seconds if ex.served is not None else 0.0
    saved = job.saved_usd if ex.served is not None or job.silent else 0.0
    return round(job.received_seconds, 3), round(sent, 3), saved


def _side_totals(ex: Exchange) -> tuple[int, int, float]:
    """(input tokens, output tokens, USD) of the request's extra calls (judges, retries)."""
    calls = ex.side_calls
    if not calls:
        return 0, 0, 0.0
    return (
        sum(c.input_tokens for c in calls),
        sum(c.output_tokens for c in calls),
        sum(c.cost_usd for c in calls),
    )


async def finish_exchange(gw: Gateway, ex: Exchange) -> None:
    if ex.served is not None or ex.degraded:
        ex.cost_usd = _cost(gw, ex)
        _note_shortfall(gw, ex)
    side_in, side_out, side_usd = _side_totals(ex)
    ex.cost_usd += side_usd  # judges and contract retries are billed under this request
    if ex.reservation is not None:
        try:
            tokens, usd = ex.usage.total + side_in + side_out, ex.cost_usd
            # Audio seconds are billed only when a provider was reached.
            audio = None
            if ex.audio is not None:
                audio = ex.audio.sent_seconds if ex.served is not None else 0.0
            if not gw.limiter.settle_nowait(
                ex.reservation, tokens=tokens, usd=usd, audio_seconds=audio
            ):
                # Shielded: a client disconnect cancels the stream, never the refund.
                await asyncio.shield(
                    gw.limiter.settle(ex.reservation, tokens=tokens, usd=usd, audio_seconds=audio)
                )
        except Exception as exc:  # the lease expires on its own; log and carry on
            log.error("settle_failed", request_id=ex.request_id, error=type(exc).__name__)
    gateway_ms = ex.elapsed_ms
    if ex.upstream_ms is not None:
        gateway_ms = max(0.0, gateway_ms - ex.upstream_ms)
    row = build_row(ex, ex.elapsed_ms)
    row.input_tokens += side_in
    row.output_tokens += side_out
    # Requests refused before authentication belong to nobody: they go to metrics and logs only.
    if ex.principal is not None:
        try:
            await asyncio.shield(gw.ledger.submit(row))
        except Exception as exc:
            log.error("ledger_write_failed", request_id=ex.request_id, error=type(exc).__name__)
    gw.metrics.observe_request(row, gateway_ms)
    if ex.status >= 400 and ex.error_code:
        gw.metrics.observe_rejection(ex.error_code)
    if ex.principal is not None and ex.tier is not None and ex.cost_usd > 0:
        today = _budget_spend(ex, "daily_budget_usd")
        month = _budget_spend(ex, "monthly_budget_usd")
        if today is not None or month is not None:
            try:
                await gw.alerts.check_budget(
                    ex.principal.user_id, ex.tier_name, today or 0.0, month or 0.0, ex.tier
                )
            except Exception as exc:
                log.error("budget_alert_failed", error=type(exc).__name__)
    if ex.principal is not None and gw.anomaly is not None and ex.status < 400:
        try:
            await gw.anomaly.observe(row)
        except Exception as exc:
            log.error("anomaly_check_failed", error=type(exc).__name__)
    REQUEST_LOG.emit({
        "request_id": ex.request_id,
        "key_id": row.key_id,
        "user": row.user_id,
        "model": ex.requested_model or None,
        "served_by": row.served_model,
        "status": ex.status,
        "error_code": ex.error_code,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cost_usd": round(ex.cost_usd, 8),
        "gateway_ms": round(gateway_ms, 2),
        "upstream_ms": row.upstream_ms,
        "attempts": ex.attempts,
        "stream": ex.stream,
        "flags": row.flags,
        "cache": getattr(ex.cache, "status", None),  # hit | miss | bypass | refresh, or None
    })  # fmt: skip
