"""A small, known ledger history shared by the report, CLI and admin tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.ledger import Ledger, LedgerRow

NOW = datetime(2026, 5, 14, 15, 0, tzinfo=UTC)


def history(now: datetime = NOW) -> list[LedgerRow]:
    rows: list[LedgerRow] = []

    def add(i: int, ago: timedelta, user: str, **kw: object) -> None:
        values: dict[str, object] = dict(
            request_id=f"req-{i:03d}", ts=now - ago, key_id=f"key-{user}", user_id=user,
            tier="pro", task="chat", requested_model="gpt-x", served_model="sim-small",
            provider="sim", input_tokens=100, output_tokens=50, cost_usd=0.10, latency_ms=100.0,
            upstream_ms=90.0, status=200,
        )  # fmt: skip
        values.update(kw)
        rows.append(LedgerRow(**values))  # type: ignore[arg-type]

    # today: alice 3 requests (one cached, one refused), bob 1 expensive one on another model
    add(1, timedelta(hours=1), "alice")
    add(2, timedelta(hours=2), "alice", cache_hit=True, cost_usd=0.0, task="summarize")
    add(3, timedelta(hours=3), "alice", status=429, error_code="rate_limited", cost_usd=0.0,
        input_tokens=0, output_tokens=0, served_model=None)  # fmt: skip
    add(4, timedelta(hours=4), "bob", served_model="sim-large", cost_usd=0.60, ttft_ms=80.0)
    # two days ago: alice 2 requests
    add(5, timedelta(days=2), "alice", cost_usd=0.20)
    add(6, timedelta(days=2, hours=1), "alice", cost_usd=0.20, task="summarize")
    # 40 days ago: outside every report window and the month
    add(7, timedelta(days=40), "carol", cost_usd=5.0)
    return rows


async def seed(engine: AsyncEngine, rows: list[LedgerRow] | None = None) -> list[LedgerRow]:
    rows = rows if rows is not None else history()
    ledger = Ledger(engine)
    await ledger.start()
    try:
        for row in rows:
            await ledger.record(row)
    finally:
        await ledger.close()
    return rows


def seeded_config(database_url: str, tmp_path: Path) -> Path:
    """A config file pointing at a database seeded with :func:`history` ending now.

    Reports cut at local midnight; the seeded rows are 1-4 hours old. The config's zone is one
    where it is about noon now, which keeps them in "today" whenever the suite runs.
    """
    from doorman.db.engine import create_engine
    from doorman.db.migrate import upgrade_async

    async def prepare() -> None:
        await upgrade_async(database_url)
        engine = create_engine(database_url)
        try:
            await seed(engine, history(datetime.now(UTC)))
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    shift = 12 - datetime.now(UTC).hour
    zone = "Etc/GMT" if shift == 0 else f"Etc/GMT{-shift:+d}"
    path = tmp_path / "doorman.yaml"
    path.write_text(f"database_url: {database_url}\ntimezone: {zone}\n")
    return path
