"""Alerts: one event, fanned out to the structured log, a signed webhook and ``/admin/alerts``.

Why a background task: a webhook may be slow or down; it is retried with backoff from a
queue and never blocks a request. Why a unique ``dedupe_key`` column: a budget threshold
must fire exactly once per (user, threshold, period) even with several replicas and restarts —
only the replica whose INSERT wins sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import orjson
import structlog
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from doorman.config import TierSettings, read_secret
from doorman.ledger.models import AlertEventEntry
from doorman.observe.settings import AlertSettings

if TYPE_CHECKING:
    from doorman.observe.metrics import Metrics

Severity = Literal["info", "warning", "critical"]
SIGNATURE_HEADER = "X-Doorman-Signature"
TIMESTAMP_HEADER = "X-Doorman-Timestamp"

log = structlog.get_logger("doorman.alerts")


@dataclass(slots=True)
class AlertEvent:
    kind: str
    severity: Severity
    message: str
    user_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    dedupe_key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts.isoformat(),
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "user_id": self.user_id,
            "fields": self.fields,
        }

    def webhook_payload(self) -> dict[str, Any]:
        """Slack-compatible (``text``) plus the structured fields for other receivers."""
        return {"text": f"[doorman {self.severity}] {self.message}", **self.as_dict()}


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """Value of ``X-Doorman-Signature``: ``sha256=`` + hex HMAC-SHA256 of
    ``"<X-Doorman-Timestamp>." + raw body``. The timestamp is signed so a captured delivery
    cannot be replayed later with a fresh one."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    header: str | None,
    timestamp: str | None,
    *,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> bool:
    """For webhook receivers: constant-time check of ``X-Doorman-Signature`` over the body and
    ``X-Doorman-Timestamp``, refusing timestamps more than ``tolerance_s`` away from now."""
    if header is None or timestamp is None or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


class WebhookRejected(Exception):
    """The receiver answered 429/5xx: worth retrying."""


def _severity_for(threshold: float) -> Severity:
    if threshold >= 1.0:
        return "critical"
    return "warning" if threshold >= 0.8 else "info"


