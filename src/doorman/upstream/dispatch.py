"""Sending a request upstream: deployment order, breakers, pacing, queues and retries.

For each deployment of the model (the model, then its ``fallbacks`` in order) the dispatcher:

1. skips it at once when its circuit breaker is open (no waiting, no call);
2. waits for the provider's pacing (rate-limit headers seen earlier) when that fits;
3. takes a slot under the provider's ``max_concurrent`` cap (bounded queue -> ``upstream_busy``);
4. calls it; a retryable failure (429, 5xx, connection error, timeout before the first byte) is
   retried with full-jitter backoff — or after the upstream ``retry-after`` when that fits in
   the deadline — up to ``max_attempts``; any other 4xx returns at once.

When a deployment is used up it moves on to the next one. When none could serve, the error is
503 ``upstream_unavailable`` — unless the upstream said something a caller can act on: a 429
with ``retry-after`` stays a 429, a timeout stays a 504. Everything happens within the request's
deadline. A stream is only retried before its first byte reached the client, which is always
the case here: the dispatcher returns as soon as the upstream status line is known. No slot is
held while sleeping between tries, so one provider's retries cannot starve another's calls.
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import orjson
import structlog

from doorman.config import Settings
from doorman.errors import (
    DoormanError,
    RateLimited,
    ServiceUnavailable,
    UpstreamError,
    UpstreamTimeout,
)
from doorman.screen.secrets import redact, scan
from doorman.upstream.breakers import BreakerBoard
from doorman.upstream.deployment import Deployment, Wire
from doorman.upstream.gate import ProviderGate, Slot, UpstreamBusy
from doorman.upstream.http1 import encode_headers
from doorman.upstream.pacer import Pacer
from doorman.upstream.pool import UpstreamPool
from doorman.upstream.retry import (
    RETRYABLE_STATUS,
    RetryPolicy,
    parse_retry_after,
    retry_after_from,
)
from doorman.upstream.telemetry import ReliabilityMetrics
from doorman.upstream.translate import Untranslatable
from doorman.upstream.wire import Endpoint, request_headers, request_url

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from doorman.observe.alerts import AlertSink
    from doorman.observe.metrics import Metrics

__all__ = ["RETRYABLE_STATUS", "Dispatcher", "UpstreamReply", "parse_retry_after"]

log = structlog.get_logger("doorman.upstream")
_HEADERS_TTL_S = 5.0

# Client-side mistakes the provider reported: keep the status so the client sees its own error.
PASSTHROUGH_STATUS = frozenset({400, 404, 409, 413, 415, 422})

FailureKind = Literal[
    "open", "busy", "paced", "rate_limited", "timeout", "error", "refused", "client"
]


@dataclass(slots=True)
class UpstreamReply:
    deployment: Deployment
    wire: Wire
    status: int
    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy)
    body: bytes | None = None
    response: aiohttp.ClientResponse | None = None  # open, for streams
    slot: Slot | None = None  # the provider slot a stream holds until it ends

    def release(self) -> None:
        """Give back the connection and the provider slot (idempotent; call when a stream ends)."""
        if self.response is not None:
            self.response.release()
        if self.slot is not None:
            self.slot.release()
            self.slot = None


class Attempt:
    """What one failed try at one deployment produced."""

    __slots__ = ("error", "headers", "kind", "retry_after", "sent", "status")

    def __init__(
        self,
        status: int | None,
        error: DoormanError,
        retry_after: float | None,
        kind: FailureKind,
        headers: dict[str, str] | None = None,
        *,
        sent: bool = True,
    ) -> None:
        self.status = status
        self.error = error
        self.retry_after = retry_after
        self.kind = kind
        self.headers = headers or {}
        self.sent = sent  # False: the request surely never reached the provider

    @property
    def unanswered(self) -> bool:
        """The request may have reached the provider, which never answered (a timeout, a
        dropped connection): a provider bills such a call as if it had been read."""
        return self.status is None and self.sent


# Failures to open a connection: the request was never sent, so nothing can have been billed.
_NOT_SENT = (ConnectionRefusedError, aiohttp.ClientConnectorError, socket.gaierror)


@dataclass(frozen=True, slots=True)
class _CallTemplate:
    """What every call to one (provider, wire format, endpoint) sends, built every few seconds."""

    expires: float  # time.monotonic
    url: str
    path: str  # the URL's part after the provider's base URL
    headers: dict[str, str]
    key: str | None  # the provider key the headers carry (scrubbed from error messages)
    head: bytes  # request line and headers for the lean client, without the length


@dataclass(slots=True)
class Failure:
    """Why one deployment could not serve the request (for fallbacks and the final error)."""

    deployment: Deployment
    kind: FailureKind
    error: DoormanError
    retry_after: float | None = None

    @property
    def final(self) -> bool:
        """A client error: another deployment would refuse it too."""
        return self.kind == "client"


# Credential-shaped tokens (``sk-...`` with a digit somewhere, ``Bearer ...``): some providers
# and proxies quote the key they were sent in their error message, which goes to the caller.
# Broader than the prompt screen's typed secret patterns, which run first (shared with it).
_CREDENTIAL_RE = re.compile(
    r"(?i)\bbearer\s+\S+"
    r"|\b(?:sk|pk|rk|dm|ak|api|key|ant)[-_](?=[A-Za-z0-9_\-*.]*\d)[A-Za-z0-9_\-*.]{8,}"
)


def _upstream_message(raw: bytes, secrets: tuple[str | None, ...] = ()) -> str:
    """The provider's error message, with the gateway's provider keys (or any key) removed.

    Redacted before it is shortened, so a key cut in half by the limit is not left behind.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        message, limit = raw[:4000].decode("utf-8", "replace"), 200
    else:
        err = data.get("error") if isinstance(data, dict) else None
        if not (isinstance(err, dict) and isinstance(err.get("message"), str)):
            return "upstream error"
        message, limit = str(err["message"])[:4000], 500
    return scrub_secrets(message, secrets)[:limit]


