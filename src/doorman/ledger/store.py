"""Group commit: every request awaits the commit of the batch holding its row.

Why: an acknowledged request must be in the ledger even if the process is killed right after,
yet a commit per request would put the database on the hot path. Rows wait at most
``max_delay_ms`` for company, then one statement commits the whole batch (SQLite: one
multi-row INSERT; PostgreSQL: one binary COPY) and every awaiter of that batch wakes up
together. While a batch commits, the next one fills.

Rows go to the database as parameter tuples read straight off the :class:`LedgerRow` in column
order (:class:`_RowCodec`), not through SQLAlchemy's per-row statement machinery, which cost
more than the database's own work per row (bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import String, exc, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from doorman.db.engine import create_sync_sqlite_engine, is_in_memory_sqlite
from doorman.ledger.models import LedgerEntry
from doorman.ledger.row import COLUMNS, LedgerRow

log = structlog.get_logger("doorman.ledger")

BatchObserver = Callable[[int, float], None]
"""Called after each committed batch with (rows, seconds) — e.g. Metrics.observe_ledger_batch."""



class LedgerClosed(RuntimeError):
    """record() after close(): the row would never be committed."""


class Ledger:
    """Durable, group-committed, insert-only usage ledger."""

    def __init__(
        self,
        engine: AsyncEngine | None,
        *,
        max_batch: int = 500,
        max_delay_ms: float = 5.0,
        on_batch: BatchObserver | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.engine = engine
        self.max_batch = max_batch
        self.max_delay = max(0.0, max_delay_ms) / 1000.0
        self.on_batch = on_batch
        self._pending: list[tuple[LedgerRow, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # One dedicated connection: no pool checkout or reset-on-return per batch.
        self._conn: AsyncConnection | None = None
        self._sqlite = _SQLiteWriter.for_engine(engine)
        self._postgres = _PostgresWriter.for_engine(engine)
        self._closing = False
        self.batches_committed = 0
        self.rows_committed = 0

    @classmethod
    def disabled(cls) -> Ledger:
        """A ledger that records nothing (``ledger_enabled: false``; the benchmark baseline)."""
        return _DisabledLedger()

    @property
    def enabled(self) -> bool:
        return True

    async def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="doorman-ledger")
            self._task.add_done_callback(self._writer_stopped)

    async def record(self, row: LedgerRow) -> None:
        """Queue ``row`` and return once the batch holding it is committed.

        A failed commit raises here, in every awaiter of that batch.
        """
        # shield: a cancelled request must not cancel the shared batch; its row still lands.
        await asyncio.shield(self.submit(row))

    def submit(self, row: LedgerRow) -> asyncio.Future[None]:
        """Queue ``row``; the future completes when its batch is committed (or fails).

        Await it through ``asyncio.shield`` — cheaper than shielding :meth:`record`, which
        needs a task of its own.
        """
        if self._closing or self._task is None:
            raise LedgerClosed("the ledger is not running")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_consume)
        self._pending.append((row, fut))
        self._wakeup.set()
        return fut

    async def close(self) -> None:
        """Stop accepting rows, commit everything queued, stop the writer."""
        self._closing = True
        task, self._task = self._task, None
        if task is None:
            return
        self._wakeup.set()
        try:
            await task
        finally:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()
            if self._sqlite is not None:
                await self._sqlite.close()
            if self._postgres is not None:
                await self._postgres.close()

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._linger()
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            await self._commit(batch)

    def _writer_stopped(self, task: asyncio.Task[None]) -> None:
        """Never leave an awaiter hanging: if the writer dies, its queue fails loudly."""
        if self._pending:
            error: BaseException = LedgerClosed("the ledger writer stopped")
            if not task.cancelled() and task.exception() is not None:
                error = task.exception() or error
            pending, self._pending = self._pending, []
            _settle(pending, error)
        if self._task is task:
            self._task = None
            self._closing = True

    async def _linger(self) -> None:
        """Let rows that are ready right now join the batch, without a fixed sleep.

        Yields to the event loop while each pass brings new rows (requests finishing in the
        same instant), up to ``max_delay_ms``. Under load batches form anyway while the
        previous batch commits; a fixed linger would only add latency to every request.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_delay
        while len(self._pending) < self.max_batch and not self._closing:
            before = len(self._pending)
            await asyncio.sleep(0)
            if len(self._pending) == before or loop.time() >= deadline:
                return

    async def _commit(self, batch: list[tuple[LedgerRow, asyncio.Future[None]]]) -> None:
        started = time.perf_counter()
        try:
            await self._insert([row for row, _ in batch])
        except asyncio.CancelledError:
            _settle(batch, LedgerClosed("the ledger writer stopped before this batch committed"))
            raise
        except Exception as error:
            if len(batch) > 1 and isinstance(error, exc.IntegrityError | exc.DataError):
                # One bad row must not sink its neighbours: retry them one by one.
                log.warning("ledger_batch_rejected", rows=len(batch), error=type(error).__name__)
                await self._commit_one_by_one(batch)
            else:
                _settle(batch, error)
        else:
            _settle(batch, None)
            self.batches_committed += 1
            self.rows_committed += len(batch)
        if self.on_batch is not None:
            with contextlib.suppress(Exception):
                self.on_batch(len(batch), time.perf_counter() - started)

    async def _commit_one_by_one(self, batch: list[tuple[LedgerRow, asyncio.Future[None]]]) -> None:
        for row, fut in batch:
            try:
                await self._insert([row])
            except asyncio.CancelledError:
                _settle([(row, fut)], LedgerClosed("the ledger writer stopped"))
                raise
            except Exception as error:
                _settle([(row, fut)], error)
            else:
                _settle([(row, fut)], None)
                self.rows_committed += 1
        self.batches_committed += 1

    async def _insert(self, rows: list[LedgerRow]) -> None:
        assert self.engine is not None
        if self._sqlite is not None:
            await self._sqlite.insert(rows)
            return
        if self._postgres is not None:
            await self._postgres.insert(rows)
            return
        values = [_values(row) for row in rows]  # another dialect: through SQLAlchemy
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = await self.engine.connect()
        try:
            async with conn.begin():
                await conn.execute(insert(LedgerEntry), values)
        except BaseException:
            # A broken or poisoned connection is replaced before the next batch.
            self._conn = None
            with contextlib.suppress(Exception):
                await conn.close()
            raise


