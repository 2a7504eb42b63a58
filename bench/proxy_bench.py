"""Gateway vs bare pass-through proxy, measured in the same run with wrk at 50 connections.

    .venv/bin/python bench/proxy_bench.py [--duration 10] [--variants full,noledger,redis]

Starts an upstream that answers instantly (nginx with a canned completion when installed,
otherwise the sim), a bare Starlette+aiohttp proxy on uvicorn (uvloop, httptools) as the
baseline, and the gateway in each requested configuration; drives each with wrk and prints
requests/s, p50 and p99, and the ratio gateway/bare. Needs ``wrk`` (Debian package ``wrk``).

Gateway variants: ``full`` (auth + limits + screening + ledger, memory limits), and any
``+``-joined mix of ``noledger`` (``ledger_enabled: false``), ``noscreen`` (screening off) and
``redis`` (limits, nonces, breakers on Redis at ``--redis-url``) and ``cache`` (the tier's
response cache on: after wrk's warm-up every request is a cache hit, the upstream idle),
e.g. ``redis+noscreen`` or ``cache`` / ``redis+cache`` (the cache then lives in Redis), and ``pg``
(keys and the ledger on PostgreSQL at ``--pg-url``, in a database created for the run and dropped
after it), e.g. ``redis+pg`` for the issue's "auth + limits + ledger on Redis and PostgreSQL".
A variant ending in ``@NAME`` runs another checkout's code given as ``--src NAME=PATH/src``
(before/after in one interleaved run, e.g. ``--variants full,full@before --src before=...``);
baseline variants ``bare-httpx`` (bare proxy with httpx instead of
aiohttp), ``bare-h11`` (uvicorn's pure-Python HTTP parser) and ``bare-granian`` (the same
bare app on granian, a Rust HTTP server; ``pip install -e '.[bench]'``), to justify the stack.

Besides requests/s, each row shows the server process's CPU time per request (user + system,
from ``/proc``, over the measured run): unlike requests/s it barely moves when other work
shares the machine, and ``cpu ratio`` (bare's CPU per request / the target's) is what the
throughput ratio would be on an otherwise idle core.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CANNED = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the benchmark upstream."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
    }
)
PROMPT = {
    "model": "bench-model",
    "messages": [{"role": "user", "content": "Summarise the plot of Hamlet in two sentences."}],
    "max_tokens": 16,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Procs:
    def __init__(self) -> None:
        self.items: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], **kw: object) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
        self.items.append(p)
        return p

    def stop(self, p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()

    def stop_all(self) -> None:
        for p in reversed(self.items):
            with suppress(Exception):
                self.stop(p)


def start_upstream(procs: Procs, work: Path) -> tuple[str, str]:
    port = free_port()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx:
        conf = work / "nginx.conf"
        body = CANNED.replace("'", "\\'")
        conf.write_text(
            f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work};
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      default_type application/json;
      return 200 '{body}';
    }}
  }}
}}
"""
        )
        procs.start([nginx, "-p", str(work), "-c", str(conf)])
        wait_http(f"http://127.0.0.1:{port}/")
        return f"http://127.0.0.1:{port}", "nginx (canned completion)"
    procs.start([str(BIN / "doorman"), "sim", "--port", str(port)], cwd=work)
    wait_http(f"http://127.0.0.1:{port}/v1/models")
    return f"http://127.0.0.1:{port}", "doorman sim"


def start_bare(
    procs: Procs, upstream: str, client: str = "aiohttp", http: str = "httptools", server: str = "uvicorn",
    max_connections: int = 200,
) -> str:
    port = free_port()
    env = {**os.environ, "BARE_UPSTREAM": upstream, "BARE_CLIENT": client, "PYTHONPATH": str(ROOT / "bench"),
           "BARE_MAX_CONNECTIONS": str(max_connections)}  # fmt: skip
    if server == "granian":
        args = [str(BIN / "granian"), "--interface", "asgi", "--loop", "uvloop", "--port", str(port),
                "--workers", "1", "--runtime-threads", "1", "--log-level", "warning",
                "--no-access-log", "bare_proxy:app"]  # fmt: skip
    else:
        args = [str(BIN / "uvicorn"), "bare_proxy:app", "--port", str(port), "--loop", "uvloop",
                "--http", http, "--log-level", "warning", "--no-access-log"]  # fmt: skip
    procs.start(args, env=env)
    wait_http(f"http://127.0.0.1:{port}/v1/chat/completions")
    return f"http://127.0.0.1:{port}"


