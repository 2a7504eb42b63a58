"""Spend reports and budget status, computed from the insert-only ledger.

Calendar days and months are those of the configured time zone. Grouping by day is done in
15-minute UTC buckets in SQL (every real zone offset is a multiple of 15 minutes, DST included)
and folded into local days here, so both SQLite and PostgreSQL give the same answer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, delete, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.config import TierSettings
from doorman.ledger.models import LedgerEntry as L
from doorman.ledger.row import COLUMNS

GroupBy = Literal["user", "model", "task", "day", "key"]
GROUPS: tuple[str, ...] = ("user", "model", "task", "day", "key")
_BUCKET_S = 900
_PERCENTILE_SAMPLE = 20_000


@dataclass(slots=True)
class SpendRow:
    """One line of a spend report; ``group`` is None for rows without that label."""

    group: str | None
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0
    saved_usd: float = 0.0  # what the cache hits would have cost

    @property
    def cache_hit_rate(self) -> float:
        return self.cache_hits / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = micro_dollars(asdict(self))
        data["cache_hit_rate"] = self.cache_hit_rate
        return data


@dataclass(slots=True)
class BudgetStatus:
    """A user's spend in the current local day and month against its tier's budgets."""

    user_id: str
    tier: str | None
    spent_today_usd: float
    spent_month_usd: float
    daily_budget_usd: float | None
    monthly_budget_usd: float | None
    daily_remaining_usd: float | None = field(init=False)
    monthly_remaining_usd: float | None = field(init=False)

    def __post_init__(self) -> None:
        self.daily_remaining_usd = _remaining(self.daily_budget_usd, self.spent_today_usd)
        self.monthly_remaining_usd = _remaining(self.monthly_budget_usd, self.spent_month_usd)

    def as_dict(self) -> dict[str, Any]:
        return micro_dollars(asdict(self))


@dataclass(slots=True)
class Totals:
    """Headline numbers for ``/admin/stats``."""

    since: datetime
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cache_hits: int
    cache_hit_rate: float
    saved_usd: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    latency_ms_p99: float | None
    ttft_ms_p50: float | None
    ttft_ms_p95: float | None

    def as_dict(self) -> dict[str, Any]:
        data = micro_dollars(asdict(self))
        data["since"] = self.since.isoformat()
        return data


def micro_dollars(data: dict[str, Any]) -> dict[str, Any]:
    """Dollar fields (``*_usd``) rounded to the micro-dollar: sums of float costs carry noise
    like 0.0005512000000000002 that no bill has, and JSON readers would print it."""
    for name, value in data.items():
        if name.endswith("_usd") and isinstance(value, float):
            data[name] = round(value, 6)
    return data


def _remaining(budget: float | None, spent: float) -> float | None:
    return None if budget is None else max(0.0, budget - spent)


def day_start(now: datetime, zone: tzinfo) -> datetime:
    """Start (as UTC) of the local calendar day holding ``now``."""
    local = now.astimezone(zone)
    return _local_midnight(local.date(), zone)


def month_start(now: datetime, zone: tzinfo) -> datetime:
    local = now.astimezone(zone)
    return _local_midnight(local.date().replace(day=1), zone)


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def window_start(days: int, zone: tzinfo, now: datetime | None = None) -> datetime:
    """Start of a window of ``days`` local calendar days ending today (days=1: today)."""
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).date()
    return _local_midnight(today - timedelta(days=max(1, days) - 1), zone)


def _group_column(by: str) -> Any:
    if by == "user":
        return L.user_id
    if by == "model":
        return func.coalesce(L.served_model, L.requested_model)
    if by == "task":
        return L.task
    if by == "key":
        return L.key_id
    raise ValueError(f"unknown grouping '{by}' (one of {', '.join(GROUPS)})")


def _bucket(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return literal_column(f"CAST(strftime('%s', ledger.ts) AS INTEGER) / {_BUCKET_S}")
    return literal_column(f"CAST(floor(extract(epoch from ledger.ts) / {_BUCKET_S}) AS BIGINT)")


def _measures() -> list[ColumnElement[Any]]:
    return [
        func.count().label("requests"),
        func.coalesce(func.sum(case((L.status >= 400, 1), else_=0)), 0).label("errors"),
        func.coalesce(func.sum(L.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(L.output_tokens), 0).label("output_tokens"),
        func.coalesce(func.sum(L.cached_tokens), 0).label("cached_tokens"),
        func.coalesce(func.sum(L.cost_usd), 0.0).label("cost_usd"),
        func.coalesce(func.sum(case((L.cache_hit.is_(True), 1), else_=0)), 0).label("cache_hits"),
        func.coalesce(func.sum(L.saved_usd), 0.0).label("saved_usd"),
    ]


async def spend(
    engine: AsyncEngine,
    *,
    by: str = "user",
    days: int = 7,
    user: str | None = None,
    zone: tzinfo = UTC,
    now: datetime | None = None,
) -> list[SpendRow]:
    """Spend over the last ``days`` local days grouped by user, model, task, key or day.

    Ordered by cost (highest first), or chronologically for ``by="day"``.
    """
    since = window_start(days, zone, now)
    key: Any = _bucket(engine.dialect.name) if by == "day" else _group_column(by)
    stmt = select(key.label("g"), *_measures()).where(L.ts >= since)
    if user is not None:
        stmt = stmt.where(L.user_id == user)
    stmt = stmt.group_by(key)
    async with engine.connect() as conn:
        result = (await conn.execute(stmt)).all()
    if by != "day":
        rows = [_spend_row(r.g, r) for r in result]
        rows.sort(key=lambda r: (-r.cost_usd, -r.requests, r.group or ""))
        return rows
    per_day: dict[str, SpendRow] = {}
    for r in result:
        local_day = datetime.fromtimestamp(int(r.g) * _BUCKET_S, UTC).astimezone(zone).date()
        label = local_day.isoformat()
        acc = per_day.setdefault(label, SpendRow(label))
        _add(acc, r)
    return [per_day[k] for k in sorted(per_day)]


def _spend_row(group: Any, r: Any) -> SpendRow:
    row = SpendRow(None if group is None else str(group))
    _add(row, r)
    return row


def _add(acc: SpendRow, r: Any) -> None:
    acc.requests += int(r.requests)
    acc.errors += int(r.errors)
    acc.input_tokens += int(r.input_tokens)
    acc.output_tokens += int(r.output_tokens)
    acc.cached_tokens += int(r.cached_tokens)
    acc.cost_usd += float(r.cost_usd)
    acc.cache_hits += int(r.cache_hits)
    acc.saved_usd += float(r.saved_usd)


async def user_spend(
    engine: AsyncEngine, user_id: str, *, zone: tzinfo = UTC, now: datetime | None = None
) -> tuple[float, float]:
    """(spent today, spent this month) in USD for one user — uses the (user_id, ts) index."""
    now = now or datetime.now(UTC)
    d0, m0 = day_start(now, zone), month_start(now, zone)
    stmt = select(
        func.coalesce(func.sum(case((L.ts >= d0, L.cost_usd), else_=0.0)), 0.0),
        func.coalesce(func.sum(L.cost_usd), 0.0),
    ).where(L.user_id == user_id, L.ts >= m0)
    async with engine.connect() as conn:
        today, month = (await conn.execute(stmt)).one()
    return float(today), float(month)


async def budgets(
    engine: AsyncEngine,
    tiers: Mapping[str, TierSettings],
    *,
    zone: tzinfo = UTC,
    user: str | None = None,
    now: datetime | None = None,
) -> list[BudgetStatus]:
    """Remaining daily and monthly budget of every user who spent this month.

    A user's tier is the one on its most recent ledger row.
    """
    now = now or datetime.now(UTC)
    d0, m0 = day_start(now, zone), month_start(now, zone)
    stmt = (
        select(
            L.user_id,
            L.tier,
            func.coalesce(func.sum(case((L.ts >= d0, L.cost_usd), else_=0.0)), 0.0).label("today"),
            func.coalesce(func.sum(L.cost_usd), 0.0).label("month"),
            func.max(L.ts).label("last"),
        )
        .where(L.ts >= m0, L.user_id.is_not(None))
        .group_by(L.user_id, L.tier)
    )
    if user is not None:
        stmt = stmt.where(L.user_id == user)
    async with engine.connect() as conn:
        result = (await conn.execute(stmt)).all()
    merged: dict[str, dict[str, Any]] = {}
    for r in result:
        last = _as_utc(r.last)
        acc = merged.setdefault(
            r.user_id, {"tier": r.tier, "last": last, "today": 0.0, "month": 0.0}
        )
        acc["today"] += float(r.today)
        acc["month"] += float(r.month)
        if last is not None and (acc["last"] is None or last > acc["last"]):
            acc["tier"], acc["last"] = r.tier, last
    statuses = []
    for user_id in sorted(merged):
        acc = merged[user_id]
        tier = tiers.get(acc["tier"]) if acc["tier"] else None
        statuses.append(
            BudgetStatus(
                user_id=user_id,
                tier=acc["tier"],
                spent_today_usd=acc["today"],
                spent_month_usd=acc["month"],
                daily_budget_usd=tier.daily_budget_usd if tier else None,
                monthly_budget_usd=tier.monthly_budget_usd if tier else None,
            )
        )
    return statuses


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite max() of a datetime column comes back as text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def totals(
    engine: AsyncEngine,
    *,
    days: int = 1,
    user: str | None = None,
    zone: tzinfo = UTC,
    now: datetime | None = None,
) -> Totals:
    """Totals over the last ``days`` local days; latency percentiles from the newest rows."""
    since = window_start(days, zone, now)
    where = [L.ts >= since]
    if user is not None:
        where.append(L.user_id == user)
    agg = select(*_measures()).where(*where)
    sample = (
        select(L.latency_ms, L.ttft_ms)
        .where(*where)
        .order_by(L.ts.desc())
        .limit(_PERCENTILE_SAMPLE)
    )
    async with engine.connect() as conn:
        r = (await conn.execute(agg)).one()
        lat_rows = (await conn.execute(sample)).all()
    latencies = sorted(float(x.latency_ms) for x in lat_rows)
    ttfts = sorted(float(x.ttft_ms) for x in lat_rows if x.ttft_ms is not None)
    requests = int(r.requests)
    return Totals(
        since=since,
        requests=requests,
        errors=int(r.errors),
        input_tokens=int(r.input_tokens),
        output_tokens=int(r.output_tokens),
        cost_usd=float(r.cost_usd),
        cache_hits=int(r.cache_hits),
        cache_hit_rate=(int(r.cache_hits) / requests) if requests else 0.0,
        saved_usd=float(r.saved_usd),
        latency_ms_p50=_percentile(latencies, 0.50),
        latency_ms_p95=_percentile(latencies, 0.95),
        latency_ms_p99=_percentile(latencies, 0.99),
        ttft_ms_p50=_percentile(ttfts, 0.50),
        ttft_ms_p95=_percentile(ttfts, 0.95),
    )


async def iter_rows(
    engine: AsyncEngine,
    *,
    since: datetime | None = None,
    user: str | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Every ledger row (oldest first) as a column -> value mapping, streamed."""
    columns = [getattr(L, name) for name in COLUMNS]
    stmt = select(*columns).order_by(L.ts, L.id)
    if since is not None:
        stmt = stmt.where(L.ts >= since)
    if user is not None:
        stmt = stmt.where(L.user_id == user)
    async with engine.connect() as conn:
        result = await conn.stream(stmt.execution_options(yield_per=1000))
        async for row in result:
            yield dict(zip(COLUMNS, row, strict=True))


