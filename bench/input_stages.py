"""CPU of the input half of the request path, stage by stage, in microseconds per request.

Builds the benchmark gateway (``pipeline_cost.settings_for``: no screening, no ledger) and runs
authenticate, validate (with token counting), route and admit, then the rate-limit headers
and the settlement, on chunks of 50 requests in flight (so limits hold 50 reservations, as a
served gateway under ``wrk -c50`` does). Times are this thread's CPU (``time.thread_time``),
best of ``--rounds`` rounds of 1,000 requests, so other processes on a busy machine count
for little. ``--redis-url`` puts the limits on Redis (admission and settlement are then
awaited together per chunk, as concurrent requests would be).

    .venv/bin/python bench/input_stages.py [--rounds 7] [--redis-url redis://127.0.0.1:6379/12]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_cost import settings_for
from proxy_bench import PROMPT

from doorman.exchange import Exchange
from doorman.limits import rate_limit_headers
from doorman.pipeline import Pipeline
from doorman.server.build import build_gateway, close_gateway

STAGES = ["Authenticate", "Validate", "Route", "Admit"]


async def run(rounds: int, redis_url: str | None) -> None:
    os.environ.setdefault("DOORMAN_PEPPER", "bench-pepper-0123456789abcdef0123456789")
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(tmp, redis_url, False, False)
        gw, _ = await build_gateway(settings)
        try:
            from doorman.auth.service import KeyService

            created: Any = await KeyService(gw.engine, settings).create(user="bench", tier="bench")
            key = created.key if hasattr(created, "key") else created["key"]
            stages = {type(s).__name__: s for s in Pipeline(gw).stages}
            raw = orjson.dumps(PROMPT)
            headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}

            def exchange() -> Exchange:
                return Exchange(
                    request_id="req_bench", wire="openai", method="POST",
                    path="/v1/chat/completions", headers=dict(headers), raw_body=raw,
                    client_ip="127.0.0.1",
                )  # fmt: skip

            async def settle(ex: Exchange) -> None:
                if not gw.limiter.settle_nowait(ex.reservation, tokens=30, usd=0.00001):
                    await gw.limiter.settle(ex.reservation, tokens=30, usd=0.00001)

            async def one_round() -> dict[str, float]:
                spent: dict[str, float] = defaultdict(float)
                for _ in range(20):
                    chunk = [exchange() for _ in range(50)]
                    for name in STAGES:
                        stage = stages[name]
                        t = time.thread_time()
                        if redis_url and name == "Admit":
                            await asyncio.gather(*(stage(ex) for ex in chunk))
                        else:
                            for ex in chunk:
                                await stage(ex)
                        spent[name] += time.thread_time() - t
                    t = time.thread_time()
                    for ex in chunk:
                        rate_limit_headers(ex.reservation)
                    spent["(headers, inside Admit)"] += time.thread_time() - t
                    t = time.thread_time()
                    if redis_url:
                        await asyncio.gather(*(settle(ex) for ex in chunk))
                    else:
                        for ex in chunk:
                            await settle(ex)
                    spent["settle"] += time.thread_time() - t
                return spent

            await one_round()  # warm-up: caches, scripts, connections
            gc.collect()
            gc.freeze()
            best: dict[str, float] = {}
            total = float("inf")
            for _ in range(rounds):
                t = time.thread_time()
                spent = await one_round()
                total = min(total, time.thread_time() - t)
                for name, seconds in spent.items():
                    best[name] = min(best.get(name, float("inf")), seconds)
            print(f"{'stage (thread CPU)':<26}{'us/request':>11}")
            for name, seconds in best.items():
                print(f"{name:<26}{seconds / 1000 * 1e6:>11.1f}")
            print(f"{'all of the above':<26}{total / 1000 * 1e6:>11.1f}")
        finally:
            await close_gateway(gw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--redis-url", default=None)
    args = ap.parse_args()
    uvloop.run(run(args.rounds, args.redis_url))


if __name__ == "__main__":
    main()
