"""Admin routes over the ledger and alerts: ``/usage``, ``/alerts``, ``/stats``.

Mounted by the server under ``/admin``; every handler checks the master key first.
Components come from ``request.app.state.doorman`` (settings, engine, alerts).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from doorman.auth.master import require_master
from doorman.errors import BadRequest
from doorman.ledger import reports
from doorman.ledger.reports import GROUPS

MAX_DAYS = 3660
MAX_ALERTS = 1000


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data, default=str), media_type="application/json")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be an integer", code="invalid_query", param=name) from None
    if not low <= value <= high:
        raise BadRequest(
            f"'{name}' must be between {low} and {high}", code="invalid_query", param=name
        )
    return value


def _user_param(request: Request) -> str | None:
    user = request.query_params.get("user") or None
    if user is not None and len(user) > 128:
        raise BadRequest("'user' is too long", code="invalid_query", param="user")
    return user


async def usage(request: Request) -> Response:
    """``GET /admin/usage?by=user|model|task|day|key&days=7&user=U``"""
    await require_master(request)
    gw = request.app.state.doorman
    by = request.query_params.get("by", "user")
    if by not in GROUPS:
        raise BadRequest(
            f"'by' must be one of {', '.join(GROUPS)}", code="invalid_query", param="by"
        )
    days = _int_param(request, "days", 7, 1, MAX_DAYS)
    user = _user_param(request)
    zone = gw.settings.zone
    rows = await reports.spend(gw.engine, by=by, days=days, user=user, zone=zone)
    return _json(
        {
            "by": by,
            "days": days,
            "user": user,
            "timezone": gw.settings.timezone,
            "since": reports.window_start(days, zone).isoformat(),
            "rows": [r.as_dict() for r in rows],
            "total_cost_usd": sum(r.cost_usd for r in rows),
            "total_requests": sum(r.requests for r in rows),
        }
    )


async def alerts(request: Request) -> Response:
    """``GET /admin/alerts?limit=100&kind=budget`` — newest first, from every replica."""
    await require_master(request)
    gw = request.app.state.doorman
    limit = _int_param(request, "limit", 100, 1, MAX_ALERTS)
    kind = request.query_params.get("kind") or None
    events = await gw.alerts.recent(limit=limit, kind=kind)
    return _json({"alerts": [e.as_dict() for e in events]})


async def stats(request: Request) -> Response:
    """``GET /admin/stats?days=1&user=U`` — totals, cost, cache hit rate, latency, budgets."""
    await require_master(request)
    gw = request.app.state.doorman
    days = _int_param(request, "days", 1, 1, MAX_DAYS)
    user = _user_param(request)
    zone = gw.settings.zone
    totals = await reports.totals(gw.engine, days=days, user=user, zone=zone)
    budgets = await reports.budgets(gw.engine, gw.settings.tiers, zone=zone, user=user)
    return _json(
        {
            "days": days,
            "user": user,
            "timezone": gw.settings.timezone,
            "totals": totals.as_dict(),
            "budgets": [b.as_dict() for b in budgets],
        }
    )


routes: list[BaseRoute] = [
    Route("/usage", usage, methods=["GET"]),
    Route("/alerts", alerts, methods=["GET"]),
    Route("/stats", stats, methods=["GET"]),
]
