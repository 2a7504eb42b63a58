"""Time series and window summaries of the ledger, for the console's overview and screening pages.

Windows are rolling (the last hour, 24 hours or 30 days) and cut into fixed UTC buckets of a
minute, an hour or a day, computed in SQL the same way on SQLite and PostgreSQL. Everything
here reads the insert-only ledger: the console shows what ``/admin/usage`` shows, sliced
differently, never a second set of numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.ledger.models import LedgerEntry as L

Window = Literal["hour", "day", "month"]
SeriesBy = Literal["model", "tier"]
# window -> (bucket seconds, bucket count)
WINDOWS: dict[str, tuple[int, int]] = {"hour": (60, 60), "day": (3600, 24), "month": (86400, 30)}
SERIES_BY: tuple[str, ...] = ("model", "tier")
# Refusals by the input screen (doorman.screen.screener), and the flags it sets; everything
# else in ``flags`` (fallback, stream_incomplete, ...) is not screening.
SCREEN_ERROR_CODES = (
    "prompt_injection_detected", "sensitive_data_detected", "unscreenable_content",
    "screening_unavailable",
)  # fmt: skip
SCREEN_FLAG_SUFFIXES = (
    "prompt_injection", "_detected", "_redacted", "screening_error", "unscreenable_content",
)  # fmt: skip
_LATENCY_SAMPLE = 20_000
_MEASURES = ("requests", "errors", "input_tokens", "output_tokens", "cost_usd", "cache_hits")


def _bucket(dialect: str, seconds: int) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return literal_column(f"CAST(strftime('%s', ledger.ts) AS INTEGER) / {int(seconds)}")
    return literal_column(f"CAST(floor(extract(epoch from ledger.ts) / {int(seconds)}) AS BIGINT)")


def _group(by: str) -> ColumnElement[Any]:
    if by == "model":
        return func.coalesce(L.served_model, L.requested_model)
    if by == "tier":
        return L.tier  # type: ignore[return-value]
    raise ValueError(f"unknown series grouping '{by}' (one of {', '.join(SERIES_BY)})")


def window_bounds(window: str, now: datetime | None = None) -> tuple[int, int, int]:
    """(bucket seconds, first bucket index, bucket count) of a rolling window ending now."""
    seconds, count = WINDOWS[window]
    now_s = int((now or datetime.now(UTC)).timestamp())
    last = now_s // seconds
    return seconds, last - count + 1, count


@dataclass(slots=True)
class Series:
    """One line of a chart: a model or tier and its per-bucket measures."""

    group: str | None
    requests: list[int]
    errors: list[int]
    input_tokens: list[int]
    output_tokens: list[int]
    cost_usd: list[float]
    cache_hits: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            **{name: getattr(self, name) for name in _MEASURES},
            "total_cost_usd": sum(self.cost_usd),
            "total_requests": sum(self.requests),
            "total_tokens": sum(self.input_tokens) + sum(self.output_tokens),
        }


async def series(
    engine: AsyncEngine, *, window: str = "day", by: str = "model", now: datetime | None = None
) -> tuple[list[int], list[Series]]:
    """(bucket start times in unix seconds, one series per group, most expensive first)."""
    seconds, first, count = window_bounds(window, now)
    since = datetime.fromtimestamp(first * seconds, UTC)
    bucket = _bucket(engine.dialect.name, seconds)
    group = _group(by)
    stmt = (
        select(
            bucket.label("b"),
            group.label("g"),
            func.count().label("requests"),
            func.coalesce(func.sum(case((L.status >= 400, 1), else_=0)), 0).label("errors"),
            func.coalesce(func.sum(L.input_tokens), 0).label("input_tokens"),
            func.coalesce(func.sum(L.output_tokens), 0).label("output_tokens"),
            func.coalesce(func.sum(L.cost_usd), 0.0).label("cost_usd"),
            func.coalesce(func.sum(case((L.cache_hit.is_(True), 1), else_=0)), 0).label(
                "cache_hits"
            ),
        )
        .where(L.ts >= since)
        .group_by(bucket, group)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    by_group: dict[str | None, Series] = {}
    for r in rows:
        index = int(r.b) - first
        if not 0 <= index < count:
            continue  # a row stamped in the future (clock skew between replicas)
        name = None if r.g is None else str(r.g)
        line = by_group.get(name)
        if line is None:
            line = Series(name, [0] * count, [0] * count, [0] * count, [0] * count,
                          [0.0] * count, [0] * count)  # fmt: skip
            by_group[name] = line
        line.requests[index] += int(r.requests)
        line.errors[index] += int(r.errors)
        line.input_tokens[index] += int(r.input_tokens)
        line.output_tokens[index] += int(r.output_tokens)
        line.cost_usd[index] += float(r.cost_usd)
        line.cache_hits[index] += int(r.cache_hits)
    times = [(first + i) * seconds for i in range(count)]
    ordered = sorted(by_group.values(), key=lambda s: (-sum(s.cost_usd), s.group or ""))
    return times, ordered


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return round(values[index], 3)


async def summary(
    engine: AsyncEngine, *, window: str = "day", now: datetime | None = None
) -> dict[str, Any]:
    """Error rate, cache hit rate (and dollars saved when the ledger records them), and
    p50/p99 of the latency the gateway adds and of the upstream's, over a rolling window."""
    seconds, first, _count = window_bounds(window, now)
    since = datetime.fromtimestamp(first * seconds, UTC)
    saved = getattr(L, "saved_usd", None)  # the cache's column, once it exists
    measures: list[ColumnElement[Any]] = [
        func.count().label("requests"),
        func.coalesce(func.sum(case((L.status >= 400, 1), else_=0)), 0).label("errors"),
        func.coalesce(func.sum(case((L.cache_hit.is_(True), 1), else_=0)), 0).label("hits"),
        func.coalesce(func.sum(L.cost_usd), 0.0).label("cost"),
    ]
    if saved is not None:
        measures.append(func.coalesce(func.sum(saved), 0.0).label("saved"))
    sample = (
        select(L.latency_ms, L.upstream_ms)
        .where(L.ts >= since)
        .order_by(L.ts.desc())
        .limit(_LATENCY_SAMPLE)
    )
    async with engine.connect() as conn:
        agg = (await conn.execute(select(*measures).where(L.ts >= since))).one()
        lat = (await conn.execute(sample)).all()
    upstream = sorted(float(r.upstream_ms) for r in lat if r.upstream_ms is not None)
    added = sorted(
        max(0.0, float(r.latency_ms) - float(r.upstream_ms or 0.0)) for r in lat
    )
    requests = int(agg.requests)
    return {
        "since": since.isoformat(),
        "requests": requests,
        "errors": int(agg.errors),
        "error_rate": int(agg.errors) / requests if requests else 0.0,
        "cost_usd": float(agg.cost),
        "cache_hits": int(agg.hits),
        "cache_hit_rate": int(agg.hits) / requests if requests else 0.0,
        "saved_usd": float(agg.saved) if saved is not None else None,
        "gateway_ms_p50": _percentile(added, 0.50),
        "gateway_ms_p99": _percentile(added, 0.99),
        "upstream_ms_p50": _percentile(upstream, 0.50),
        "upstream_ms_p99": _percentile(upstream, 0.99),
        "latency_sample": len(lat),
    }


