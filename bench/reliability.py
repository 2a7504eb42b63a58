"""Reliability under failure: `doorman sim` processes behind a `doorman serve` process.

Scenarios (each against its own simulated provider, same gateway, same run):

1. flaky      20% 500/503 + 5% 429 (retry-after 1 s): 200 requests at concurrency 20 —
              success rate and upstream attempts per request (from the sim's own counters).
2. fallback   a provider that always fails, with a healthy fallback: who served each request.
3. breaker    a provider that always fails, no fallback: how fast requests fail once the breaker
              is open, how many calls still reach the dead upstream, and recovery after healing.
4. stalled    a provider that never answers: the request deadline holds.
5. herd       200 clients hit a 429 wave (retry-after 1 s) at the same instant: when the retries
              land (from the gateway's `upstream_retry` log lines), with the default jitter and
              with `retry_after_jitter: 0` (a second gateway) for comparison.

    .venv/bin/python bench/reliability.py [--write]   # --write appends/replaces "## Reliability"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

DOORMAN = str(Path(sys.executable).parent / "doorman")
RESULTS = Path(__file__).parent / "RESULTS.md"
MSG = [{"role": "user", "content": "What is the capital of France?"}]
ENV = {
    **os.environ,
    "DOORMAN_MASTER_KEY": "dm-master-bench-" + "x" * 32,
    "DOORMAN_PEPPER": "bench-pepper-0123456789abcdef0123456789abcdef",
}
ENV.pop("PROMETHEUS_MULTIPROC_DIR", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Proc:
    def __init__(self, args: list[str], cwd: Path, port: int, name: str) -> None:
        self.port = port
        self.log = cwd / f"{name}.log"
        self.popen = subprocess.Popen(
            args, cwd=cwd, env=ENV, stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)


@contextmanager
def processes() -> Iterator[list[Proc]]:
    procs: list[Proc] = []
    try:
        yield procs
    finally:
        for p in procs:
            p.stop()


def start_sim(procs: list[Proc], work: Path, name: str, *args: str) -> Proc:
    port = free_port()
    proc = Proc([DOORMAN, "sim", "--port", str(port), *args], work, port, f"sim-{name}")
    procs.append(proc)
    wait_http(f"{proc.url}/sim/stats")
    return proc


def start_gateway(procs: list[Proc], work: Path, name: str, config: dict[str, Any]) -> Proc:
    gw_dir = work / name
    gw_dir.mkdir()
    port = free_port()
    config = {**config, "database_url": f"sqlite+aiosqlite:///{gw_dir}/doorman.db"}
    config["server"] = {**config.get("server", {}), "port": port}
    path = gw_dir / "doorman.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = Proc([DOORMAN, "serve", "--config", str(path)], gw_dir, port, "gateway")
    procs.append(proc)
    wait_http(f"{proc.url}/healthz")
    out = subprocess.run(
        [DOORMAN, "keys", "create", "--user", "bench", "--tier", "bench", "--json",
         "--config", str(path)],
        cwd=gw_dir, env=ENV, capture_output=True, text=True, check=True,
    )  # fmt: skip
    proc.key = json.loads(out.stdout)["key"]  # type: ignore[attr-defined]
    return proc


def sim_requests(sim: Proc) -> int:
    return int(httpx.get(f"{sim.url}/sim/stats").json()["requests"])


async def apost(url: str, json: dict[str, Any] | None = None) -> None:
    await asyncio.to_thread(httpx.post, url, json=json)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def fire(
    gw: Proc, model: str, n: int, concurrency: int, **extra: Any
) -> list[tuple[int, float, dict[str, str], float]]:
    """(status, seconds, headers, start offset) per request."""
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency)
    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=gw.url, timeout=120, limits=limits) as client:

        async def one() -> tuple[int, float, dict[str, str], float]:
            async with sem:
                start = time.perf_counter()
                r = await client.post(
                    "/v1/chat/completions",
                    headers={"authorization": f"Bearer {gw.key}"},  # type: ignore[attr-defined]
                    json={"model": model, "messages": MSG, "max_tokens": 5, **extra},
                )
                return r.status_code, time.perf_counter() - start, dict(r.headers), start - t0

        return await asyncio.gather(*(one() for _ in range(n)))


def gateway_config(sims: dict[str, Proc], **reliability: Any) -> dict[str, Any]:
    price = {"input": 1.0, "output": 2.0}
    models: dict[str, dict[str, Any]] = {
        "flaky-model": {"provider": "flaky"},
        "dead-with-fallback": {"provider": "dead", "fallbacks": ["healthy-model"]},
        "dead-alone": {"provider": "dead2"},
        "healthy-model": {"provider": "healthy"},
        "stalled-model": {"provider": "stalled"},
        "herd-model": {"provider": "herd"},
        "quota-model": {"provider": "quota"},
    }
    return {
        "server": {"request_timeout_s": 5},
        "providers": {n: {"kind": "openai", "base_url": f"{p.url}/v1"} for n, p in sims.items()},
        "models": {name: {**m, "price": price} for name, m in models.items()},
        "tiers": {
            "bench": {
                "requests_per_minute": 1_000_000, "tokens_per_minute": 1_000_000_000,
                "tokens_per_day": 1_000_000_000, "daily_budget_usd": 1e9,
                "max_concurrent": 10_000, "max_output_tokens": 100,
            }
        },
        "screening": {"enabled": False},
        "reliability": {"breaker": {"cooldown_s": 2}, **reliability},
    }  # fmt: skip


# ---------------------------------------------------------------------------- scenarios
async def flaky(gw: Proc, sims: dict[str, Proc]) -> dict[str, Any]:
    before = sim_requests(sims["flaky"])
    results = await fire(gw, "flaky-model", 200, 20)
    attempts = sim_requests(sims["flaky"]) - before
    ok = sum(1 for s, *_ in results if s == 200)
    lat = [t for s, t, *_ in results if s == 200]
    return {
        "requests": len(results),
        "ok": ok,
        "success_rate": ok / len(results),
        "upstream_attempts": attempts,
        "attempts_per_request": attempts / len(results),
        "p50_ms": pct(lat, 50) * 1000,
        "p99_ms": pct(lat, 99) * 1000,
        "statuses": sorted({s for s, *_ in results}),
    }


async def fallback(gw: Proc, sims: dict[str, Proc]) -> dict[str, Any]:
    results = await fire(gw, "dead-with-fallback", 100, 10)
    served = [h.get("x-doorman-served-by") for s, _, h, _ in results if s == 200]
    lat = [t for *_, t in [(s, t) for s, t, *_ in results]]
    return {
        "requests": len(results),
        "ok": sum(1 for s, *_ in results if s == 200),
        "served_by_fallback": served.count("healthy-model"),
        "p50_ms": pct(lat, 50) * 1000,
        "p99_ms": pct(lat, 99) * 1000,
    }


async def breaker(gw: Proc, sims: dict[str, Proc]) -> dict[str, Any]:
    dead = sims["dead2"]
    opening = await fire(gw, "dead-alone", 3, 1)
    calls_to_open = sim_requests(dead)
    before = sim_requests(dead)
    started = time.perf_counter()
    # One at a time first: what a single caller sees, without 10 clients queueing on 2 cores.
    single = [t for _, t, *_ in await fire(gw, "dead-alone", 50, 1)]
    open_results = await fire(gw, "dead-alone", 200, 10)
    open_window = time.perf_counter() - started
    leaked = sim_requests(dead) - before
    lat = [t for s, t, *_ in open_results]
    healthy = await fire(gw, "healthy-model", 200, 10)
    healthy_lat = [t for s, t, *_ in healthy]
    await apost(f"{dead.url}/sim/configure", json={"error_rate": 0.0})
    healed = time.perf_counter()
    recovered_after = None
    while time.perf_counter() - healed < 30:
        ((status, *_),) = await fire(gw, "dead-alone", 1, 1)
        if status == 200:
            recovered_after = time.perf_counter() - healed
            break
        await asyncio.sleep(0.1)
    await apost(f"{dead.url}/sim/configure", json={"error_rate": 1.0})
    return {
        "opening_statuses": [s for s, *_ in opening],
        "calls_before_open": calls_to_open,
        "open_requests": len(open_results),
        "open_statuses": sorted({s for s, *_ in open_results}),
        "open_p50_ms": pct(lat, 50) * 1000,
        "open_p99_ms": pct(lat, 99) * 1000,
        "open_max_ms": max(lat) * 1000,
        "single_p50_ms": pct(single, 50) * 1000,
        "single_max_ms": max(single) * 1000,
        "healthy_p50_ms": pct(healthy_lat, 50) * 1000,
        "calls_while_open": leaked,
        "open_window_s": open_window,
        "recovered_after_heal_s": recovered_after,
    }


async def open_breaker_decision(n: int = 20_000) -> float:
    """Microseconds for the dispatcher to refuse a request whose only deployment is open."""
    import logging

    import structlog

    from doorman.config import parse_settings
    from doorman.errors import DoormanError
    from doorman.upstream.deployment import deployments_for
    from doorman.upstream.dispatch import Dispatcher
    from doorman.upstream.pool import UpstreamPool

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    settings = parse_settings(
        {
            "providers": {"p": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}},
            "models": {"m": {"provider": "p"}},
        }
    )
    pool = UpstreamPool(settings)
    dispatcher = Dispatcher(settings, pool)
    deps = deployments_for(settings, "m")
    dispatcher.breakers.get(deps[0].key).trip("bench")
    started = time.perf_counter()
    for _ in range(n):
        with suppress(DoormanError):
            await dispatcher.send(
                deps, "openai", lambda d, w: {}, stream=False, deadline=time.monotonic() + 5
            )
    per_call = (time.perf_counter() - started) / n * 1e6
    await dispatcher.close()
    await pool.close()
    return per_call


async def stalled(gw: Proc) -> dict[str, Any]:
    plain = await fire(gw, "stalled-model", 20, 20)
    streams = await fire(gw, "stalled-model", 10, 10, stream=True)
    lat = [t for s, t, *_ in plain + streams]
    return {
        "requests": len(plain) + len(streams),
        "plain_statuses": sorted({s for s, *_ in plain}),
        "stream_statuses": sorted({s for s, *_ in streams}),
        "stream_max_s": max(t for _, t, *_ in streams),
        "max_s": max(lat),
        "deadline_s": 5,
    }


def _retry_times(log: Path, deployment: str, t0_wall: float) -> tuple[list[float], list[float]]:
    """(when each retry of ``deployment`` was due, seconds after ``t0_wall``; its delay)."""
    times: list[float] = []
    delays: list[float] = []
    for line in log.read_text(errors="replace").splitlines():
        if '"upstream_retry"' not in line or deployment not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        ts = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
        times.append(ts + float(event["delay_s"]) - t0_wall)
        delays.append(float(event["delay_s"]))
    return times, delays


async def quota(gw: Proc, sim: Proc) -> dict[str, Any]:
    results = await fire(gw, "quota-model", 100, 5)
    stats = (await asyncio.to_thread(httpx.get, f"{sim.url}/sim/stats")).json()
    return {
        "ok": sum(1 for s, *_ in results if s == 200),
        "client_429": sum(1 for s, *_ in results if s == 429),
        "upstream_calls": stats["requests"],
        "upstream_429": stats["faults"].get("quota_429", 0),
    }


async def herd(gw: Proc, sim: Proc) -> dict[str, Any]:
    await apost(f"{sim.url}/sim/configure", json={"rate_limit_rate": 1.0, "retry_after": 1.0})
    before = sim_requests(sim)
    t0_wall = time.time()
    task = asyncio.create_task(fire(gw, "herd-model", 200, 200))
    while sim_requests(sim) - before < 200:  # noqa: ASYNC110 - the first wave was refused
        await asyncio.sleep(0.01)
    wave_s = time.time() - t0_wall
    await apost(f"{sim.url}/sim/configure", json={"rate_limit_rate": 0.0})
    results = await task
    await asyncio.sleep(0.3)  # let the log lines land
    times, delays = _retry_times(gw.log, "herd/herd-model", t0_wall)
    await apost(f"{sim.url}/sim/reset")
    return {
        "ok": sum(1 for s, *_ in results if s == 200),
        "first_wave_s": wave_s,
        "retries": len(times),
        "retry_times": times,
        "retry_delays": delays,
        "done_times": sorted(t for _, t, _, _ in results),
    }


def histogram(
    values: list[float], width: float = 0.1, lo: float = 0.0, hi: float = 2.0
) -> list[str]:
    bins = round((hi - lo) / width)
    counts = [0] * bins
    over = under = 0
    for v in values:
        i = int((v - lo) // width)
        if i >= bins:
            over += 1
        elif i < 0:
            under += 1
        else:
            counts[i] += 1
    peak = max([*counts, over, under, 1])
    nonzero = [i for i, c in enumerate(counts) if c]
    first, last = (nonzero[0], nonzero[-1]) if nonzero else (0, -1)
    rows = [f"| {lo + i * width:.2f}-{lo + (i + 1) * width:.2f} s | {c:4d} | {'#' * round(40 * c / peak)} |"
            for i, c in enumerate(counts) if first <= i <= last]  # fmt: skip
    if under:
        rows.insert(0, f"| < {lo:.1f} s | {under:4d} | {'#' * round(40 * under / peak)} |")
    if over:
        rows.append(f"| >= {hi:.1f} s | {over:4d} | {'#' * round(40 * over / peak)} |")
    return rows


# ---------------------------------------------------------------------------- report
def report(r: dict[str, Any]) -> str:
    fb, b, st, h, h0 = (r[k] for k in ("fallback", "breaker", "stalled", "herd", "herd0"))
    q, q0 = r["quota"], r["quota0"]
    peak = lambda times: max(  # noqa: E731
        (sum(1 for t in times if lo <= t < lo + 0.05) for lo in [i * 0.05 for i in range(80)]),
        default=0,
    )
    lines = [
        "## Reliability",
        "",
        f"`bench/reliability.py`, {r['when']}, {os.cpu_count()} cores. Every provider is its own",
        "`doorman sim` process; the gateway is `doorman serve` (SQLite, in-process limits,",
        "screening off), `request_timeout_s: 5`, default retry policy (5 tries per deployment,",
        "full-jitter backoff 0.25 s base / 8 s cap, retry-after honoured + up to 50% jitter),",
        "breaker defaults (10 consecutive or 50% of >= 20 calls in 30 s) with `cooldown_s: 2`.",
        "Latencies are end to end through the whole gateway pipeline (auth, limits, ledger) on",
        "a 2-core machine shared with other benchmarks, so they vary run to run; the breaker's",
        "own cost is the in-process figure.",
        "",
        "| scenario | result | target |",
        "|---|---|---|",
        *(
            f"| flaky: 20% 500/503 + 5% 429 (retry-after 1 s), 200 req @ 20, round {i + 1} | "
            f"{f['ok']}/{f['requests']} ok ({f['success_rate']:.1%}), "
            f"{f['attempts_per_request']:.2f} upstream attempts/request, p50 {f['p50_ms']:.0f} ms, "
            f"p99 {f['p99_ms']:.0f} ms | >= 99%, <= 1.5 |"
            for i, f in enumerate(r["flaky_rounds"])
        ),
        f"| always failing + healthy fallback, 100 req @ 10 | {fb['ok']}/{fb['requests']} ok, "
        f"{fb['served_by_fallback']} with `x-doorman-served-by: healthy-model`, "
        f"p50 {fb['p50_ms']:.0f} ms | all by the fallback |",
        f"| always failing, no fallback: opening | breaker open after {b['calls_before_open']} "
        f"upstream calls ({len(b['opening_statuses'])} requests, all 503 `upstream_unavailable`) | |",
        f"| ... 50 requests one at a time while open | p50 {b['single_p50_ms']:.1f} ms, max "
        f"{b['single_max_ms']:.1f} ms, end to end through the gateway | < 50 ms |",
        f"| ... 200 req @ 10 while open | statuses {b['open_statuses']}, p50 "
        f"{b['open_p50_ms']:.1f} ms, p99 {b['open_p99_ms']:.1f} ms, max "
        f"{b['open_max_ms']:.1f} ms (healthy model through the same gateway: p50 "
        f"{b['healthy_p50_ms']:.1f} ms); {b['calls_while_open']} calls reached the dead "
        f"upstream in {b['open_window_s']:.2f} s. The dispatcher's own refusal, measured "
        f"in-process: {r['open_decision_us']:.1f} µs per request | only probes |",
        f"| ... healed via `/sim/configure` | first success "
        f"{b['recovered_after_heal_s']:.2f} s after healing (cool-down 2 s, one probe) | recovers |",
        f"| stalled upstream: 20 requests at once, then 10 streams | {st['plain_statuses']} "
        f"(`upstream_timeout`), slowest {st['max_s']:.2f} s against a {st['deadline_s']} s "
        f"deadline; the 20 timeouts opened the breaker, so the streams got "
        f"{st['stream_statuses']} within {st['stream_max_s'] * 1000:.0f} ms | deadline holds |",
        f"| pacing: provider quota 50 rpm (sends `x-ratelimit-*`), 100 req @ 5 | "
        f"{q['ok']} ok, {q['client_429']} answered 429 + retry-after by the gateway; the "
        f"provider saw {q['upstream_calls']} calls, {q['upstream_429']} of them over quota. "
        f"Pacing off: {q0['ok']} ok, provider saw {q0['upstream_calls']} calls, "
        f"{q0['upstream_429']} over quota | no 429 storm upstream |",
        f"| herd: 200 clients, one 429 wave (retry-after 1 s) | {h['ok']}/200 ok; "
        f"{h['retries']} retries, busiest 50 ms: {peak(h['retry_times'])} retries "
        f"(with `retry_after_jitter: 0`: {peak(h0['retry_times'])}) | spread out |",
        "",
        "Herd: when each retry was due, seconds after the 200 requests were fired (from the",
        "gateway's `upstream_retry` log lines: log time + `delay_s`). The first wave took "
        f"{h['first_wave_s']:.2f} s to be refused in full.",
        "",
        "Default (`retry_after_jitter: 0.5`: wait retry-after + uniform(0, 0.5 s)), when each",
        "retry was due:",
        "",
        "| due at | retries | |",
        "|---|---:|---|",
        *histogram(h["retry_times"], 0.1, 0.8, 2.6),
        "",
        "... and the wait each request chose (`delay_s`), which the arrival spread of the first",
        "wave does not blur:",
        "",
        "| waited | retries | |",
        "|---|---:|---|",
        *histogram(h["retry_delays"], 0.05, 1.0, 1.6),
        "",
        "For comparison, `retry_after_jitter: 0` (retry-after honoured to the letter; only the",
        "0.25 s base backoff jitter spreads the wave), when each retry was due:",
        "",
        "| due at | retries | |",
        "|---|---:|---|",
        *histogram(h0["retry_times"], 0.1, 0.8, 2.6),
        "",
        "Why: a 429 wave answered with the same retry-after comes back as one wave unless the",
        "retry adds jitter of the order of the retry-after itself; the spread above keeps the",
        "provider's second look at the herd to a fraction of it per 50 ms.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace our own section in RESULTS.md (or append it); other sections are untouched."""
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## Reliability\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(existing):
        updated = pattern.sub(lambda _: text, existing, count=1)
    else:
        updated = existing.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(updated)


