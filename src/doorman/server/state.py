"""The Gateway: every long-lived component of one process, built once at start-up.

Stages reach shared parts (limiter, ledger, screener, upstream pool) through this object, so the
server and ``doorman.Client`` assemble the same pipeline from the same settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import structlog

from doorman.config import DegradedPolicy, Settings
from doorman.cost.prices import price_for
from doorman.cost.tokens import CountProfile, count_profile
from doorman.errors import DoormanError, ServiceUnavailable
from doorman.exchange import Exchange
from doorman.limits import admit, build_limits, rate_limit_headers
from doorman.upstream.deployment import deployments_for

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine

    from doorman.approvals.store import ApprovalStore
    from doorman.auth.authenticator import Authenticator
    from doorman.cache.runtime import ResponseCache
    from doorman.config import Price
    from doorman.ledger.store import Ledger
    from doorman.limits import Limiter, LimitSpec
    from doorman.observe.alerts import AlertSink
    from doorman.observe.anomaly import AnomalyDetector
    from doorman.observe.metrics import Metrics
    from doorman.pipeline import Reply
    from doorman.screen import InputScreener
    from doorman.sim.embedded import EmbeddedSim
    from doorman.upstream.deployment import Deployment
    from doorman.upstream.dispatch import Dispatcher
    from doorman.upstream.pool import UpstreamPool

log = structlog.get_logger("doorman.request")

# What admission needs per (tier, user, key, model): limit specs, price, model output cap.
AdmitPlan = tuple["list[LimitSpec]", "Price | None", "int | None"]

KEY_EXPIRY_WARNING_DAYS = 14
SPEC_CACHE_SIZE = 10_000


@dataclass(slots=True)
class Admission:
    reservation: Any
    max_tokens: int
    reserved_usd: float
    headers: dict[str, str] = field(default_factory=dict)


class Gateway:
    settings: Settings
    engine: AsyncEngine
    redis: Redis | None
    limiter: Limiter
    authenticator: Authenticator
    ledger: Ledger
    approvals: ApprovalStore  # tool calls withheld until a person approves them
    metrics: Metrics
    alerts: AlertSink
    anomaly: AnomalyDetector | None
    screener: InputScreener | None
    upstreams: UpstreamPool
    dispatcher: Dispatcher
    metrics_token: str | None  # required by /metrics when server.metrics_token_env is set
    cache: ResponseCache | None  # the response cache (None until built)
    embedded_sim: EmbeddedSim | None  # the built-in simulator, on a private unix socket

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics_token = None
        self.redis = None
        self.screener = None
        self.anomaly = None
        self.cache = None
        self.embedded_sim = None
        self._specs: dict[tuple[str, str, str, str], AdmitPlan] = {}
        self._profiles: dict[str, CountProfile] = {}
        self._model_profiles: dict[str, tuple[CountProfile, ...]] = {}

    # ------------------------------------------------------------ used by stages
    def count_input_tokens(self, ex: Exchange) -> int:
        """An upper bound of the input tokens any deployment that may serve ``ex`` bills."""
        assert ex.billed is not None
        if ex.deployments:
            profiles = self._count_profiles(ex.deployments, ex.model)
        else:  # before routing: the model's deployments, whose profiles never change
            profiles = self._model_profiles.get(ex.model) or ()
            if not profiles:
                deployments = deployments_for(self.settings, ex.model)
                profiles = self._model_profiles[ex.model] = self._count_profiles(
                    deployments, ex.model
                )
        if len(profiles) == 1:
            return profiles[0].tokens(ex.billed)
        return max(profile.tokens(ex.billed) for profile in profiles)

    def _count_profiles(self, deployments: list[Deployment], model: str) -> tuple[CountProfile, ...]:
        """The distinct counting profiles of ``deployments`` (a default one when there are none)."""
        profiles = dict.fromkeys(self.count_profile(dep) for dep in deployments) or {
            count_profile(model, "openai", self.settings.limits.count_safety_factor): None
        }
        return tuple(profiles)

    def count_profile(self, dep: Deployment) -> CountProfile:
        """How ``dep``'s provider turns input into tokens (cached per deployment)."""
        profile = self._profiles.get(dep.key)
        if profile is None:
            override = dep.settings.count_safety_factor
            if override is None:
                override = self.settings.limits.count_safety_factor
            kind = dep.provider_settings.kind
            profile = self._profiles[dep.key] = count_profile(dep.upstream_model, kind, override)
        return profile

    async def admit(
        self, ex: Exchange, requested_max_tokens: int | None, retries: int = 0
    ) -> Admission:
        assert ex.tier is not None and ex.principal is not None
        cache_key = (ex.tier_name, ex.principal.user_id, ex.principal.key_id, ex.model)
        plan = self._specs.get(cache_key)
        if plan is None:
            plan = self._admit_plan(ex)
            if len(self._specs) >= SPEC_CACHE_SIZE:
                self._specs.pop(next(iter(self._specs)))
            self._specs[cache_key] = plan
        specs, price, model_max_output = plan
        result = await admit(
            self.limiter,
            specs,
            input_tokens=ex.input_tokens,
            requested_max_tokens=requested_max_tokens,
            tier=ex.tier,
            model_price=price,
            model_max_output_tokens=model_max_output,
            retries=retries,
        )
        return Admission(
            reservation=result.reservation,
            max_tokens=result.max_tokens,
            reserved_usd=result.reserved_usd,
            headers=rate_limit_headers(result.reservation),
        )

    def _admit_plan(self, ex: Exchange) -> AdmitPlan:
        """Limit specs and price of one (tier, user, key, model): immutable, so built once."""
        assert ex.tier is not None and ex.principal is not None
        model = self.settings.models[ex.model]
        specs = build_limits(
            ex.tier,
            ex.tier_name,
            ex.principal.user_id,
            ex.principal.key_id,
            ex.model,
            model,
            model.provider,
            self.settings.limits,
        )
        return specs, price_for(ex.model, model), model.max_output_tokens

    def _degraded_policy(self, ex: Exchange) -> DegradedPolicy | None:
        model = self.settings.models.get(ex.model)
        return (model.degraded if model else None) or (ex.tier.degraded if ex.tier else None)

    def degraded_error(self, ex: Exchange, error: DoormanError) -> DoormanError:
        """Under a ``degraded: {mode: error}`` policy every upstream outage is one answer:
        503 ``upstream_unavailable`` (keeping any retry-after), whatever failed underneath."""
        policy = self._degraded_policy(ex)
        if policy is None or policy.mode != "error" or error.status_code < 500:
            return error
        if error.code == "upstream_unavailable":
            return error
        retry = {k: v for k, v in error.headers.items() if k.lower() == "retry-after"}
        return ServiceUnavailable(
            f"The model '{ex.requested_model or ex.model}' is unavailable right now "
            f"({error.code}); nothing was charged. Retry later.",
            code="upstream_unavailable",
            headers=retry,
        )

    def degraded_reply(self, ex: Exchange, error: DoormanError) -> Reply | None:
        """The configured safe answer when every deployment failed, or None to return the error."""
        from doorman.pipeline import Reply

        if error.status_code < 500 and error.status_code != 429:
            return None
        policy = self._degraded_policy(ex)
        if policy is None or policy.mode != "message":
            return None
        message, stream = policy.message, ex.stream
        run = ex.answer  # an output contract / topic check: the stream became a full call
        if run is not None:
            stream = stream or run.replay
            if run.settings.contract is not None:
                # A program reads this answer: never hand it text that breaks its contract.
                if run.settings.safe_text is None:
                    return None
                message = run.settings.safe_text
        log.warning("degraded_answer", request_id=ex.request_id, model=ex.model, cause=error.code)
        headers = {"x-doorman-degraded": "true", **ex.limit_headers}
        if ex.wire == "anthropic":
            body: dict[str, Any] = {
                "id": f"msg_degraded_{ex.request_id}",
                "type": "message",
                "role": "assistant",
                "model": ex.requested_model,
                "content": [{"type": "text", "text": message}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }
        else:
            body = {
                "id": f"chatcmpl-degraded-{ex.request_id}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": ex.requested_model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": message},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }
        if stream:
            from doorman.server.sse import degraded_stream

            return Reply(200, headers, stream=degraded_stream(ex.wire, body))
        return Reply(200, headers, body=orjson.dumps(body))

    def add_key_headers(self, ex: Exchange, headers: dict[str, str]) -> None:
        days = ex.principal.expires_in_days if ex.principal is not None else None
        if days is not None and days < KEY_EXPIRY_WARNING_DAYS:
            headers["x-doorman-key-expires-in-days"] = str(days)

    # ------------------------------------------------------------ bookkeeping
    async def finish(self, ex: Exchange) -> None:
        """Settle the reservation, record the ledger row, update metrics and log one line."""
        from doorman.server.bookkeeping import finish_exchange

        await finish_exchange(self, ex)