def screening_flags(flags: str | None) -> list[str]:
    """The screening detectors named in a ledger row's ``flags`` (other flags dropped)."""
    if not flags:
        return []
    return [f for f in flags.split(",") if f.endswith(SCREEN_FLAG_SUFFIXES)]


async def screening(
    engine: AsyncEngine, *, window: str = "day", limit: int = 100, now: datetime | None = None
) -> dict[str, Any]:
    """Blocks and flags by detector and tier, and the newest screened requests.

    Only what the ledger holds: request ids, users, tiers, detector names and outcomes — never
    the prompt or the secret that was found (the ledger does not keep them).
    """
    seconds, first, _count = window_bounds(window, now)
    since = datetime.fromtimestamp(first * seconds, UTC)
    stmt = (
        select(L.request_id, L.ts, L.user_id, L.tier, L.status, L.error_code, L.flags)
        .where(L.ts >= since, L.flags.is_not(None))
        .order_by(L.ts.desc())
    )
    counts: dict[tuple[str, str | None], dict[str, int]] = {}
    events: list[dict[str, Any]] = []
    outcomes = {"blocked": 0, "flagged": 0}
    async with engine.connect() as conn:
        result = await conn.stream(stmt.execution_options(yield_per=1000))
        async for r in result:
            detectors = screening_flags(r.flags)
            if not detectors:
                continue
            blocked = r.error_code in SCREEN_ERROR_CODES
            outcomes["blocked" if blocked else "flagged"] += 1
            for detector in detectors:
                acc = counts.setdefault((detector, r.tier), {"blocked": 0, "flagged": 0})
                acc["blocked" if blocked else "flagged"] += 1
            if len(events) < limit:
                ts = r.ts if r.ts.tzinfo else r.ts.replace(tzinfo=UTC)
                events.append(
                    {
                        "request_id": r.request_id,
                        "ts": ts.isoformat(),
                        "user": r.user_id,
                        "tier": r.tier,
                        "outcome": "blocked" if blocked else "flagged",
                        "status": r.status,
                        "error_code": r.error_code,
                        "detectors": detectors,
                    }
                )
    rows = [
        {"detector": d, "tier": t, **c}
        for (d, t), c in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]
    return {
        "since": since.isoformat(),
        "by_detector": rows,
        "blocked_requests": outcomes["blocked"],
        "flagged_requests": outcomes["flagged"],
        "events": events,
    }


