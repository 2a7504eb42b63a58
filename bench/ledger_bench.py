"""Ledger on vs off: throughput of a minimal gateway-shaped endpoint, same run, same machine.

Each mode runs a small Starlette app under uvicorn in its own process; every request builds a
LedgerRow and (mode ``on``) awaits its group commit. Load: aiohttp, N concurrent connections.
Reports requests/s per mode and the ratio on/off (the target is >= 0.9).

    .venv/bin/python bench/ledger_bench.py [--seconds 5] [--concurrency 50] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator


def serve(mode: str, port: int, db: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from doorman.db.engine import create_engine
    from doorman.db.migrate import upgrade
    from doorman.ledger import Ledger, LedgerRow

    if mode == "on":
        upgrade(db)
        ledger = Ledger(create_engine(db), max_batch=500, max_delay_ms=5)
    else:
        ledger = Ledger.disabled()

    async def handle(request: Request) -> Response:
        started = time.perf_counter()
        await request.body()
        row = LedgerRow(
            request_id=uuid.uuid4().hex, user_id="bench", key_id="k", tier="pro",
            served_model="sim-small", provider="sim", input_tokens=12, output_tokens=30,
            cost_usd=0.00002, latency_ms=(time.perf_counter() - started) * 1000,
        )  # fmt: skip
        await ledger.record(row)
        return Response(b'{"ok":true}', media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await ledger.start()
        try:
            yield
        finally:
            await ledger.close()

    app = Starlette(routes=[Route("/", handle, methods=["POST"])], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def load(port: int, seconds: float, concurrency: int) -> float:
    import aiohttp

    url = f"http://127.0.0.1:{port}/"
    done = 0
    deadline = 0.0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with session.post(url, data=b'{"messages":[]}') as resp:
                await resp.read()
                done += resp.status == 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + 1.0  # warm-up
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        done = 0
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("bench server did not start")


def measure(mode: str, db: str, seconds: float, concurrency: int) -> float:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", mode, "--port", str(port),
                             "--db", db])  # fmt: skip
    try:
        wait_port(port)
        return asyncio.run(load(port, seconds, concurrency))
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", choices=["on", "off"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.db)
        return
    # Alternate off/on rounds: a noisy machine then hurts both modes alike.
    offs: list[float] = []
    ons: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite+aiosqlite:///{os.path.join(tmp, 'bench.db')}"
        for _ in range(args.rounds):
            offs.append(measure("off", db, args.seconds, args.concurrency))
            ons.append(measure("on", db, args.seconds, args.concurrency))
    ratios = sorted(on / off for on, off in zip(ons, offs, strict=True))
    print(f"ledger off: {' '.join(f'{x:7.0f}' for x in offs)} req/s")
    print(f"ledger on:  {' '.join(f'{x:7.0f}' for x in ons)} req/s")
    print(f"ratio on/off (median of {args.rounds}): {ratios[len(ratios) // 2]:.3f} (target >= 0.9)")

if __name__ == "__main__":
    main()