def scrub_secrets(message: str, secrets: tuple[str | None, ...] = ()) -> str:
    """``message`` without the given secrets, typed secrets (provider, AWS, GitHub keys,
    private keys) or anything shaped like a credential."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "[redacted]")
    message = redact(message, scan(message))
    return _CREDENTIAL_RE.sub("[redacted]", message)


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        pool: UpstreamPool,
        rng: Callable[[], float] = random.random,
        *,
        metrics: Metrics | None = None,
        alerts: AlertSink | None = None,
        redis: Redis | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self._request_headers: dict[tuple[str, Wire, Endpoint], _CallTemplate] = {}
        self.rng = rng
        self.sleep = sleep
        self.reliability = settings.reliability
        self.policy = RetryPolicy.from_settings(settings.reliability)
        self.telemetry = ReliabilityMetrics(metrics)
        self.breakers = BreakerBoard(
            settings.reliability.breaker, telemetry=self.telemetry, alerts=alerts, redis=redis
        )
        self._pacers: dict[str, Pacer] = {}
        self._gates: dict[str, ProviderGate] = {}

    async def close(self) -> None:
        await self.breakers.close()

    def note_degraded(self, model: str, cause: str) -> None:
        """Count a degraded answer (the pipeline builds it; the reason lives here)."""
        self.telemetry.degraded.labels(model, cause).inc()

    # ------------------------------------------------------------ per deployment/provider
    def pacer(self, dep: Deployment) -> Pacer:
        pacer = self._pacers.get(dep.key)
        if pacer is None:
            pacer = self._pacers[dep.key] = Pacer(self.reliability.pacing)
        return pacer

    def known_pacer(self, key: str) -> Pacer | None:
        """The pacer of a deployment that has been called, without creating one (read-only)."""
        return self._pacers.get(key)

    def known_gate(self, provider: str) -> ProviderGate | None:
        return self._gates.get(provider)

    def gate(self, provider: str) -> ProviderGate:
        gate = self._gates.get(provider)
        if gate is None:
            q = self.reliability.queue
            gate = self._gates[provider] = ProviderGate(
                provider,
                self.settings.providers[provider].max_concurrent,
                max_waiters=q.max_waiters,
                max_wait_s=q.max_wait_s,
                on_depth=lambda name, depth: self.telemetry.queue_depth.labels(name).set(depth),
            )
        return gate

    # ------------------------------------------------------------ the request
    async def send(
        self,
        deployments: list[Deployment],
        client_wire: Wire,
        build_body: Callable[[Deployment, Wire], dict[str, Any] | bytes],
        *,
        stream: bool,
        deadline: float,
        on_attempt: Callable[[Deployment], None] | None = None,
        endpoint: Endpoint = "chat",
        content_type: str | None = None,
        on_unanswered: Callable[[Deployment], None] | None = None,
    ) -> UpstreamReply:
        """Try deployments in order; return the first 2xx reply or raise the most useful error.

        ``build_body`` returns a JSON object, or ready bytes sent as ``content_type``
        (audio transcriptions send multipart forms). ``on_unanswered`` is told of every try
        that may have reached the provider but got no answer (timed out, connection dropped,
        or cancelled mid-call): the provider may bill it, so its caller can.
        """
        failures: list[Failure] = []
        for index, dep in enumerate(deployments):
            wire = dep.wire_for(client_wire)
            try:
                # In the provider's wire format (translated when it is not the client's).
                built = build_body(dep, wire)
                body = built if isinstance(built, bytes) else orjson.dumps(built)
            except Untranslatable as exc:
                if index == 0:
                    raise  # the model the caller asked for cannot take this request: a 400
                self.telemetry.skips.labels(dep.key, "untranslatable").inc()
                log.info(
                    "upstream_skipped", deployment=dep.key, reason="untranslatable", field=exc.field
                )
                continue
            if time.monotonic() >= deadline:
                failures.append(Failure(dep, "timeout", self._deadline_error(dep)))
                break
            result = await self._try_deployment(
                dep,
                wire,
                body,
                stream=stream,
                deadline=deadline,
                on_attempt=on_attempt,
                endpoint=endpoint,
                content_type=content_type,
                on_unanswered=on_unanswered,
            )
            if isinstance(result, UpstreamReply):
                if failures:
                    first = deployments[0].model
                    self.telemetry.fallbacks.labels(first, dep.model).inc()
                    log.info(
                        "upstream_fallback",
                        model=first,
                        served_by=dep.model,
                        skipped={f.deployment.key: f.kind for f in failures},
                    )
                return result
            failures.append(result)
            if result.final:
                raise result.error
            log.info("upstream_deployment_failed", deployment=dep.key, kind=result.kind)
        raise self._final_error(deployments, failures)

    async def _try_deployment(
        self,
        dep: Deployment,
        wire: Wire,
        body: bytes,
        *,
        stream: bool,
        deadline: float,
        on_attempt: Callable[[Deployment], None] | None,
        endpoint: Endpoint,
        content_type: str | None = None,
        on_unanswered: Callable[[Deployment], None] | None = None,
    ) -> UpstreamReply | Failure:
        breaker = self.breakers.get(dep.key)
        pacer = self.pacer(dep)
        gate = self.gate(dep.provider)
        last: Failure | None = None
        for attempt_no in range(self.policy.max_attempts):
            permit = breaker.allow()
            if permit is None:
                self.telemetry.skips.labels(dep.key, "breaker_open").inc()
                log.info("upstream_skipped", deployment=dep.key, reason="breaker_open")
                opened = Failure(
                    dep,
                    "open",
                    ServiceUnavailable(
                        f"The upstream for '{dep.model}' is failing; its circuit breaker is open.",
                        code="upstream_unavailable",
                    ),
                    breaker.retry_in(),
                )
                # A failed half-open probe re-opened it: say when to retry, not just "error".
                return opened if last is None or last.kind == "error" else last
            try:
                # 1. pacing from the provider's rate-limit headers
                remaining = deadline - time.monotonic()
                limit = min(self.reliability.pacing.max_delay_s, remaining)
                wait = pacer.reserve(limit)
                if wait > limit:
                    self.telemetry.skips.labels(dep.key, "paced").inc()
                    log.info(
                        "upstream_skipped",
                        deployment=dep.key,
                        reason="paced",
                        wait_s=round(wait, 3),
                    )
                    return Failure(dep, "paced", self._paced_error(dep, wait), wait)
                if wait > 0:
                    self.telemetry.pacing_delay.labels(dep.key).observe(wait)
                    await self.sleep(wait)
                # 2. a slot under the provider's concurrency cap (bounded queue)
                try:
                    slot = await gate.acquire(deadline)
                except UpstreamBusy as exc:
                    self.telemetry.skips.labels(dep.key, "busy").inc()
                    log.info("upstream_skipped", deployment=dep.key, reason="busy")
                    return Failure(dep, "busy", exc, 1.0)
                # 3. the call
                if on_attempt is not None:
                    on_attempt(dep)
                try:
                    outcome = await self._attempt(
                        dep, wire, body, stream=stream, deadline=deadline, endpoint=endpoint,
                        content_type=content_type,
                    )
                except BaseException:
                    slot.release()
                    if on_unanswered is not None:
                        on_unanswered(dep)  # cancelled mid-call: the request may be out
                    raise
                if isinstance(outcome, UpstreamReply) and outcome.response is not None:
                    outcome.slot = slot
                    slot.expire_at(deadline)
                else:
                    slot.release()
                if isinstance(outcome, UpstreamReply):
                    pacer.observe(outcome.headers)  # case-insensitive already
                    permit.success()
                    return outcome
                pacer.observe(outcome.headers)
                if on_unanswered is not None and outcome.unanswered:
                    on_unanswered(dep)
                # 4. what the failure means
                if outcome.kind in ("error", "timeout"):
                    permit.failure(f"{outcome.status or outcome.kind}")
                elif outcome.kind == "client":
                    permit.success()  # the deployment is healthy; the request is not
                    return Failure(dep, "client", outcome.error)
                else:
                    permit.release()
                    if outcome.kind == "refused":
                        return Failure(dep, "refused", outcome.error)
            finally:
                permit.release()
            last = Failure(dep, outcome.kind, outcome.error, outcome.retry_after)
            remaining = deadline - time.monotonic()
            delay = self.policy.delay(attempt_no, outcome.retry_after, remaining, self.rng)
            if delay is None:
                if outcome.retry_after is not None and attempt_no + 1 < self.policy.max_attempts:
                    log.info(
                        "upstream_retry_after_too_long",
                        deployment=dep.key,
                        retry_after_s=outcome.retry_after,
                        remaining_s=round(remaining, 3),
                    )
                return last
            reason = str(outcome.status) if outcome.status is not None else outcome.kind
            self.telemetry.retries.labels(dep.key, reason).inc()
            log.info(
                "upstream_retry",
                deployment=dep.key,
                attempt=attempt_no + 1,
                reason=reason,
                delay_s=round(delay, 3),
                retry_after_s=outcome.retry_after,
            )
            await self.sleep(delay)
        assert last is not None
        return last

    def _final_error(self, deployments: list[Deployment], failures: list[Failure]) -> DoormanError:
        if not failures:
            return ServiceUnavailable(
                "No deployment of this model can take this request (see the skipped fallbacks).",
                code="upstream_unavailable",
            )
        model = deployments[0].model
        limited = [f for f in failures if f.kind in ("rate_limited", "paced")]
        with_after = [f.retry_after for f in limited if f.retry_after is not None]
        if with_after or (limited and len(limited) == len(failures)):
            retry_after = min(with_after) if with_after else None
            return RateLimited(
                f"The upstream providers for '{model}' are rate limiting this gateway; retry later.",
                code="upstream_rate_limited",
                retry_after=retry_after,
            )
        if failures[-1].kind == "timeout":
            return UpstreamTimeout(
                f"The upstream for '{model}' did not answer within the request deadline."
            )
        if all(f.kind == "busy" for f in failures):
            return failures[-1].error
        if all(f.kind in ("refused", "open") for f in failures) and failures[0].kind == "refused":
            return failures[0].error  # 502 upstream_auth_failed: the operator must fix a key
        detail = ", ".join(f"{f.deployment.key}: {f.kind}" for f in failures)
        headers: dict[str, str] = {}
        waits = [f.retry_after for f in failures if f.kind == "open" and f.retry_after]
        if waits:
            headers["retry-after"] = str(max(1, int(-(-min(waits) // 1))))
        return ServiceUnavailable(
            f"No upstream could serve '{model}' right now ({detail}).",
            code="upstream_unavailable",
            headers=headers,
        )

    @staticmethod
    def _deadline_error(dep: Deployment) -> UpstreamTimeout:
        return UpstreamTimeout(f"The request deadline passed before '{dep.model}' answered.")

    @staticmethod
    def _paced_error(dep: Deployment, wait: float) -> RateLimited:
        return RateLimited(
            f"The upstream quota for '{dep.model}' is spent until its reset.",
            code="upstream_rate_limited",
            retry_after=wait,
        )

    # ------------------------------------------------------------ one HTTP call
    async def _attempt(
        self,
        dep: Deployment,
        wire: Wire,
        body: bytes,
        *,
        stream: bool,
        deadline: float,
        endpoint: Endpoint = "chat",
        content_type: str | None = None,
    ) -> UpstreamReply | Attempt:
        p = dep.provider_settings
        now = time.monotonic()
        cache_key = (dep.provider, wire, endpoint)
        cached = self._request_headers.get(cache_key)
        if cached is None or cached.expires <= now:
            # Re-read the provider key every few seconds, not per call: a rotated secret file
            # is picked up quickly, and the hot path does no file or environment lookups.
            key = p.api_key()
            headers = request_headers(wire, key, p.headers, p.anthropic_version)
            url = request_url(wire, self.pool.base_url(dep.provider), endpoint)
            path = request_url(wire, "", endpoint)
            head = self.pool.client(dep.provider).request_head(path, encode_headers(headers))
            cached = _CallTemplate(now + _HEADERS_TTL_S, url, path, headers, key, head)
            self._request_headers[cache_key] = cached
        url, headers, sent_key = cached.url, cached.headers, cached.key
        remaining = deadline - now
        if remaining <= 0:
            return Attempt(None, self._deadline_error(dep), None, "timeout", sent=False)
        # Not JSON (an audio form): the form's own content type, any reply type.
        form = {"content-type": content_type, "accept": "*/*"} if content_type is not None else None
        try:
            if not stream:
                # The lean client: its total (<= the remaining deadline) bounds it all.
                client = self.pool.client(dep.provider)
                head = cached.head
                if form is not None:
                    head = client.request_head(cached.path, encode_headers({**headers, **form}))
                reply = await client.post(
                    head, body,
                    connect=min(remaining, p.connect_timeout_s),
                    read=min(remaining, p.read_timeout_s),
                    total=min(remaining, p.total_timeout_s),
                )  # fmt: skip
                if 200 <= reply.status < 300:
                    return UpstreamReply(dep, wire, reply.status, reply.headers, body=reply.body)
                return self._failed(dep, reply.status, dict(reply.headers), reply.body, sent_key)
            if form is not None:
                headers = {**headers, **form}
            session = self.pool.session(dep.provider)
            timeout = aiohttp.ClientTimeout(
                total=None,  # it would cut a long stream: asyncio.timeout bounds the wait for headers
                connect=min(remaining, p.connect_timeout_s),
                sock_read=min(remaining, p.read_timeout_s),
            )
            async with asyncio.timeout(remaining):
                resp = await session.post(url, data=body, headers=headers, timeout=timeout)
                if resp.status == 200:
                    return UpstreamReply(dep, wire, 200, resp.headers, response=resp)
                try:
                    raw = await resp.read()
                finally:
                    resp.release()
                return self._failed(dep, resp.status, dict(resp.headers), raw, sent_key)
        except TimeoutError:  # includes aiohttp.ServerTimeoutError
            log.warning("upstream_timeout", deployment=dep.key)
            return Attempt(
                None, UpstreamTimeout(f"The upstream for '{dep.model}' timed out."), None, "timeout"
            )
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("upstream_connection_error", deployment=dep.key, error=type(exc).__name__)
            return Attempt(
                None,
                UpstreamError(
                    f"Could not reach the upstream for '{dep.model}' ({type(exc).__name__}).",
                    code="upstream_connection_error",
                ),
                None,
                "error",
                sent=not isinstance(exc, _NOT_SENT),
            )

    def _failed(
        self,
        dep: Deployment,
        status: int,
        headers: dict[str, str],
        raw: bytes,
        sent_key: str | None,
    ) -> Attempt:
        lower = {k.lower(): v for k, v in headers.items()}
        retry_after = retry_after_from(lower)
        # The key this call was sent with (cached with the headers) and the current one.
        message = _upstream_message(raw, (sent_key, dep.provider_settings.api_key()))
        log.warning("upstream_error", deployment=dep.key, status=status)
        error: DoormanError
        kind: FailureKind
        if status == 429:
            error = RateLimited(
                f"The upstream provider is rate limiting '{dep.model}': {message}",
                code="upstream_rate_limited",
                retry_after=retry_after,
            )
            kind = "rate_limited"
        elif status in (401, 403):
            # Never surface as the caller's auth failure: it is the gateway's provider key.
            error = UpstreamError(
                "The upstream provider refused the gateway's credentials.",
                code="upstream_auth_failed",
            )
            kind = "refused"
        elif status < 500 and status not in RETRYABLE_STATUS:
            error = UpstreamError(
                f"The upstream rejected the request: {message}",
                code="upstream_bad_request",
                status=status if status in PASSTHROUGH_STATUS else 400,
            )
            kind = "client"
        elif status == 504:
            error = UpstreamTimeout(f"The upstream for '{dep.model}' timed out.")
            kind = "error"
        else:
            error = UpstreamError(
                f"The upstream for '{dep.model}' failed with {status}: {message}",
                status=status if status in (502, 503) else 502,
            )
            kind = "error"
        return Attempt(status, error, retry_after, kind, lower)