async def count_rows(
    engine: AsyncEngine, *, since: datetime | None = None, user: str | None = None
) -> int:
    """How many rows :func:`iter_rows` would yield (for a progress bar)."""
    stmt = select(func.count()).select_from(L)
    if since is not None:
        stmt = stmt.where(L.ts >= since)
    if user is not None:
        stmt = stmt.where(L.user_id == user)
    async with engine.connect() as conn:
        return int(await conn.scalar(stmt) or 0)


async def prune(engine: AsyncEngine, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete rows older than ``older_than``; returns how many were deleted."""
    cutoff = (now or datetime.now(UTC)) - older_than
    async with engine.begin() as conn:
        result = await conn.execute(delete(L).where(L.ts < cutoff))
    return int(result.rowcount or 0)


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")
_AGE_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "min": 60}


def parse_age(text: str) -> timedelta:
    """'90d', '12h', '30min', '2w' -> timedelta; a missing or ambiguous unit is refused.

    ``m`` could be minutes or months and a bare number anything, so neither is guessed: a
    prune that reads '3m' as three minutes deletes almost every row. Seconds are refused too:
    no retention policy is counted in seconds, so ``10s`` is a typo.
    """
    match = _AGE.match(text.lower())
    if match is None:
        raise ValueError(f"not an age: '{text}'; use a number and a unit: 90d, 12h, 30min, 2w")
    amount, unit = float(match.group(1)), match.group(2)
    if unit == "m":
        raise ValueError(
            f"'{text}' is ambiguous (minutes or months?); write {match.group(1)}min for minutes "
            f"or {int(amount * 30)}d for about {match.group(1)} months"
        )
    if unit not in _AGE_UNITS:
        raise ValueError(
            f"unknown unit '{unit}' in '{text}'; use w, d, h or min (e.g. 90d, 12h, 30min)"
        )
    if amount <= 0:
        raise ValueError(f"the age must be positive: '{text}'")
    return timedelta(seconds=amount * _AGE_UNITS[unit])


async def count_older(engine: AsyncEngine, cutoff: datetime) -> tuple[int, datetime | None]:
    """How many rows are older than ``cutoff``, and the oldest one's time (what prune deletes)."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(func.count(), func.min(L.ts)).where(L.ts < cutoff))).one()
    return int(row[0] or 0), row[1]
