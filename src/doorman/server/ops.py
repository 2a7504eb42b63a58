"""Operational routes: liveness, readiness, metrics and the model list."""

from __future__ import annotations

import asyncio
import hmac
import time

import orjson
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from doorman.errors import AuthenticationFailed
from doorman.observe.metrics import multiprocess_dir, render_metrics
from doorman.server.http import authenticate_get
from doorman.server.state import Gateway
from doorman.upstream.deployment import Wire
from doorman.upstream.wire import request_headers


def _json(data: object, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status, media_type="application/json")


async def healthz(request: Request) -> Response:
    return _json({"status": "ok"})


class CredentialRefused(Exception):
    """The provider answered the readiness probe with 401/403: its api key is wrong."""

    def __init__(self, status: int) -> None:
        super().__init__(f"credential_refused (HTTP {status})")


def _probe_headers(gw: Gateway, provider: str) -> dict[str, str]:
    settings = gw.settings.providers[provider]
    wire: Wire = "anthropic" if settings.kind == "anthropic" else "openai"
    headers = request_headers(wire, settings.api_key(), settings.headers, settings.anthropic_version)
    headers.pop("content-type", None)
    return headers


async def _check(name: str, coro: object, limit_s: float = 2.0) -> tuple[str, str]:
    try:
        await asyncio.wait_for(coro, limit_s)  # type: ignore[arg-type]
        return name, "ok"
    except CredentialRefused as exc:
        return name, f"error: {exc}"
    except Exception as exc:
        return name, f"error: {type(exc).__name__}"


async def readyz(request: Request) -> Response:
    """Ready when the database, Redis (if configured) and each provider answer."""
    gw: Gateway = request.app.state.doorman

    async def db() -> None:
        async with gw.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def upstream(provider: str) -> None:
        base = gw.upstreams.base_url(provider)
        session = gw.upstreams.session(provider)
        # Any HTTP answer means the provider is reachable, except a refused credential: then
        # every request would fail, and the probe (sent with the key) says so.
        kind = gw.settings.providers[provider].kind
        url = base + ("/v1/models" if kind == "anthropic" else "/models")
        async with session.get(url, headers=_probe_headers(gw, provider)) as resp:
            await resp.read()
            if resp.status in (401, 403):
                raise CredentialRefused(resp.status)

    checks = [_check("database", db())]
    if gw.redis is not None:
        checks.append(_check("redis", gw.redis.ping()))
    for name in gw.settings.providers:
        checks.append(_check(f"provider:{name}", upstream(name)))
    results = dict(await asyncio.gather(*checks))
    ready = all(v == "ok" for k, v in results.items() if not k.startswith("provider:")) and any(
        v == "ok" for k, v in results.items() if k.startswith("provider:")
    )
    return _json(
        {"status": "ready" if ready else "not_ready", "checks": results}, 200 if ready else 503
    )


def _require_metrics_token(request: Request, gw: Gateway) -> None:
    """Open unless ``server.metrics_token_env`` is set; then the bearer token must match."""
    if not gw.settings.server.metrics_token_env:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    token = gw.metrics_token  # None when the secret is missing: fail closed
    bearer = scheme.lower() == "bearer"
    if token and bearer and hmac.compare_digest(given.strip().encode(), token.encode()):
        return
    raise AuthenticationFailed(
        "GET /metrics needs 'Authorization: Bearer <token>' "
        "(the secret named by server.metrics_token_env).",
        code="metrics_token_required",
        headers={"www-authenticate": 'Bearer realm="doorman-metrics"'},
    )


async def metrics(request: Request) -> Response:
    gw: Gateway = request.app.state.doorman
    _require_metrics_token(request, gw)
    body, ctype = render_metrics(gw.metrics)
    if not multiprocess_dir():
        body += generate_latest(REGISTRY)  # process metrics and auth-failure counters
    return Response(body, media_type=ctype)


async def models(request: Request) -> Response:
    """Models this caller may use, in a shape both the OpenAI and Anthropic SDKs parse."""
    gw: Gateway = request.app.state.doorman
    principal = await authenticate_get(request)
    tier = gw.settings.tiers.get(principal.tier)
    allowed = set(tier.models) if tier and tier.models else None
    if principal.allowed_models:
        allowed = (
            set(principal.allowed_models)
            if allowed is None
            else allowed & set(principal.allowed_models)
        )
    created = int(time.time())
    names = [n for n in gw.settings.model_index if allowed is None or n in allowed]
    data = [
        {
            "id": n,
            "object": "model",
            "created": created,
            "owned_by": "doorman",
            "type": "model",
            "display_name": n,
            "created_at": "1970-01-01T00:00:00Z",
        }
        for n in sorted(names)
    ]
    return _json(
        {
            "object": "list",
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    )


def ops_routes() -> list[BaseRoute]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
    ]
