"""``/admin/usage``, ``/admin/alerts`` and ``/admin/stats`` behind the master key."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from doorman.config import Settings
from doorman.errors import DoormanError
from doorman.ledger.admin import routes
from doorman.observe.alerts import AlertSink

sys.path.insert(0, str(Path(__file__).parent))
from seed import history, seed

MASTER = "dm-master-test-key"
AUTH = {"authorization": f"Bearer {MASTER}"}


async def render_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DoormanError)
    return JSONResponse(exc.body(), status_code=exc.status_code)


@pytest.fixture
async def client(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("DOORMAN_MASTER_KEY", MASTER)
    await seed(engine, history(datetime.now(UTC)))
    alerts = AlertSink(engine=engine)
    await alerts.start()
    await alerts.emit("breaker_open", "warning", "breaker opened", deployment="sim")
    app = Starlette(
        routes=[Mount("/admin", routes=routes)],
        exception_handlers={DoormanError: render_error},
    )
    app.state.doorman = SimpleNamespace(
        settings=Settings(), engine=engine, alerts=alerts, authenticator=None
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as c:
        yield c
    await alerts.close()


async def test_master_key_is_required(client: httpx.AsyncClient) -> None:
    for path in ("/admin/usage", "/admin/alerts", "/admin/stats"):
        assert (await client.get(path)).status_code == 401
        bad = await client.get(path, headers={"authorization": "Bearer nope"})
        assert bad.status_code == 401


async def test_usage_with_filters(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/usage", params={"by": "model", "days": 7, "user": "alice"},
                         headers=AUTH)  # fmt: skip
    assert r.status_code == 200
    data = r.json()
    assert data["by"] == "model" and data["total_requests"] == 5
    assert (await client.get("/admin/usage", params={"by": "x"}, headers=AUTH)).status_code == 400
    assert (await client.get("/admin/usage", params={"days": "0"}, headers=AUTH)).status_code == 400


async def test_alerts_lists_recent_events(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/alerts", headers=AUTH)
    assert r.status_code == 200
    (alert,) = r.json()["alerts"]
    assert alert["kind"] == "breaker_open" and alert["fields"] == {"deployment": "sim"}


async def test_stats_totals_and_budgets(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/stats", params={"days": 7}, headers=AUTH)
    assert r.status_code == 200
    data = r.json()
    assert data["totals"]["requests"] == 6
    assert data["totals"]["cache_hit_rate"] == pytest.approx(1 / 6)
    budgets = {b["user_id"]: b for b in data["budgets"]}
    assert budgets["alice"]["daily_budget_usd"] == 50.0  # the default pro tier
    assert budgets["alice"]["daily_remaining_usd"] <= 50.0
