"""Durability: a writer killed with SIGKILL loses no row whose record() had returned."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

from sqlalchemy import select

from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.ledger.models import LedgerEntry

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from doorman.db.engine import create_engine
    from doorman.ledger import Ledger, LedgerRow

    async def main(url: str) -> None:
        ledger = Ledger(create_engine(url), max_delay_ms=2)
        await ledger.start()

        async def client(n: int) -> None:
            i = 0
            while True:
                request_id = f"c{n}-{i}"
                await ledger.record(LedgerRow(request_id=request_id, user_id=f"u{n}"))
                sys.stdout.write(request_id + "\\n")  # the "200 OK" the client saw
                sys.stdout.flush()
                i += 1

        await asyncio.gather(*(client(n) for n in range(20)))

    asyncio.run(main(sys.argv[1]))
    """
)


async def committed_ids(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set((await conn.execute(select(LedgerEntry.request_id))).scalars().all())
    finally:
        await engine.dispose()


def test_acknowledged_rows_survive_sigkill(database_url: str) -> None:
    asyncio.run(upgrade_async(database_url))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, database_url], stdout=subprocess.PIPE, text=True
    )
    acked: list[str] = []
    try:
        assert proc.stdout is not None
        while len(acked) < 400:
            line = proc.stdout.readline()
            assert line, "writer exited early"
            acked.append(line.strip())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        # Read through the same buffered reader as readline() (communicate() would bypass it).
        assert proc.stdout is not None
        rest = proc.stdout.read()
    # Lines written before the kill are acknowledgements too (a torn last line is not).
    before_kill = len(acked)
    acked += [line for line in rest.split("\n")[:-1] if line]
    stored = asyncio.run(committed_ids(database_url))
    missing = set(acked) - stored
    assert not missing, (
        f"{len(missing)} of {len(acked)} acknowledged rows lost ({before_kill} read before the "
        f"kill, {len(stored)} stored), e.g. {sorted(missing)[:5]}, "
        f"lost before kill: {len(missing & set(acked[:before_kill]))}"
    )
    assert len(stored) >= len(acked)
