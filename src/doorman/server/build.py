"""Start-up and shut-down: build every component of a Gateway from Settings, in order."""

from __future__ import annotations

import structlog

from doorman.config import Settings
from doorman.secrets import read_secret
from doorman.server.state import Gateway

log = structlog.get_logger("doorman.server")


class StartupRefused(RuntimeError):
    """The settings would run but break a guarantee; the message says what to change."""


async def build_gateway(settings: Settings) -> tuple[Gateway, str | None]:
    """Migrate the database, connect the stores and return (gateway, new master key or None).

    When a provider is the built-in simulator, it is started here on a private unix socket
    (never on the gateway's public port) and stopped by :func:`close_gateway`.
    """
    from doorman.approvals.store import ApprovalStore
    from doorman.auth.authenticator import Authenticator
    from doorman.auth.master import ensure_master_key
    from doorman.auth.nonces import unshared_nonce_problem
    from doorman.auth.pepper import pepper_for
    from doorman.auth.service import KeyService
    from doorman.cache.runtime import ResponseCache
    from doorman.db.engine import create_engine
    from doorman.db.migrate import upgrade_async
    from doorman.ledger.store import Ledger
    from doorman.limits import Limiter, connect_redis
    from doorman.observe.alerts import AlertSink
    from doorman.observe.anomaly import AnomalyDetector
    from doorman.observe.metrics import Metrics
    from doorman.screen import InputScreener
    from doorman.state import state_dir
    from doorman.upstream.dispatch import Dispatcher
    from doorman.upstream.pool import UpstreamPool, uses_embedded_sim

    gw = Gateway(settings)
    await upgrade_async(settings.database_url)
    gw.engine = create_engine(settings.database_url)
    pepper = await pepper_for(gw.engine, state_dir(settings))  # PepperMismatch: refuse to start
    new_master = await ensure_master_key(gw.engine)
    gw.redis = connect_redis(settings.redis_url) if settings.redis_url else None
    refused = await unshared_nonce_problem(settings, gw.engine)
    if refused is not None:
        log.error("startup_refused", reason=refused)
        await gw.engine.dispose()
        raise StartupRefused(refused)
    gw.metrics = Metrics()
    if settings.server.metrics_token_env:
        gw.metrics_token = read_secret(settings.server.metrics_token_env)
        if not gw.metrics_token:  # `serve` refuses to start; an embedded app fails closed
            log.error("metrics_token_missing", secret=settings.server.metrics_token_env)
    gw.alerts = AlertSink(settings.alerts, gw.engine, zone=settings.zone, metrics=gw.metrics)
    await gw.alerts.start()

    def auth_alert(event: dict[str, object]) -> None:
        fields = {k: v for k, v in event.items() if k not in ("kind", "severity", "message")}
        gw.alerts.emit_nowait(
            str(event.get("kind", "auth_failure_burst")),
            "warning",
            str(event.get("message") or "") or None,
            **fields,
        )

    gw.authenticator = Authenticator(
        gw.engine, settings, gw.redis, pepper=pepper, on_alert=auth_alert
    )
    gw.limiter = Limiter.create(settings.limits, gw.redis, settings.zone)
    gw.limiter.on_queue_depth = gw.metrics.set_queue_depth
    if settings.ledger_enabled:
        gw.ledger = Ledger(gw.engine, on_batch=gw.metrics.observe_ledger_batch)
    else:
        gw.ledger = Ledger.disabled()
    await gw.ledger.start()
    gw.approvals = ApprovalStore(gw.engine, settings.approvals)
    if settings.anomaly.enabled:
        keys = KeyService(gw.engine, settings, pepper=pepper)

        async def suspend(user_id: str, *, reason: str) -> object:
            info = await keys.suspend_user(user_id, reason=reason)
            gw.authenticator.invalidate(user_id=user_id)
            return info

        gw.anomaly = AnomalyDetector(
            settings.anomaly,
            engine=gw.engine,
            alerts=gw.alerts,
            tiers=settings.tiers,
            suspend_user=suspend,
            zone=settings.zone,
        )
        await gw.anomaly.start()
    gw.screener = InputScreener(settings.screening)
    gw.screener.offload.warm()  # worker processes load the classifier now, not on a request
    gw.cache = ResponseCache.create(settings.response_cache, gw.redis, gw.metrics)
    if uses_embedded_sim(settings):
        from doorman.sim.embedded import EmbeddedSim

        gw.embedded_sim = await EmbeddedSim.start()
    sim_socket = gw.embedded_sim.socket_path if gw.embedded_sim is not None else None
    gw.upstreams = UpstreamPool(settings, sim_socket)
    gw.dispatcher = Dispatcher(
        settings, gw.upstreams, metrics=gw.metrics, alerts=gw.alerts, redis=gw.redis
    )
    log.info(
        "gateway_started",
        database=settings.database_url.split("://", 1)[0],
        redis=bool(settings.redis_url),
        models=sorted(settings.models),
    )
    return gw, new_master


async def close_gateway(gw: Gateway) -> None:
    """Flush what is buffered (ledger, baselines, alerts) and close connections."""
    for closer in (
        getattr(gw, "ledger", None) and gw.ledger.close,
        gw.anomaly.close if gw.anomaly is not None else None,
        getattr(gw, "authenticator", None) and gw.authenticator.close,
        getattr(gw, "alerts", None) and gw.alerts.close,
        getattr(gw, "limiter", None) and gw.limiter.aclose,
        getattr(gw, "dispatcher", None) and gw.dispatcher.close,
        getattr(gw, "upstreams", None) and gw.upstreams.close,
        gw.embedded_sim.close if gw.embedded_sim is not None else None,
        gw.screener.aclose if gw.screener is not None else None,
    ):
        if closer:
            try:
                await closer()
            except Exception as exc:  # keep closing the rest
                log.error(
                    "close_failed", component=getattr(closer, "__qualname__", "?"), error=str(exc)
                )
    if gw.redis is not None:
        await gw.redis.aclose()
    if getattr(gw, "engine", None) is not None:
        await gw.engine.dispose()
