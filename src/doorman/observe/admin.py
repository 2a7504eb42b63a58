"""Admin routes behind the console's pages: ``/overview``, ``/screening``, ``/providers``,
``/tiers``.

Mounted under ``/admin`` next to the key and ledger routes and guarded the same way (master key,
or a console session with its CSRF token). They only read: the ledger (rolling-window series,
latency, screening outcomes) and this process's breakers, pacers and queues.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from doorman.auth.master import require_master
from doorman.errors import BadRequest
from doorman.ledger import insights
from doorman.upstream.health import deployment_health


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data, default=str), media_type="application/json")


def _choice(request: Request, name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(name) or default
    if value not in choices:
        raise BadRequest(
            f"'{name}' must be one of {', '.join(choices)}", code="invalid_query", param=name
        )
    return value


def _window(request: Request, default: str = "day") -> str:
    return _choice(request, "window", tuple(insights.WINDOWS), default)


async def overview(request: Request) -> Response:
    """``GET /admin/overview?window=hour|day|month&by=model|tier``

    Per-bucket requests, errors, tokens, cost and cache hits for each model (or tier) over a
    rolling window (60 one-minute, 24 one-hour or 30 one-day UTC buckets), plus the window's
    error rate, cache hit rate, dollars saved by the cache (null until the ledger records it)
    and p50/p99 of the latency the gateway adds and of the upstream's.
    """
    await require_master(request)
    gw = request.app.state.doorman
    window = _window(request)
    by = _choice(request, "by", insights.SERIES_BY, "model")
    times, lines = await insights.series(gw.engine, window=window, by=by)
    summary = await insights.summary(gw.engine, window=window)
    seconds, _first, _count = insights.window_bounds(window)
    return _json(
        {
            "window": window,
            "by": by,
            "bucket_s": seconds,
            "buckets": times,
            "series": [s.as_dict() for s in lines],
            "summary": summary,
        }
    )


async def screening(request: Request) -> Response:
    """``GET /admin/screening?window=hour|day|month&limit=100``

    Requests the input screen blocked or flagged, counted by detector and tier, and the newest
    of them with their request ids. Never the prompt or the secret found.
    """
    await require_master(request)
    gw = request.app.state.doorman
    window = _window(request)
    limit = _limit(request, 100, 1000)
    return _json(await insights.screening(gw.engine, window=window, limit=limit))


async def providers(request: Request) -> Response:
    """``GET /admin/providers?window=hour|day|month``

    Every configured deployment with this process's breaker state, pacing budgets and queue,
    plus, from the ledger, requests, upstream failures, retries and fallbacks per deployment and
    the newest failed or fallen-back requests.
    """
    await require_master(request)
    gw = request.app.state.doorman
    window = _window(request, "hour")
    activity = await insights.provider_activity(gw.engine, window=window)
    return _json(
        {
            "window": window,
            "deployments": deployment_health(gw.settings, gw.dispatcher),
            "activity": activity,
        }
    )


TIER_FIELDS = (
    "requests_per_minute", "tokens_per_minute", "tokens_per_day", "max_output_tokens",
    "daily_budget_usd", "monthly_budget_usd", "max_concurrent", "models", "key_expiry_days",
)  # fmt: skip


async def tiers(request: Request) -> Response:
    """``GET /admin/tiers`` — configured tiers with their limits and budgets (for forms)."""
    await require_master(request)
    settings = request.app.state.doorman.settings
    data = [
        {"name": name, "default": name == settings.default_tier,
         **tier.model_dump(include=set(TIER_FIELDS))}
        for name, tier in sorted(settings.tiers.items())
    ]  # fmt: skip
    return _json({"object": "list", "data": data})


def _limit(request: Request, default: int, high: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise BadRequest(
            f"'limit' must be an integer between 1 and {high}", code="invalid_query", param="limit"
        )
    return int(raw)


routes: list[BaseRoute] = [
    Route("/overview", overview, methods=["GET"]),
    Route("/screening", screening, methods=["GET"]),
    Route("/providers", providers, methods=["GET"]),
    Route("/tiers", tiers, methods=["GET"]),
]
