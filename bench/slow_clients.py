"""Legitimate requests served while an attacker holds many slow connections open.

    .venv/bin/python bench/slow_clients.py [--slow 1000] [--requests 300] [--duration 25]

Starts ``doorman serve`` (zero config: SQLite, the built-in simulator) in a temporary directory,
measures a baseline (legitimate chat requests, 10 at a time, nobody else connected), then opens
``--slow`` connections that each send half a request head and stall (re-opened as soon as the
gateway closes one, so ``--slow`` stay open) and measures the same requests again. Prints
requests served / sent, p50/p99 with and without the attacker, and how long the gateway kept a
stalled connection (its header timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
MASTER = "dm-master-bench-" + "x" * 32
BODY = {"model": "sim-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DOORMAN_MASTER_KEY": MASTER,
           "DOORMAN_PEPPER": "bench-pepper-0123456789abcdef0123456789abcdef"}  # fmt: skip
    proc = subprocess.Popen([str(BIN / "doorman"), "serve", "--port", str(port)], cwd=workdir,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the gateway did not start")


async def _legit(url: str, key: str, n: int, concurrency: int = 10) -> tuple[int, list[float]]:
    served = 0
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def one() -> None:
            nonlocal served
            async with sem:
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/chat/completions", json=BODY,
                                          headers={"authorization": f"Bearer {key}"})  # fmt: skip
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    served += 1
                    latencies.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(one() for _ in range(n)))
    return served, latencies


async def _attacker(port: int, count: int, stop: asyncio.Event, held_s: list[float]) -> None:
    """Keep ``count`` connections open, each stalled halfway through its request head."""

    async def one() -> None:
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            opened = time.monotonic()
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            read = asyncio.ensure_future(reader.read())
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait((read, stopped), return_when=asyncio.FIRST_COMPLETED)
            if read.done():
                held_s.append(time.monotonic() - opened)
            read.cancel()
            stopped.cancel()
            writer.close()

    await asyncio.gather(*(one() for _ in range(count)))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(args: argparse.Namespace, port: int, key: str) -> None:
    url = f"http://127.0.0.1:{port}"
    await _legit(url, key, 20)  # warm-up
    base_served, base_lat = await _legit(url, key, args.requests)

    stop = asyncio.Event()
    held: list[float] = []
    attack = asyncio.ensure_future(_attacker(port, args.slow, stop, held))
    await asyncio.sleep(3)  # let the slow connections pile up
    t0 = time.monotonic()
    served = 0
    lat: list[float] = []
    rounds = 0
    while time.monotonic() - t0 < args.duration or rounds == 0:
        s, latencies = await _legit(url, key, args.requests)
        served += s
        lat += latencies
        rounds += 1
    stop.set()
    await attack
    sent = rounds * args.requests
    print(f"slow connections held open: {args.slow} (re-opened when closed)")
    print(f"baseline  : {base_served}/{args.requests} served, p50 {_pct(base_lat, .5):.1f} ms, "
          f"p99 {_pct(base_lat, .99):.1f} ms")  # fmt: skip
    print(f"under slow: {served}/{sent} served, p50 {_pct(lat, .5):.1f} ms, "
          f"p99 {_pct(lat, .99):.1f} ms")  # fmt: skip
    if held:
        print(f"stalled connections closed by the gateway after: median "
              f"{statistics.median(held):.1f} s ({len(held)} closed)")  # fmt: skip
    print(f"ratio p50 under slow / baseline: {_pct(lat, .5) / _pct(base_lat, .5):.2f}")


def main(args: argparse.Namespace) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.slow + 512)), hard))
    workdir = Path(tempfile.mkdtemp(prefix="doorman-slow-bench-"))
    port = _free_port()
    proc = _start(workdir, port)
    try:
        key = httpx.post(f"http://127.0.0.1:{port}/admin/keys",
                         json={"user": "bench", "tier": "enterprise"},
                         headers={"authorization": f"Bearer {MASTER}"}).json()["key"]  # fmt: skip
        asyncio.run(measure(args, port, key))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slow", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--duration", type=float, default=25.0)
    main(parser.parse_args())
