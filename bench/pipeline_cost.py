"""Where the gateway's own time goes: microseconds per request for each pipeline stage.

Builds a real Gateway (SQLite, in-process or Redis limits, ledger, metrics, screening) in this
process, replaces only the upstream call with a canned reply, and runs the pipeline N times,
timing every stage. The proxy benchmark says *how much* the gateway costs next to a bare proxy;
this says *where*, so optimisation goes where the time is.

    .venv/bin/python bench/pipeline_cost.py [-n 5000] [-c 50] [--redis-url redis://...] \\
        [--no-screen] [--no-ledger] [--cache] 2>/dev/null

With ``--cache`` the tier caches answers and every timed request is a cache hit (the warm-up
stores the answer). With ``--upstream`` the upstream call is real (the dispatcher and its HTTP
client against the nginx canned upstream of proxy_bench, or the sim): the difference in
"us CPU per request" from a run without it is what forwarding costs. The bookkeeping after the call is split into its parts: settlement, the
ledger hand-off (queueing the row) and the wait for its group commit, metrics, anomaly
baselines and the log line; ``finish (rest)`` is what remains (row building, budget check).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from proxy_bench import CANNED, PROMPT, Procs, gateway_config, start_upstream

from doorman.config import parse_settings
from doorman.exchange import Exchange
from doorman.pipeline import Pipeline
from doorman.server.build import build_gateway, close_gateway
from doorman.upstream.dispatch import UpstreamReply


def settings_for(
    tmp: str, redis_url: str | None, screen: bool, ledger: bool, cache: bool = False,
    upstream: str = "http://127.0.0.1:9",
) -> Any:
    database_url = f"sqlite+aiosqlite:///{tmp}/doorman.db"
    raw = gateway_config(
        database_url, f"{upstream}/v1", ledger=ledger, screen=screen, redis_url=redis_url,
        cache=cache,
    )  # fmt: skip
    return parse_settings(raw)


def time_calls(obj: Any, attr: str, label: str, spent: dict[str, float]) -> None:
    """Wrap ``obj.attr`` so the time spent inside it is added to ``spent[label]``."""
    inner = getattr(obj, attr)
    if asyncio.iscoroutinefunction(inner):

        async def timed_async(*args: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return await inner(*args, **kw)
            finally:
                spent[label] += time.perf_counter() - t

        setattr(obj, attr, timed_async)
        return

    def timed(*args: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return inner(*args, **kw)
        finally:
            spent[label] += time.perf_counter() - t

    setattr(obj, attr, timed)


async def run(
    n: int, redis_url: str | None, screen: bool, ledger: bool, concurrency: int = 50,
    cache: bool = False, upstream: str | None = None,
) -> None:  # fmt: skip
    from doorman.observe.logging import configure_logging

    configure_logging("info")  # the real JSON request line, to stderr (redirect it)
    os.environ.setdefault("DOORMAN_PEPPER", "bench-pepper-0123456789abcdef0123456789")
    os.environ.setdefault("DOORMAN_MASTER_KEY", "dm-master-bench-" + "x" * 32)
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(tmp, redis_url, screen, ledger, cache, upstream or "http://127.0.0.1:9")
        gw, _ = await build_gateway(settings)
        try:
            from doorman.auth.service import KeyService

            created = await KeyService(gw.engine, settings).create(user="bench", tier="bench")
            key = created.key if hasattr(created, "key") else created["key"]
            canned = CANNED.encode()

            async def fake_send(deployments: Any, wire: Any, build_body: Any, **kw: Any) -> Any:
                dep = deployments[0]
                orjson.dumps(build_body(dep, wire))
                return UpstreamReply(dep, wire, 200, {}, body=canned)

            if upstream is None:
                gw.dispatcher.send = fake_send  # type: ignore[method-assign]
            pipeline = Pipeline(gw)
            spent: dict[str, float] = defaultdict(float)
            names = [type(s).__name__ for s in pipeline.stages]
            from doorman.cache.stage import cached_reply

            # The parts of the bookkeeping, timed inside "finish" and subtracted from it.
            parts = ["settle", "ledger hand-off", "metrics", "anomaly", "log line"]
            inside: dict[str, float] = defaultdict(float)
            time_calls(gw.limiter, "settle_nowait", "settle", inside)
            time_calls(gw.ledger, "submit", "ledger hand-off", inside)
            time_calls(gw.metrics, "observe_request", "metrics", inside)
            if gw.anomaly is not None:
                time_calls(gw.anomaly, "observe", "anomaly", inside)
            try:  # the request line's writer (older trees: structlog's logger)
                from doorman.observe.request_log import REQUEST_LOG

                time_calls(REQUEST_LOG, "emit", "log line", inside)
            except ImportError:
                from doorman.server import bookkeeping

                time_calls(bookkeeping.log, "info", "log line", inside)
            raw = orjson.dumps(PROMPT)
            headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}

            async def one(timed: bool) -> None:
                t0 = time.perf_counter()
                ex = Exchange(
                    request_id="req_bench",
                    wire="openai",
                    method="POST",
                    path="/v1/chat/completions",
                    headers=dict(headers),
                    raw_body=raw,
                    client_ip="127.0.0.1",
                )
                t = time.perf_counter()
                spent["exchange"] += t - t0
                for name, stage in zip(names, pipeline.stages, strict=True):
                    await stage(ex)
                    now = time.perf_counter()
                    spent[name] += now - t
                    t = now
                    if ex.cache_hit:
                        await pipeline.finish(ex)
                        now = time.perf_counter()
                        spent["finish"] += now - t
                        t = now
                        cached_reply(ex, pipeline.response_headers(ex))
                        now = time.perf_counter()
                        spent["reply"] += now - t
                        break
                else:
                    await pipeline.forward(ex)
                    now = time.perf_counter()
                    spent["forward+finish"] += now - t
                spent["total"] += now - t0

            async def batch(count: int) -> None:
                async def worker(share: int) -> None:
                    for _ in range(share):
                        await one(True)

                await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))

            await batch(min(1000, n))
            spent.clear()
            inside.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            await batch(n)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            done = n // concurrency * concurrency
            print(f"{done} requests, {concurrency} at a time: {done / wall:.0f} req/s in-process, "
                  f"{cpu / done * 1e6:.1f} us CPU per request (all threads)")
            print(f"{'stage (wall)':<18}{'us/request':>12}")
            finish = "finish" if "finish" in spent else "forward+finish"
            spent[finish] -= sum(inside.values())
            for name, total in spent.items():
                if name == "total":
                    for part in parts:
                        print(f"  {part:<16}{inside[part] / done * 1e6:>12.1f}")
                label = f"{finish} (rest)" if name == finish else name
                print(f"{label:<18}{total / done * 1e6:>12.1f}")
        finally:
            await close_gateway(gw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--redis-url", default=None)
    ap.add_argument("--no-screen", action="store_true")
    ap.add_argument("--no-ledger", action="store_true")
    ap.add_argument("-c", "--concurrency", type=int, default=50)
    ap.add_argument("--cache", action="store_true", help="every timed request is a cache hit")
    ap.add_argument("--upstream", action="store_true",
                    help="a real upstream call (nginx canned answer) instead of a canned reply")  # fmt: skip
    args = ap.parse_args()
    procs = Procs()
    try:
        upstream = None
        if args.upstream:
            work = Path(tempfile.mkdtemp(prefix="pipeline-cost-"))
            upstream, kind = start_upstream(procs, work)
            print(f"upstream: {kind} at {upstream}")
        asyncio.run(
            run(args.n, args.redis_url, not args.no_screen, not args.no_ledger, args.concurrency,
                args.cache, upstream)
        )  # fmt: skip
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
