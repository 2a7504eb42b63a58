"""An open-loop load driver: requests evenly spaced (or Poisson) at a fixed rate, any number in flight.

    .venv/bin/python bench/paced_load.py URL [--rate 200] [--duration 15] [--key KEY] \\
        [--arrivals even|poisson] [--body FILE]

Why not ``hey -q``: each of hey's ``-c`` workers ticks at ``-q`` per second and they all start
together, so ``hey -c 10 -q 20`` sends ten requests in the same instant every 50 ms — a burst
of ten, not 200 requests per second — and the median request waits for the CPU of about the
whole burst (bench/RESULTS.md, "Fixed-load latency, streams, soak"). Here request *i* is sent
at ``start + i / rate`` whatever happened to the earlier ones (no coordinated omission): on an
idle keep-alive connection if there is one, otherwise on a new one. Latency is measured from the
send to the last byte of the answer; how late each send was against its schedule is reported
too, so a run whose driver fell behind (a busy machine) shows it. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Driver:
    def __init__(self, url: str, key: str | None, body: bytes) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        head = [f"POST {parts.path or '/'} HTTP/1.1", f"host: {parts.netloc}",
                "content-type: application/json", f"content-length: {len(body)}"]  # fmt: skip
        if key:
            head.append(f"authorization: Bearer {key}")
        self.request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        self.idle: list[Conn] = []
        self.opened = 0
        self.latencies: list[float] = []
        self.lateness: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0

    async def connection(self) -> tuple[Conn, bool]:
        """An idle keep-alive connection the server has not closed, or a new one (and which)."""
        while self.idle:
            conn = self.idle.pop()
            if not conn[0].at_eof():
                return conn, True
            conn[1].close()  # the server's keep-alive timeout closed it while idle
        conn = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return conn, False

    async def exchange(self, conn: Conn) -> int:
        """Send the request on ``conn`` and read the whole answer; its status."""
        reader, writer = conn
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    async def one(self, scheduled: float, record: bool) -> None:
        late = time.perf_counter() - scheduled
        conn, reused = await self.connection()
        sent = time.perf_counter()
        try:
            try:
                status = await self.exchange(conn)
            except (OSError, asyncio.IncompleteReadError) as exc:
                # A kept-alive connection closed by the server just as it was reused: nothing
                # was answered, so send again on a new one (what an HTTP client does).
                partial = isinstance(exc, asyncio.IncompleteReadError) and exc.partial
                if not reused or partial:
                    raise
                conn[1].close()
                conn = await asyncio.open_connection(self.host, self.port)
                self.opened += 1
                status = await self.exchange(conn)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            conn[1].close()
            self.errors += 1
            return
        done = time.perf_counter()
        self.idle.append(conn)
        if record:
            self.latencies.append(done - sent)
            self.lateness.append(late)
            self.statuses[status] = self.statuses.get(status, 0) + 1

    async def run(self, rate: float, seconds: float, arrivals: str, record: bool) -> None:
        rng = random.Random(1)
        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        at = start
        while at < start + seconds:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.one(at, record))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            at += rng.expovariate(rate) if arrivals == "poisson" else 1.0 / rate
        if tasks:
            await asyncio.wait(tasks)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")


async def main_async(args: argparse.Namespace, body: bytes) -> dict[str, object]:
    driver = Driver(args.url, args.key, body)
    await driver.run(args.rate, args.warmup, args.arrivals, record=False)
    began = time.perf_counter()
    await driver.run(args.rate, args.duration, args.arrivals, record=True)
    wall = time.perf_counter() - began
    for _, writer in driver.idle:
        writer.close()
    lat = [x * 1000 for x in driver.latencies]
    late = [x * 1000 for x in driver.lateness]
    return {
        "rps": len(lat) / wall,
        **{f"p{p}_ms": percentile(lat, p) for p in (10, 50, 90, 99)},
        "late_p50_ms": percentile(late, 50),
        "late_p99_ms": percentile(late, 99),
        "non_2xx": sum(n for s, n in driver.statuses.items() if not 200 <= s < 300) + driver.errors,
        "connections": driver.opened,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", help="e.g. http://127.0.0.1:8080/v1/chat/completions")
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second")
    ap.add_argument("--duration", type=float, default=15.0, help="seconds measured")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds sent first, not measured")
    ap.add_argument("--key", default=None, help="sent as Authorization: Bearer KEY")
    ap.add_argument("--arrivals", choices=("even", "poisson"), default="even")
    ap.add_argument("--body", default=None, help="JSON body file (default: the bench prompt)")
    args = ap.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    body = Path(args.body).read_bytes() if args.body else json.dumps(
        {"model": "bench-model", "max_tokens": 16,
         "messages": [{"role": "user", "content": "Summarise the plot of Hamlet in two sentences."}]}
    ).encode()  # fmt: skip
    json.dump(asyncio.run(main_async(args, body)), sys.stdout)
    print()


if __name__ == "__main__":
    main()
