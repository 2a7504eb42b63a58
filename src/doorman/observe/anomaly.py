"""Per-user anomaly detection over EWMA baselines: requests/hour, tokens/request, cost/day.

Each request only touches memory (counters of the open hour and local day); a bucket's value
joins the user's baseline when the bucket closes, so a spike never inflates the baseline it is
measured against. Baselines are saved every ``flush_interval_s`` and on close, so they survive
restarts. A new user is measured against a generous prior until it has ``warmup_samples`` of
its own history: no false spike on the first busy hour.

Baselines are kept per replica and saved last-writer-wins: behind a load balancer each replica
sees a similar share of a user's traffic, so ratios still hold. Anomaly events carry a dedupe key
per (user, metric, bucket), so one spike alerts once even when several replicas see it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.config import TierSettings
from doorman.ledger.models import AnomalyBaseline
from doorman.ledger.row import LedgerRow
from doorman.observe.alerts import AlertSink, Severity
from doorman.observe.settings import AnomalySettings


class SuspendHook(Protocol):
    """``suspend_user(user_id, reason=...)``: ``KeyService.suspend_user`` fits (audit-logged)."""

    def __call__(self, user_id: str, *, reason: str) -> Awaitable[Any]: ...

log = structlog.get_logger("doorman.anomaly")

EVICT_IDLE_HOURS = 48

REQUESTS = "requests_per_hour"
TOKENS = "tokens_per_request"
COST = "cost_per_day"


@dataclass(slots=True)
class Baseline:
    """An EWMA; ``samples`` counts closed buckets folded in.

    It holds the prior until the first bucket closes; the first sample replaces the prior
    (during warm-up the prior still acts as a floor, see ``AnomalyDetector._effective``).
    """

    value: float
    samples: int = 0

    def update(self, x: float, alpha: float) -> None:
        self.value = x if self.samples == 0 else alpha * x + (1 - alpha) * self.value
        self.samples += 1


@dataclass(slots=True)
class UserState:
    tier: str | None
    requests: Baseline
    tokens: Baseline
    cost: Baseline
    hour: int = -1
    hour_requests: int = 0
    hour_tokens: int = 0
    day: str = ""
    day_cost: float = 0.0
    alerted: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": [self.requests.value, self.requests.samples],
            "tokens": [self.tokens.value, self.tokens.samples],
            "cost": [self.cost.value, self.cost.samples],
            "hour": self.hour,
            "hour_requests": self.hour_requests,
            "hour_tokens": self.hour_tokens,
            "day": self.day,
            "day_cost": self.day_cost,
            "alerted": sorted(self.alerted),
        }

    @classmethod
    def from_json(cls, tier: str | None, data: Mapping[str, Any]) -> UserState:
        return cls(
            tier=tier,
            requests=Baseline(*data["requests"]),
            tokens=Baseline(*data["tokens"]),
            cost=Baseline(*data["cost"]),
            hour=int(data.get("hour", -1)),
            hour_requests=int(data.get("hour_requests", 0)),
            hour_tokens=int(data.get("hour_tokens", 0)),
            day=str(data.get("day", "")),
            day_cost=float(data.get("day_cost", 0.0)),
            alerted=set(data.get("alerted", [])),
        )


@dataclass(slots=True)
class Anomaly:
    user_id: str
    tier: str | None
    metric: str
    observed: float
    baseline: float
    ratio: float
    severity: Severity
    action: str
    bucket: str


class AnomalyDetector:
    """Feed it every settled request with ``await detector.observe(row)``."""

    def __init__(
        self,
        settings: AnomalySettings | None = None,
        *,
        engine: AsyncEngine | None = None,
        alerts: AlertSink | None = None,
        tiers: Mapping[str, TierSettings] | None = None,
        suspend_user: SuspendHook | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        self.settings = settings or AnomalySettings()
        self.engine = engine
        self.alerts = alerts
        self.tiers = dict(tiers or {})
        self.suspend_user = suspend_user
        self.zone = zone
        self.users: dict[str, UserState] = {}
        self._dirty: set[str] = set()
        self._quarter = -1  # the quarter hour (UTC) whose local date ``_quarter_day`` is
        self._quarter_day = ""
        self._flusher: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Load saved baselines and start the periodic flush."""
        await self.load()
        if self._flusher is None and self.engine is not None:
            self._flusher = asyncio.create_task(self._flush_periodically(), name="doorman-anomaly")

    async def close(self) -> None:
        task, self._flusher = self._flusher, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def load(self) -> None:
        if self.engine is None:
            return
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(AnomalyBaseline))).all()
        for r in rows:
            if r.user_id in self.users:
                continue
            try:
                self.users[r.user_id] = UserState.from_json(r.tier, r.state)
            except (KeyError, TypeError, ValueError):
                log.warning("ignoring unreadable anomaly baseline", user_id=r.user_id)

    async def flush(self) -> int:
        """Save the baselines of users seen since the last flush; returns how many."""
        if self.engine is None or not self._dirty:
            return 0
        dirty, self._dirty = self._dirty, set()
        now = datetime.now(UTC)
        rows = [
            {"user_id": u, "tier": self.users[u].tier, "state": self.users[u].to_json(),
             "updated_at": now}
            for u in dirty if u in self.users
        ]  # fmt: skip
        upsert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = upsert(AnomalyBaseline)
        stmt = stmt.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"tier": stmt.excluded.tier, "state": stmt.excluded.state,
                  "updated_at": stmt.excluded.updated_at},
        )  # fmt: skip
        try:
            async with self.engine.begin() as conn:
                await conn.execute(stmt, rows)
        except Exception:
            self._dirty |= dirty  # try again next time
            raise
        self._evict_idle()
        return len(rows)

    def _evict_idle(self) -> None:
        """Forget users idle for two days (they are saved; ``observe`` reloads them)."""
        horizon = int(datetime.now(UTC).timestamp() // 3600) - EVICT_IDLE_HOURS
        for user_id in [u for u, st in self.users.items() if st.hour < horizon]:
            if user_id not in self._dirty:
                del self.users[user_id]

    async def _load_one(self, user_id: str) -> UserState | None:
        if self.engine is None:
            return None
        try:
            async with self.engine.connect() as conn:
                r = (
                    await conn.execute(
                        select(AnomalyBaseline).where(AnomalyBaseline.user_id == user_id)
                    )
                ).first()
            return UserState.from_json(r.tier, r.state) if r is not None else None
        except Exception:
            log.warning("anomaly baseline not loaded", user_id=user_id, exc_info=True)
            return None

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.settings.flush_interval_s)
            try:
                await self.flush()
            except Exception:
                log.exception("anomaly baselines not saved")

    # --- per request ----------------------------------------------------------------------
    def _new_user(self, tier: str | None) -> UserState:
        s = self.settings
        return UserState(
            tier=tier,
            requests=Baseline(s.prior_requests_per_hour),
            tokens=Baseline(s.prior_tokens_per_request),
            cost=Baseline(s.prior_cost_per_day_usd),
        )

    def _local_day(self, ts: datetime, quarter: int) -> str:
        """The local date of ``ts``, converted once per quarter hour: every time zone's offset
        and every change of it fall on a quarter hour, so the whole quarter shares a date."""
        if quarter != self._quarter:
            self._quarter_day = ts.astimezone(self.zone).date().isoformat()
            self._quarter = quarter
        return self._quarter_day

    def _effective(self, baseline: Baseline, prior: float, floor: float) -> float:
        if baseline.samples < self.settings.warmup_samples:
            return max(baseline.value, prior)
        return max(baseline.value, floor)

    async def observe(self, row: LedgerRow) -> list[Anomaly]:
        """Count one request; returns (and acts on) the anomalies it revealed."""
        s = self.settings
        if not s.enabled or row.user_id is None:
            return []
        user_id = row.user_id
        state = self.users.get(user_id)
        if state is None:
            loaded = await self._load_one(user_id)
            # Re-check: another request of this user may have created it meanwhile.
            state = self.users.get(user_id) or loaded or self._new_user(row.tier)
            self.users[user_id] = state
        if row.tier:
            state.tier = row.tier
        self._dirty.add(user_id)
        ts = row.ts if row.ts.tzinfo else row.ts.replace(tzinfo=UTC)
        seconds = ts.timestamp()
        hour = int(seconds // 3600)
        day = self._local_day(ts, int(seconds // 900))
        if hour != state.hour:
            if hour < state.hour:  # a late row of an already closed hour: baseline only
                return []
            self._close_hour(state)
            state.hour = hour
        if day != state.day:
            if state.day and day < state.day:
                return []
            self._close_day(state)
            state.day = day

        state.hour_requests += 1
        state.hour_tokens += row.input_tokens + row.output_tokens
        state.day_cost += row.cost_usd

        found: list[Anomaly] = []
        rph = self._effective(state.requests, s.prior_requests_per_hour, s.min_requests_per_hour)
        self._check(found, user_id, state, REQUESTS, state.hour_requests, rph,
                    s.requests_multiple, str(hour))  # fmt: skip
        if state.hour_requests >= s.min_requests_for_tokens:
            tpr = self._effective(
                state.tokens, s.prior_tokens_per_request, s.min_tokens_per_request
            )
            self._check(found, user_id, state, TOKENS, state.hour_tokens / state.hour_requests,
                        tpr, s.tokens_per_request_multiple, str(hour))  # fmt: skip
        cpd = self._effective(state.cost, s.prior_cost_per_day_usd, s.min_cost_per_day_usd)
        self._check(found, user_id, state, COST, state.day_cost, cpd, s.cost_multiple, day)
        for anomaly in found:
            await self._act(anomaly)
        return found

    def _close_hour(self, state: UserState) -> None:
        alpha = self.settings.ewma_alpha
        if state.hour_requests > 0:
            state.requests.update(state.hour_requests, alpha)
            state.tokens.update(state.hour_tokens / state.hour_requests, alpha)
        state.hour_requests = state.hour_tokens = 0
        state.alerted = {a for a in state.alerted if not a.startswith(("requests", "tokens"))}

    def _close_day(self, state: UserState) -> None:
        if state.day_cost > 0:
            state.cost.update(state.day_cost, self.settings.ewma_alpha)
        state.day_cost = 0.0
        state.alerted = {a for a in state.alerted if not a.startswith("cost")}

    def _check(
        self,
        found: list[Anomaly],
        user_id: str,
        state: UserState,
        metric: str,
        observed: float,
        baseline: float,
        multiple: float,
        bucket: str,
    ) -> None:
        if baseline <= 0 or observed <= multiple * baseline:
            return
        key = f"{metric}:{bucket}"
        if key in state.alerted:
            return
        state.alerted.add(key)
        ratio = observed / baseline
        tier = self.tiers.get(state.tier or "")
        action = tier.anomaly_action if tier is not None else "alert"
        critical = action == "suspend" or ratio >= 2 * multiple
        severity: Severity = "critical" if critical else "warning"
        found.append(
            Anomaly(user_id, state.tier, metric, round(observed, 6), round(baseline, 6),
                    round(ratio, 2), severity, action, bucket)
        )  # fmt: skip

    async def _act(self, a: Anomaly) -> None:
        message = (
            f"user {a.user_id}: {a.metric.replace('_', ' ')} is {a.ratio:g}x its baseline "
            f"({a.observed:g} vs {a.baseline:g})"
        )
        if self.alerts is not None:
            event = await self.alerts.emit(
                "anomaly", a.severity, message, user_id=a.user_id,
                dedupe_key=f"anomaly:{a.user_id}:{a.metric}:{a.bucket}",
                tier=a.tier, metric=a.metric, observed=a.observed, baseline=a.baseline,
                ratio=a.ratio, action=a.action,
            )  # fmt: skip
            if event is None:  # another replica already raised (and acted on) this spike
                return
        else:
            log.warning("anomaly", user_id=a.user_id, metric=a.metric, ratio=a.ratio)
        if a.action == "suspend" and self.suspend_user is not None:
            try:
                await self.suspend_user(a.user_id, reason=f"anomaly: {message}")
            except Exception:
                log.exception("could not suspend user after anomaly", user_id=a.user_id)
