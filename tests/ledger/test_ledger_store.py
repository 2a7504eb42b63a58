"""Group commit: an awaited row is committed; concurrent rows share batches; errors propagate."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.db.engine import create_engine
from doorman.ledger import Ledger, LedgerRow
from doorman.ledger.models import LedgerEntry
from doorman.ledger.store import LedgerClosed


def make_row(i: int, **overrides: object) -> LedgerRow:
    values: dict[str, object] = dict(
        request_id=f"req-{i}",
        key_id="k1",
        user_id=f"user-{i % 3}",
        tier="free",
        task="chat",
        requested_model="sim-small",
        served_model="sim-small",
        provider="sim",
        input_tokens=10,
        output_tokens=20,
        cost_usd=0.001,
        latency_ms=12.5,
        status=200,
    )
    values.update(overrides)
    return LedgerRow(**values)  # type: ignore[arg-type]


async def count_rows(url_engine: AsyncEngine) -> int:
    async with url_engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(LedgerEntry))).scalar_one())


async def test_awaited_row_is_visible_from_another_connection(
    engine: AsyncEngine, database_url: str
) -> None:
    ledger = Ledger(engine, max_batch=500, max_delay_ms=5)
    await ledger.start()
    try:
        await ledger.record(make_row(1, flags="pii", stream=True, wire="anthropic"))
        # A separate engine (another process would see the same): the row is committed.
        other = create_engine(database_url)
        try:
            async with other.connect() as conn:
                row = (await conn.execute(select(LedgerEntry))).one()
        finally:
            await other.dispose()
    finally:
        await ledger.close()
    assert row.request_id == "req-1"
    assert row.flags == "pii" and row.stream is True and row.wire == "anthropic"
    assert row.ts.tzinfo is not None


async def test_concurrent_records_share_batches(engine: AsyncEngine) -> None:
    batches: list[int] = []
    ledger = Ledger(
        engine, max_batch=100, max_delay_ms=20, on_batch=lambda n, _s: batches.append(n)
    )
    await ledger.start()
    try:
        await asyncio.gather(*(ledger.record(make_row(i)) for i in range(250)))
        assert await count_rows(engine) == 250
    finally:
        await ledger.close()
    assert sum(batches) == 250
    assert len(batches) <= 5  # 250 rows, batches of <= 100: three or so, never one per row
    assert max(batches) == 100
    assert ledger.rows_committed == 250


async def test_close_flushes_rows_queued_but_not_yet_committed(engine: AsyncEngine) -> None:
    ledger = Ledger(engine, max_batch=1000, max_delay_ms=10_000)
    await ledger.start()
    waiters = [asyncio.create_task(ledger.record(make_row(i))) for i in range(10)]
    await asyncio.sleep(0)
    await ledger.close()
    await asyncio.gather(*waiters)
    assert await count_rows(engine) == 10
    with pytest.raises(LedgerClosed):
        await ledger.record(make_row(99))


async def test_a_bad_row_fails_alone_and_the_writer_survives(engine: AsyncEngine) -> None:
    ledger = Ledger(engine, max_batch=500, max_delay_ms=20)
    await ledger.start()
    try:
        # A NOT NULL violation (status=None) is rejected; its batch-mates still commit.
        results = await asyncio.gather(
            ledger.record(make_row(1)),
            ledger.record(make_row(2, status=None)),
            ledger.record(make_row(3, task="t" * 500, request_id="r" * 300)),  # clipped
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], Exception)
        await ledger.record(make_row(4))
    finally:
        await ledger.close()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(LedgerEntry.request_id, LedgerEntry.task))).all()
    assert sorted(r.request_id for r in rows) == sorted(["r" * 64, "req-1", "req-4"])
    assert {len(r.task) for r in rows} == {4, 64}


async def test_database_errors_reach_every_awaiter_of_the_batch(database_url: str) -> None:
    broken = create_engine(database_url)  # not migrated: the ledger table does not exist
    ledger = Ledger(broken, max_delay_ms=20)
    await ledger.start()
    try:
        results = await asyncio.gather(
            *(ledger.record(make_row(i)) for i in range(3)), return_exceptions=True
        )
    finally:
        await ledger.close()
        await broken.dispose()
    assert all(isinstance(r, Exception) for r in results)


async def test_cancelled_request_still_lands_its_row(engine: AsyncEngine) -> None:
    ledger = Ledger(engine, max_batch=500, max_delay_ms=30)
    await ledger.start()
    try:
        task = asyncio.create_task(ledger.record(make_row(1)))
        await asyncio.sleep(0.001)
        task.cancel()
        await ledger.record(make_row(2))
    finally:
        await ledger.close()
    assert await count_rows(engine) == 2


async def test_disabled_ledger_records_nothing() -> None:
    ledger = Ledger.disabled()
    await ledger.start()
    await ledger.record(make_row(1))
    await ledger.close()
    assert ledger.enabled is False


async def test_timestamps_are_stored_in_utc(engine: AsyncEngine) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 3, 1, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    ledger = Ledger(engine)
    await ledger.start()
    try:
        await ledger.record(make_row(1, ts=local))
    finally:
        await ledger.close()
    async with engine.connect() as conn:
        ts = (await conn.execute(select(LedgerEntry.ts))).scalar_one()
        await conn.execute(text("SELECT 1"))
    assert ts == local.astimezone(UTC)


async def test_sqlite_writer_stores_rows_exactly_as_sqlalchemy_does(tmp_path: Path) -> None:
    """The fast SQLite writer must not change the stored format (reports compare strings)."""
    from sqlalchemy import insert

    from doorman.db.migrate import upgrade_async
    from doorman.ledger.store import _values

    url = f"sqlite+aiosqlite:///{tmp_path}/fmt.db"
    await upgrade_async(url)
    engine = create_engine(url)
    ledger = Ledger(engine)
    await ledger.start()
    ts = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)  # microsecond 0: the format's edge case
    await ledger.record(LedgerRow(request_id="fast", ts=ts, user_id="u", status=200,
                                  cost_usd=0.25, cache_hit=True))  # fmt: skip
    await ledger.close()
    async with engine.begin() as conn:
        await conn.execute(insert(LedgerEntry), [_values(
            LedgerRow(request_id="core", ts=ts, user_id="u", status=200, cost_usd=0.25, cache_hit=True)
        )])  # fmt: skip
    await engine.dispose()
    with sqlite3.connect(tmp_path / "fmt.db") as db:
        rows = db.execute("SELECT ts, cost_usd, cache_hit, status FROM ledger ORDER BY id").fetchall()
    assert rows[0] == rows[1] and rows[0][0] == "2024-01-02 03:04:05.000000"


async def test_sqlite_commits_on_the_loop_and_never_waits_there_for_a_lock(tmp_path: Path) -> None:
    """Batches commit on the event loop (no thread hand-off) unless another writer holds the
    database: then the loop keeps serving while the writer thread waits, and the row lands once
    the lock is gone. Checkpoints (the fsync) run on the writer thread."""
    from doorman.db.migrate import upgrade_async

    url = f"sqlite+aiosqlite:///{tmp_path}/lock.db"
    await upgrade_async(url)
    engine = create_engine(url)
    ledger = Ledger(engine, max_delay_ms=0)
    await ledger.start()
    writer = ledger._sqlite
    assert writer is not None
    writer.CHECKPOINT_ROWS = 3  # type: ignore[misc]
    other = sqlite3.connect(tmp_path / "lock.db", isolation_level=None, check_same_thread=False)
    try:
        for i in range(4):
            await ledger.record(make_row(i))
        assert (writer.batches_on_loop, writer.batches_on_thread) == (4, 0)
        other.execute("BEGIN IMMEDIATE")  # another writer (key management, audit) holds the lock
        pending = asyncio.ensure_future(ledger.record(make_row(99)))
        ticks = 0
        for _ in range(20):  # the loop is not blocked while the row waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not pending.done()
        other.execute("COMMIT")
        await asyncio.wait_for(pending, 10)
        assert writer.batches_on_thread == 1
    finally:
        other.close()
        await ledger.close()
    with sqlite3.connect(tmp_path / "lock.db") as db:
        ids = sorted(r[0] for r in db.execute("SELECT request_id FROM ledger"))
    assert ids == sorted(["req-0", "req-1", "req-2", "req-3", "req-99"])
    await engine.dispose()