def gateway_config(
    database_url: str, upstream_v1: str, *, ledger: bool, screen: bool, redis_url: str | None,
    cache: bool = False,
) -> dict[str, object]:
    """The benchmark gateway: one priced model on the upstream, limits far above the load."""
    config: dict[str, object] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "providers": {"upstream": {"kind": "openai", "base_url": upstream_v1}},
        "models": {"bench-model": {"provider": "upstream", "price": {"input": 0.15, "output": 0.6}}},
        "tiers": {
            "bench": {
                "requests_per_minute": 100_000_000,
                "tokens_per_minute": 1_000_000_000,
                "tokens_per_day": 100_000_000_000,
                "max_output_tokens": 64,
                "daily_budget_usd": 1_000_000.0,
                "max_concurrent": 10_000,
                # The bench prompt sets no temperature: cache it anyway (one answer per run).
                **({"cache": {"mode": "exact", "cache_nondeterministic": True}} if cache else {}),
            }
        },
        "ledger_enabled": ledger,
        "anomaly": {"enabled": True},
    }
    if not screen:
        config["screening"] = {"injection": {"action": "off"}}
    return config


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` laid over ``base``, nested mappings merged key by key."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class PgDatabases:
    """Databases created for ``pg`` variants on the server at ``base_url``, dropped at the end."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.names: list[str] = []

    def _admin(self, sql: str) -> None:
        import asyncio

        import asyncpg

        async def go() -> None:
            dsn = self.base_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(go())

    def create(self) -> str:
        import uuid

        name = f"doorman_bench_{uuid.uuid4().hex[:10]}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return f"{self.base_url}/{name}"

    def drop_all(self) -> None:
        for name in self.names:
            with suppress(Exception):
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.names.clear()


def start_gateway(
    procs: Procs, work: Path, upstream: str, *, ledger: bool, screen: bool, redis_url: str | None,
    cache: bool = False, extra: dict[str, Any] | None = None, database_url: str | None = None,
    src: str | None = None,
) -> tuple[str, str]:
    port = free_port()
    gw_dir = Path(tempfile.mkdtemp(dir=work, prefix="gw-"))
    config = gateway_config(
        database_url or f"sqlite+aiosqlite:///{gw_dir}/doorman.db", f"{upstream}/v1",
        ledger=ledger, screen=screen, redis_url=redis_url, cache=cache,
    )  # fmt: skip
    config["server"] = {"port": port, "log_level": "info"}  # a JSON line per request, as in production
    config = merge(config, extra or {})
    cfg = gw_dir / "doorman.yaml"
    cfg.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "DOORMAN_PEPPER": "bench-pepper-0123456789abcdef0123456789",
        "DOORMAN_MASTER_KEY": "dm-master-bench-" + "x" * 32,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if src is not None:  # another checkout's code (a before/after run)
        env["PYTHONPATH"] = src
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    out = subprocess.run(
        [str(BIN / "doorman"), "keys", "create", "--user", "bench", "--tier", "bench", "--json",
         "--config", str(cfg)],
        cwd=gw_dir, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = json.loads(out.stdout[out.stdout.index("{"):])["key"]  # after any start-up log line
    procs.start([str(BIN / "doorman"), "serve", "--config", str(cfg)], cwd=gw_dir, env=env)
    wait_http(f"http://127.0.0.1:{port}/healthz", timeout=120)  # a loaded machine starts slowly
    return f"http://127.0.0.1:{port}", key


def start_variant(
    procs: Procs, work: Path, upstream: str, variant: str, redis_url: str | None,
    pg: PgDatabases | None = None, sources: dict[str, str] | None = None,
) -> tuple[str, str]:
    """The gateway a variant name asks for: ``+``-joined ``noledger``, ``noscreen``, ``redis``
    (limits on ``redis_url``), ``pg`` (keys and ledger in a fresh database of ``pg``) and
    ``cache``, e.g. ``redis+noscreen``; ``full`` is none of them. ``@NAME`` at the end runs
    the code of ``sources[NAME]`` (``--src NAME=PATH``), e.g. ``full@before``."""
    variant, _, source = variant.partition("@")
    src = None
    if source:
        if not sources or source not in sources:
            raise ValueError(f"variant '{variant}@{source}': pass --src {source}=PATH")
        src = sources[source]
    flags = set(variant.split("+"))
    database_url = None
    if "pg" in flags:
        if pg is None:
            raise ValueError("a pg variant needs a PostgreSQL server (--pg-url)")
        database_url = pg.create()
    return start_gateway(
        procs, work, upstream,
        ledger="noledger" not in flags,
        screen="noscreen" not in flags,
        redis_url=redis_url if "redis" in flags else None,
        cache="cache" in flags,
        database_url=database_url,
        src=src,
    )  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    url: str, key: str | None, duration: int, connections: int, work: Path, pid: int | None = None
) -> dict[str, float]:
    """wrk's figures for one target; with ``pid``, also the server's CPU us per request."""
    script = work / "post.lua"
    headers = 'wrk.headers["Content-Type"] = "application/json"\n'
    if key:
        headers += f'wrk.headers["Authorization"] = "Bearer {key}"\n'
    body = json.dumps(PROMPT).replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\n{headers}')
    target = url + "/v1/chat/completions"
    # warm-up (connection pools, caches, JIT-free but lazy imports)
    subprocess.run(["wrk", "-t2", f"-c{connections}", "-d2s", "-s", str(script), target],
                   capture_output=True, text=True, check=True)  # fmt: skip
    cpu = cpu_seconds(pid) if pid is not None else 0.0
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), target],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cpu = cpu_seconds(pid) - cpu if pid is not None else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "cpu_us": cpu / max(1, done) * 1e6,
        "rps": rps,
        "p50_ms": _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


def _ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group(0))  # type: ignore[union-attr]
    unit = text[len(re.match(r"[\d.]+", text).group(0)) :]  # type: ignore[union-attr]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds; medians are reported (this machine is noisy)")
    ap.add_argument("--variants", default="full,noledger,noscreen")
    ap.add_argument("--redis-url", default=os.environ.get("DOORMAN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    ap.add_argument("--pg-url", default=os.environ.get("DOORMAN_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432"),
                    help="PostgreSQL server (no database name) for pg variants")  # fmt: skip
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                    help="source tree (a src/ directory) for variants ending in @NAME")  # fmt: skip
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is required: apt-get install wrk")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    sources = dict(item.split("=", 1) for item in args.src)
    procs = Procs()
    pg = PgDatabases(args.pg_url)
    runs: dict[str, list[dict[str, float]]] = {}
    ratios: dict[str, list[float]] = {}
    cpu_ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="doorman-bench-") as tmp:
        work = Path(tmp)
        try:
            upstream, kind = start_upstream(procs, work)
            print(f"upstream: {kind} at {upstream}; wrk -c{args.connections} -d{args.duration}s, "
                  f"{args.rounds} interleaved rounds")  # fmt: skip
            # Every target is started once and kept; each round measures the baseline and then
            # every variant, so slow drifts of the machine hit all of them alike.
            bare_url = start_bare(procs, upstream)
            targets: dict[str, tuple[str, str | None, int]] = {"bare": (bare_url, None, procs.items[-1].pid)}
            for variant in variants:
                if variant.startswith("bare-"):
                    client = "httpx" if variant == "bare-httpx" else "aiohttp"
                    http = "h11" if variant == "bare-h11" else "httptools"
                    server = "granian" if variant == "bare-granian" else "uvicorn"
                    url = start_bare(procs, upstream, client, http, server)
                    targets[variant] = (url, None, procs.items[-1].pid)
                    continue
                flags = set(variant.partition("@")[0].split("+"))  # e.g. redis+noscreen
                if "redis" in flags and any("redis" in v for v in targets):
                    sys.exit("one redis variant per run (they would share the Redis database)")
                url, key = start_variant(procs, work, upstream, variant, args.redis_url, pg, sources)
                targets[f"gateway-{variant}"] = (url, key, procs.items[-1].pid)
            for _ in range(args.rounds):
                url, _, pid = targets["bare"]
                base = run_wrk(url, None, args.duration, args.connections, work, pid)
                runs.setdefault("bare", []).append(base)
                for name, (url, key, pid) in targets.items():
                    if name == "bare":
                        continue
                    r = run_wrk(url, key, args.duration, args.connections, work, pid)
                    runs.setdefault(name, []).append(r)
                    ratios.setdefault(name, []).append(r["rps"] / base["rps"])
                    cpu_ratios.setdefault(name, []).append(base["cpu_us"] / max(r["cpu_us"], 1e-9))
        finally:
            procs.stop_all()
            pg.drop_all()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'target':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'cpu us':>8}"
          f"{'ratio':>7}{'cpu ratio':>10}  ratio per round")  # fmt: skip
    for name, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        per = ratios.get(name, [1.0] * len(rs))
        cpu_per = cpu_ratios.get(name, [1.0] * len(rs))
        print(
            f"{name:<26}{med['rps']:>9.0f}{med['p50_ms']:>9.2f}{med['p99_ms']:>9.2f}"
            f"{sum(r['non_2xx'] for r in rs):>9.0f}{med['cpu_us']:>8.0f}{statistics.median(per):>7.2f}"
            f"{statistics.median(cpu_per):>10.2f}  "
            + " ".join(f"{x:.2f}" for x in per)
        )


if __name__ == "__main__":
    main()
