"""Sending a request upstream: deployment order, retries, and the shape of what came back.

The dispatcher tries the model's deployments in order (the model, then its fallbacks). Each
deployment gets bounded attempts with full-jitter backoff, all within the request's deadline.
Streams are only retried before their first byte reached the client — which is always the
case here, because the dispatcher returns as soon as the upstream status line is known.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson
import structlog

from doorman.config import Settings
from doorman.errors import DoormanError, RateLimited, ServiceUnavailable, UpstreamError, UpstreamTimeout
from doorman.upstream.deployment import Deployment, Wire
from doorman.upstream.pool import UpstreamPool
from doorman.upstream.wire import request_headers, request_url

log = structlog.get_logger("doorman.upstream")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})
# Client-side mistakes the provider reported: keep the status so the client sees its own error.
PASSTHROUGH_STATUS = frozenset({400, 404, 409, 413, 415, 422})


@dataclass(slots=True)
class UpstreamReply:
    deployment: Deployment
    wire: Wire
    status: int
    headers: dict[str, str]
    body: bytes | None = None
    response: aiohttp.ClientResponse | None = None  # open, for streams


class Attempt:
    """What one try at one deployment produced, for retry decisions and the ledger."""

    __slots__ = ("error", "retry_after", "status")

    def __init__(self, status: int | None, error: DoormanError, retry_after: float | None) -> None:
        self.status = status
        self.error = error
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``retry-after`` header holding seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _upstream_message(raw: bytes) -> str:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:200].decode("utf-8", "replace")
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:500]
    return "upstream error"


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        pool: UpstreamPool,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.rng = rng
        self.policy = settings.reliability

    async def send(
        self,
        deployments: list[Deployment],
        client_wire: Wire,
        build_body: Callable[[Deployment, Wire], dict[str, Any]],
        *,
        stream: bool,
        deadline: float,
        on_attempt: Callable[[Deployment], None] | None = None,
    ) -> UpstreamReply:
        """Try deployments in order; return the first 2xx reply or raise the last error."""
        last: Attempt | None = None
        for dep in deployments:
            wire = dep.wire_for(client_wire)
            if wire != client_wire:
                # Cross-format fallback (OpenAI <-> Anthropic translation) is a later step.
                continue
            body = orjson.dumps(build_body(dep, wire))
            for attempt_no in range(self.policy.max_attempts):
                if on_attempt is not None:
                    on_attempt(dep)
                outcome = await self._attempt(dep, wire, body, stream=stream, deadline=deadline)
                if isinstance(outcome, UpstreamReply):
                    return outcome
                last = outcome
                if outcome.status is not None and outcome.status not in RETRYABLE_STATUS:
                    raise outcome.error
                delay = self._backoff(attempt_no, outcome.retry_after)
                remaining = deadline - time.monotonic()
                if attempt_no + 1 >= self.policy.max_attempts:
                    break
                if delay >= remaining:
                    break
                log.info("upstream_retry", deployment=dep.key, status=outcome.status, delay_s=round(delay, 3))
                await asyncio.sleep(delay)
            if time.monotonic() >= deadline:
                break
        if last is None:
            raise ServiceUnavailable(
                "No deployment of this model speaks the client's wire format.", code="upstream_unavailable"
            )
        raise last.error

    def _backoff(self, attempt_no: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        cap = min(self.policy.backoff_max_s, self.policy.backoff_base_s * (2**attempt_no))
        return self.rng() * cap

    async def _attempt(
        self, dep: Deployment, wire: Wire, body: bytes, *, stream: bool, deadline: float
    ) -> UpstreamReply | Attempt:
        p = dep.provider_settings
        url = request_url(wire, self.pool.base_url(dep.provider))
        headers = request_headers(wire, p.api_key(), p.headers, p.anthropic_version)
        session = self.pool.session(dep.provider)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Attempt(None, UpstreamTimeout("The request deadline passed before the upstream answered."), None)
        timeout = aiohttp.ClientTimeout(
            total=None if stream else min(remaining, p.total_timeout_s),
            connect=p.connect_timeout_s,
            sock_read=min(remaining, p.read_timeout_s),
        )
        try:
            if stream:
                async with asyncio.timeout(remaining):
                    resp = await session.post(url, data=body, headers=headers, timeout=timeout)
                if resp.status == 200:
                    return UpstreamReply(dep, wire, 200, dict(resp.headers), response=resp)
                raw = await resp.read()
                resp.release()
                return self._failed(dep, resp.status, dict(resp.headers), raw)
            async with session.post(url, data=body, headers=headers, timeout=timeout) as resp:
                raw = await resp.read()
                if 200 <= resp.status < 300:
                    return UpstreamReply(dep, wire, resp.status, dict(resp.headers), body=raw)
                return self._failed(dep, resp.status, dict(resp.headers), raw)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            log.warning("upstream_timeout", deployment=dep.key)
            return Attempt(504, UpstreamTimeout(f"The upstream for '{dep.model}' timed out."), None)
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("upstream_connection_error", deployment=dep.key, error=type(exc).__name__)
            return Attempt(
                502,
                UpstreamError(f"Could not reach the upstream for '{dep.model}' ({type(exc).__name__}).",
                              code="upstream_connection_error"),
                None,
            )

    def _failed(self, dep: Deployment, status: int, headers: dict[str, str], raw: bytes) -> Attempt:
        lower = {k.lower(): v for k, v in headers.items()}
        retry_after = parse_retry_after(lower.get("retry-after"))
        message = _upstream_message(raw)
        log.warning("upstream_error", deployment=dep.key, status=status)
        error: DoormanError
        if status == 429:
            error = RateLimited(
                f"The upstream provider is rate limiting '{dep.model}': {message}",
                code="upstream_rate_limited",
                retry_after=retry_after,
            )
        elif status in PASSTHROUGH_STATUS:
            error = UpstreamError(f"The upstream rejected the request: {message}", code="upstream_bad_request",
                                  status=status)
        elif status in (401, 403):
            # Never surface as the caller's auth failure: it is the gateway's provider key.
            error = UpstreamError("The upstream provider refused the gateway's credentials.",
                                  code="upstream_auth_failed")
        elif status == 504:
            error = UpstreamTimeout(f"The upstream for '{dep.model}' timed out.")
        else:
            error = UpstreamError(f"The upstream for '{dep.model}' failed with {status}: {message}",
                                  status=502 if status < 500 else (status if status in (502, 503) else 502))
        return Attempt(status, error, retry_after)