class _SQLiteWriter:
    """SQLite batches as one multi-row INSERT, committed on the event loop when it can be.

    Why on the loop: a batch is one statement and a commit that, in WAL mode with
    ``synchronous=NORMAL``, writes to the WAL file without an fsync -- tens of microseconds.
    Handing it to a thread cost far more in waiting than in work: the thread must take the GIL
    back from a busy event loop (up to the interpreter's 5 ms switch interval) before and after
    the write, and every request of the batch waited for that (issue 20: at 200 requests/s the
    ledger added ~1 ms at p50 and ~12 ms at p99). Why one statement: the same GIL argument,
    once per batch instead of once per row.

    What never runs on the loop: waiting for a lock and fsync. The loop's connection has
    ``busy_timeout=0``, so a batch that meets another writer's lock (key management, audit
    rows) goes to the writer thread, which waits for it as before; and it has automatic
    checkpoints off, so the checkpoint (the fsync) runs on the writer thread every
    ``CHECKPOINT_ROWS`` rows. In-memory databases keep the async path (a second engine would
    open a second, empty database).
    """

    CHECKPOINT_ROWS = 2000

    def __init__(self, url: str) -> None:
        self.engine = create_sync_sqlite_engine(url)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="doorman-ledger")
        self._conn: Any = None  # a DBAPI connection, opened on the writer thread
        self._here: Any = None  # a DBAPI connection of the event loop's (never waits)
        self._since_checkpoint = 0
        self._checkpoint: asyncio.Future[None] | None = None
        self.batches_on_loop = 0
        self.batches_on_thread = 0
        # The INSERT compiled once, with SQLAlchemy's own per-column bind processors (the
        # storage format of datetimes etc. stays exactly SQLAlchemy's).
        compiled = insert(LedgerEntry).compile(dialect=self.engine.dialect, column_keys=COLUMNS)
        head, _, row = str(compiled).rpartition(" VALUES ")
        self._head, self._row = head + " VALUES ", row
        table = LedgerEntry.__table__
        order = list(compiled.positiontup or COLUMNS)
        dialect = self.engine.dialect
        # dialect_impl: a TypeDecorator's own conversion and then the dialect's, as SQLAlchemy
        # itself binds them (plain bind_processor would skip e.g. SQLite's datetime format).
        processors = {name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                      for name in order}  # fmt: skip
        self._codec = _RowCodec(order, {k: f for k, f in processors.items() if f is not None})
        self._width = len(order)
        # SQLite allows 32766 bound variables per statement.
        self._rows_per_statement = max(1, 32000 // len(order))

    @classmethod
    def for_engine(cls, engine: AsyncEngine | None) -> _SQLiteWriter | None:
        if engine is None or engine.dialect.name != "sqlite":
            return None
        url = engine.url.render_as_string(hide_password=False)
        return None if is_in_memory_sqlite(url) else cls(url)

    async def insert(self, rows: list[LedgerRow]) -> None:
        values = self._params(rows)
        if self._insert_here(values):
            self.batches_on_loop += 1
        else:  # another writer holds the lock: wait for it off the loop
            await asyncio.get_running_loop().run_in_executor(self.executor, self._insert, values)
            self.batches_on_thread += 1
        self._since_checkpoint += len(rows)
        if self._since_checkpoint >= self.CHECKPOINT_ROWS and self._checkpoint is None:
            self._since_checkpoint = 0
            loop = asyncio.get_running_loop()
            self._checkpoint = loop.run_in_executor(self.executor, self._run_checkpoint)
            self._checkpoint.add_done_callback(self._checkpointed)

    def _params(self, rows: list[LedgerRow]) -> list[Any]:
        """Every row's values, flat, in the statement's column order."""
        params: list[Any] = []
        encode = self._codec.params
        for row in rows:
            params += encode(row)
        return params

    def _execute(self, conn: Any, params: list[Any]) -> None:
        width = self._width
        count = len(params) // width
        step = self._rows_per_statement
        cursor = conn.cursor()
        for start in range(0, count, step):
            n = min(step, count - start)
            sql = self._head + ", ".join([self._row] * n)
            cursor.execute(sql, params[start * width : (start + n) * width])
        conn.commit()

    def _insert_here(self, values: list[Any]) -> bool:
        """Commit on the calling (event loop) thread; False if the database is locked."""
        conn = self._here
        if conn is None:
            conn = self.engine.raw_connection()
            conn.detach()  # its pragmas below must never reach a pooled connection
            cursor = conn.cursor()
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()
            self._here = conn
        try:
            self._execute(conn, values)
            return True
        except BaseException as error:
            dbapi = self.engine.dialect.loaded_dbapi
            with contextlib.suppress(Exception):
                conn.rollback()
            if isinstance(error, dbapi.OperationalError) and _locked(error):
                return False
            self._here = None
            with contextlib.suppress(Exception):
                conn.close()
            raise self._wrapped(error) from error

    def _insert(self, values: list[Any]) -> None:
        """The writer thread's commit: waits for other writers' locks (``busy_timeout``)."""
        if self._conn is None:
            self._conn = self.engine.raw_connection()
        conn = self._conn
        try:
            self._execute(conn, values)
        except BaseException as error:
            self._conn = None  # roll back and start over on a fresh connection next time
            with contextlib.suppress(Exception):
                conn.rollback()
                conn.close()
            raise self._wrapped(error) from error

    def _wrapped(self, error: BaseException) -> BaseException:
        """Driver errors as SQLAlchemy's, so the caller retries a rejected batch row by row."""
        dbapi = self.engine.dialect.loaded_dbapi
        if isinstance(error, dbapi.IntegrityError):
            return exc.IntegrityError(self._head, None, error)
        if isinstance(error, dbapi.DataError):
            return exc.DataError(self._head, None, error)
        return error

    def _run_checkpoint(self) -> None:
        if self._conn is None:
            self._conn = self.engine.raw_connection()
        cursor = self._conn.cursor()
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        cursor.close()

    def _checkpointed(self, fut: asyncio.Future[None]) -> None:
        self._checkpoint = None
        if not fut.cancelled() and fut.exception() is not None:
            log.warning("ledger_checkpoint_failed", error=type(fut.exception()).__name__)

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self.engine.dispose()

        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self._here is not None:
            with contextlib.suppress(Exception):
                self._here.close()
            self._here = None
        await asyncio.get_running_loop().run_in_executor(self.executor, shut)
        self.executor.shutdown(wait=False)


class _PostgresWriter:
    """PostgreSQL batches as one binary ``COPY ledger (...) FROM STDIN`` on a dedicated asyncpg
    connection: one round trip and no per-row statement work, where SQLAlchemy's executemany
    compiled and converted every row in Python first. COPY is one statement, so a batch
    commits or fails as a whole, as before; a rejected batch is retried row by row."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None
        self._codec = _RowCodec(COLUMNS, {"ts": _utc})

    @classmethod
    def for_engine(cls, engine: AsyncEngine | None) -> _PostgresWriter | None:
        if engine is None or engine.dialect.name != "postgresql":
            return None
        return cls(engine) if engine.dialect.driver == "asyncpg" else None

    async def insert(self, rows: list[LedgerRow]) -> None:
        records = [tuple(self._codec.params(row)) for row in rows]
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = await self.engine.connect()
        try:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                LedgerEntry.__tablename__, records=records, columns=COLUMNS
            )
        except BaseException as error:
            import asyncpg

            if isinstance(error, asyncpg.IntegrityConstraintViolationError):
                raise exc.IntegrityError("COPY ledger", None, error) from error
            if isinstance(error, asyncpg.DataError | asyncpg.exceptions._base.DataError):
                raise exc.DataError("COPY ledger", None, error) from error
            # A broken or poisoned connection is replaced before the next batch.
            self._conn = None
            with contextlib.suppress(Exception):
                await conn.close()
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


class _RowCodec:
    """Ledger rows as parameter lists in one column order: read in one C call
    (``attrgetter``), caller-influenced strings clipped to their column, then each column's
    conversion (SQLAlchemy's bind processors for SQLite, UTC timestamps for COPY)."""

    def __init__(self, order: Sequence[str], convert: dict[str, Callable[[Any], Any]]) -> None:
        self._get = operator.attrgetter(*order)
        self._clip = [(i, _STRING_LIMITS[n]) for i, n in enumerate(order) if n in _STRING_LIMITS]
        self._convert = [(i, convert[n]) for i, n in enumerate(order) if n in convert]

    def params(self, row: LedgerRow) -> list[Any]:
        values = list(self._get(row))
        for i, limit in self._clip:
            value = values[i]
            if value is not None and len(value) > limit:
                values[i] = value[:limit]
        for i, convert in self._convert:
            value = values[i]
            if value is not None:
                values[i] = convert(value)
        return values


def _utc(ts: datetime) -> datetime:
    """What the table stores: an aware UTC timestamp (a naive one is taken as UTC)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _locked(error: BaseException) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _values(row: LedgerRow) -> dict[str, Any]:
    """Column values, caller-influenced strings clipped to their column (never a failed batch)."""
    values = row.as_dict()
    for name, limit in _STRING_LIMITS.items():
        value = values[name]
        if value is not None and len(value) > limit:
            values[name] = value[:limit]
    return values


_STRING_LIMITS: dict[str, int] = {
    column.name: column.type.length
    for column in LedgerEntry.__table__.columns
    if isinstance(column.type, String) and column.type.length and column.name in COLUMNS
}


def _consume(fut: asyncio.Future[None]) -> None:
    # Mark the error as seen even if the awaiter was cancelled (no "never retrieved" noise).
    if not fut.cancelled():
        fut.exception()


def _settle(
    batch: list[tuple[LedgerRow, asyncio.Future[None]]], error: BaseException | None
) -> None:
    for _, fut in batch:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)


class _DisabledLedger(Ledger):
    def __init__(self) -> None:
        super().__init__(None)

    @property
    def enabled(self) -> bool:
        return False

    async def start(self) -> None:
        return None

    async def record(self, row: LedgerRow) -> None:
        return None

    def submit(self, row: LedgerRow) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    async def close(self) -> None:
        return None