class AlertSink:
    """Fans alert events out to log, webhook and the ``alert_events`` table."""

    def __init__(
        self,
        settings: AlertSettings | None = None,
        engine: AsyncEngine | None = None,
        *,
        zone: tzinfo = UTC,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings or AlertSettings()
        self.engine = engine
        self.zone = zone
        self.metrics = metrics
        self._recent: deque[AlertEvent] = deque(maxlen=self.settings.recent_size)
        self._queue: asyncio.Queue[tuple[AlertEvent, bool]] = asyncio.Queue(
            self.settings.queue_size
        )
        self._fired: set[str] = set()
        self._worker: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._secret: str | None = None
        self.webhook_failures = 0

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self._worker is not None:
            return
        if self.settings.webhook_secret_env:
            self._secret = read_secret(self.settings.webhook_secret_env)
            if not self._secret:
                log.error(
                    "alert webhook secret missing; webhook disabled",
                    env=self.settings.webhook_secret_env,
                )
        self._worker = asyncio.create_task(self._run(), name="doorman-alerts")

    async def close(self, grace_s: float = 10.0) -> None:
        """Deliver what is queued (up to ``grace_s`` seconds), then stop."""
        worker, self._worker = self._worker, None
        if worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), grace_s)
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if self._sends:
            _done, pending = await asyncio.wait(set(self._sends), timeout=grace_s)
            for task in pending:
                task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- emitting -------------------------------------------------------------------------
    async def emit(
        self,
        kind: str,
        severity: Severity = "warning",
        message: str | None = None,
        *,
        user_id: str | None = None,
        dedupe_key: str | None = None,
        **fields: Any,
    ) -> AlertEvent | None:
        """Raise an alert. With ``dedupe_key`` it fires at most once ever (across replicas):
        returns None when it already fired. Returns without waiting for the webhook."""
        event = AlertEvent(
            kind=kind,
            severity=severity,
            message=message or kind.replace("_", " "),
            user_id=user_id,
            fields=_jsonable(fields),
            dedupe_key=dedupe_key,
        )
        persisted = False
        if dedupe_key is not None and self.engine is not None:
            if not await self._insert_once(event):
                return None
            persisted = True
        self._publish(event, persist=not persisted)
        return event

    def emit_nowait(
        self, kind: str, severity: Severity = "warning", message: str | None = None, **fields: Any
    ) -> AlertEvent:
        """Synchronous variant for code that cannot await (no ``dedupe_key`` support)."""
        user_id = fields.pop("user_id", None)
        event = AlertEvent(kind, severity, message or kind.replace("_", " "), user_id,
                           _jsonable(fields))  # fmt: skip
        self._publish(event, persist=True)
        return event

    def _publish(self, event: AlertEvent, *, persist: bool) -> None:
        level = {"info": "info", "warning": "warning", "critical": "error"}[event.severity]
        getattr(log, level)("alert", **event.as_dict())
        self._recent.append(event)
        if self.metrics is not None:
            self.metrics.observe_alert(event.kind, event.severity)
        try:
            self._queue.put_nowait((event, persist))
        except asyncio.QueueFull:
            log.error("alert queue full; alert not delivered", alert_id=event.id, kind=event.kind)

    async def _insert_once(self, event: AlertEvent) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING: True only for the one caller that won."""
        assert self.engine is not None
        dialect = self.engine.dialect.name
        upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            upsert(AlertEventEntry)
            .values(_row(event))
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(AlertEventEntry.id)
        )
        async with self.engine.begin() as conn:
            won = (await conn.execute(stmt)).first()
        return won is not None

    # --- budgets --------------------------------------------------------------------------
    async def check_budget(
        self,
        user_id: str,
        tier_name: str,
        spent_today: float,
        spent_month: float,
        tier: TierSettings,
        *,
        now: datetime | None = None,
    ) -> list[AlertEvent]:
        """Fire every threshold of the daily/monthly budget crossed for the first time.

        Cheap when nothing new is crossed (an in-memory set); the database is touched only
        the first time this process sees a (user, period, threshold) crossed.
        """
        fired: list[AlertEvent] = []
        first = min(self.settings.budget_thresholds, default=None)
        if first is None or not any(
            budget and budget > 0 and spent / budget >= first
            for spent, budget in (
                (spent_today, tier.daily_budget_usd),
                (spent_month, tier.monthly_budget_usd),
            )
        ):
            return fired  # the common case: no threshold reached, no clock or dates needed
        local = (now or datetime.now(UTC)).astimezone(self.zone)
        periods = (
            ("daily", spent_today, tier.daily_budget_usd, local.date().isoformat()),
            ("monthly", spent_month, tier.monthly_budget_usd, local.strftime("%Y-%m")),
        )
        for period, spent, budget, period_id in periods:
            if not budget or budget <= 0:
                continue
            ratio = spent / budget
            for threshold in self.settings.budget_thresholds:
                if ratio < threshold:
                    break
                key = f"budget:{user_id}:{period}:{period_id}:{threshold:g}"
                if key in self._fired:
                    continue
                self._remember(key)
                try:
                    event = await self.emit(
                        "budget",
                        _severity_for(threshold),
                        f"user {user_id} (tier {tier_name}) reached {threshold:.0%} of the "
                        f"{period} budget: ${spent:.4f} of ${budget:.4g}",
                        user_id=user_id,
                        dedupe_key=key,
                        tier=tier_name,
                        period=period,
                        period_id=period_id,
                        threshold=threshold,
                        spent_usd=round(spent, 6),
                        budget_usd=budget,
                    )
                except Exception:
                    self._fired.discard(key)  # database trouble: try again next time
                    log.exception("budget alert not recorded", user_id=user_id, key=key)
                    continue
                if event is not None:
                    fired.append(event)
        return fired

    def _remember(self, key: str) -> None:
        if len(self._fired) > 100_000:  # old periods; the table stays authoritative
            self._fired.clear()
        self._fired.add(key)

    # --- other well-known events ----------------------------------------------------------
    async def breaker_opened(self, deployment: str, reason: str | None = None) -> None:
        await self.emit(
            "breaker_open", "warning", f"circuit breaker opened for {deployment}",
            deployment=deployment, reason=reason,
        )  # fmt: skip

    # --- reading --------------------------------------------------------------------------
    async def recent(self, limit: int = 100, kind: str | None = None) -> list[AlertEvent]:
        """Newest first: the shared table (all replicas) plus what this one has not saved yet."""
        events = {e.id: e for e in self._recent if kind is None or e.kind == kind}
        if self.engine is not None:
            stmt = select(AlertEventEntry).order_by(AlertEventEntry.ts.desc()).limit(limit)
            if kind is not None:
                stmt = stmt.where(AlertEventEntry.kind == kind)
            async with self.engine.connect() as conn:
                for r in (await conn.execute(stmt)).all():
                    events.setdefault(
                        r.id,
                        AlertEvent(
                            kind=r.kind, severity=r.severity, message=r.message,
                            user_id=r.user_id, fields=dict(r.fields or {}), id=r.id, ts=r.ts,
                            dedupe_key=r.dedupe_key,
                        ),
                    )  # fmt: skip
        return sorted(events.values(), key=lambda e: e.ts, reverse=True)[:limit]

    # --- background delivery --------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            event, persist = await self._queue.get()
            try:
                if persist and self.engine is not None:
                    try:
                        async with self.engine.begin() as conn:
                            await conn.execute(insert(AlertEventEntry), [_row(event)])
                    except Exception:
                        log.exception("alert not saved", alert_id=event.id)
                if self.settings.webhook_url and (
                    self._secret or not self.settings.webhook_secret_env
                ):
                    task = asyncio.create_task(self._deliver(event))
                    self._sends.add(task)
                    task.add_done_callback(self._sends.discard)
            finally:
                self._queue.task_done()

    async def _deliver(self, event: AlertEvent) -> None:
        body = orjson.dumps(event.webhook_payload())
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body, stamp)
        s = self.settings
        retrying = AsyncRetrying(
            stop=stop_after_attempt(s.webhook_max_attempts),
            wait=wait_exponential(
                multiplier=s.webhook_backoff_initial_s, max=s.webhook_backoff_max_s
            ) + wait_random(0, s.webhook_backoff_initial_s),
            retry=retry_if_exception_type((aiohttp.ClientError, TimeoutError, WebhookRejected)),
            reraise=True,
        )  # fmt: skip
        try:
            async for attempt in retrying:
                with attempt:
                    await self._post(body, headers)
        except Exception as exc:
            self.webhook_failures += 1
            log.error("alert webhook failed", alert_id=event.id, error=str(exc))

    async def _post(self, body: bytes, headers: Mapping[str, str]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_s)
            )
        assert self.settings.webhook_url is not None
        async with self._session.post(
            self.settings.webhook_url, data=body, headers=dict(headers)
        ) as resp:
            if resp.status == 429 or resp.status >= 500:
                raise WebhookRejected(f"webhook answered {resp.status}")
            if resp.status >= 400:
                log.error("alert webhook refused the alert", status=resp.status)


def _row(event: AlertEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "ts": event.ts,
        "kind": event.kind,
        "severity": event.severity,
        "user_id": event.user_id,
        "message": event.message,
        "fields": event.fields,
        "dedupe_key": event.dedupe_key,
    }


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields go to JSON (webhook, table): keep them JSON-safe."""
    value: dict[str, Any] = orjson.loads(orjson.dumps(fields, default=str))
    return value