async def run() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="doorman-rel-"))
    with processes() as procs:
        sims = {
            "flaky": start_sim(procs, work, "flaky", "--error-rate", "0.2",
                               "--rate-limit-rate", "0.05", "--retry-after", "1"),
            "dead": start_sim(procs, work, "dead", "--error-rate", "1.0"),
            "dead2": start_sim(procs, work, "dead2", "--error-rate", "1.0"),
            "healthy": start_sim(procs, work, "healthy"),
            "stalled": start_sim(procs, work, "stalled", "--stall-rate", "1.0"),
            "herd": start_sim(procs, work, "herd"),
            "quota": start_sim(procs, work, "quota", "--rpm", "50"),
        }  # fmt: skip
        quota0 = start_sim(procs, work, "quota0", "--rpm", "50")
        gw = start_gateway(procs, work, "gw", gateway_config(sims))
        naive = gateway_config(
            {**sims, "quota": quota0}, retry_after_jitter=0.0, pacing={"enabled": False}
        )
        gw0 = start_gateway(procs, work, "gw0", naive)
        results: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        rounds = [await flaky(gw, sims) for _ in range(3)]
        results["flaky"] = rounds[0]
        results["open_decision_us"] = await open_breaker_decision()
        results["flaky_rounds"] = rounds
        print("flaky", {k: v for k, v in results["flaky"].items()}, flush=True)
        results["fallback"] = await fallback(gw, sims)
        print("fallback", results["fallback"], flush=True)
        results["breaker"] = await breaker(gw, sims)
        print("breaker", results["breaker"], flush=True)
        results["stalled"] = await stalled(gw)
        print("stalled", results["stalled"], flush=True)
        results["quota"] = await quota(gw, sims["quota"])
        results["quota0"] = await quota(gw0, quota0)
        print("quota", results["quota"], "unpaced", results["quota0"], flush=True)
        results["herd"] = await herd(gw, sims["herd"])
        results["herd0"] = await herd(gw0, sims["herd"])
        for name in ("herd", "herd0"):
            t = results[name]["retry_times"]
            print(name, "ok", results[name]["ok"], "retries", len(t),
                  "spread p5/p50/p95", [round(pct(t, p), 3) for p in (5, 50, 95)],
                  "stdev", round(statistics.pstdev(t), 3) if t else None, flush=True)  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    results = asyncio.run(run())
    text = report(results)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