async def provider_activity(
    engine: AsyncEngine, *, window: str = "hour", limit: int = 50, now: datetime | None = None
) -> dict[str, Any]:
    """Per deployment: requests, upstream failures (5xx), retries and fallbacks served; and the
    newest failed or fallen-back requests."""
    seconds, first, _count = window_bounds(window, now)
    since = datetime.fromtimestamp(first * seconds, UTC)
    fell_back = L.flags.like("%fallback%")
    failed = L.status >= 500
    per = (
        select(
            L.provider,
            func.coalesce(L.served_model, L.requested_model).label("model"),
            func.count().label("requests"),
            func.coalesce(func.sum(case((failed, 1), else_=0)), 0).label("failures"),
            func.coalesce(func.sum(L.retries), 0).label("retries"),
            func.coalesce(func.sum(case((fell_back, 1), else_=0)), 0).label("fallbacks"),
        )
        .where(L.ts >= since, L.provider.is_not(None) | failed)  # sent upstream, or failed there
        .group_by(L.provider, func.coalesce(L.served_model, L.requested_model))
    )
    recent = (
        select(L.request_id, L.ts, L.requested_model, L.served_model, L.provider, L.status,
               L.error_code, L.retries, L.flags)
        .where(L.ts >= since, failed | fell_back)
        .order_by(L.ts.desc())
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(per)).all()
        events = (await conn.execute(recent)).all()
    return {
        "since": since.isoformat(),
        "deployments": [
            {
                "provider": r.provider,
                "model": r.model,
                "requests": int(r.requests),
                "failures": int(r.failures),
                "retries": int(r.retries),
                "fallbacks": int(r.fallbacks),
            }
            for r in sorted(rows, key=lambda r: (-int(r.requests), str(r.model)))
        ],
        "recent": [
            {
                "request_id": e.request_id,
                "ts": (e.ts if e.ts.tzinfo else e.ts.replace(tzinfo=UTC)).isoformat(),
                "requested_model": e.requested_model,
                "served_model": e.served_model,
                "provider": e.provider,
                "status": e.status,
                "error_code": e.error_code,
                "retries": e.retries,
                "fallback": "fallback" in (e.flags or "").split(","),
            }
            for e in events
        ],
    }
