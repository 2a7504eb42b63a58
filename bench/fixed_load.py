"""Added latency at a fixed request rate: the gateway against the bare proxy, same run.

    .venv/bin/python bench/fixed_load.py [--rate 200] [--duration 15] [--rounds 3] \\
        [--variants full,noledger,cache] [--patterns even,burst]

A throughput benchmark (``proxy_bench.py``, wrk with 50 connections) saturates the CPU and
says what a request *costs*; it hides what a request *waits for* (a hand-off to another thread,
a batch timer) because the CPU is busy with other requests meanwhile. This drives each target
at a rate far below saturation and reports p50/p90/p99 and what the gateway adds over the bare
proxy at each percentile, for each arrival pattern:

- ``even``: an open-loop driver (``paced_load.py``) sends one request every 1/RATE seconds,
  whatever the earlier ones are doing: a fixed load in the usual sense.
- ``poisson``: the same driver with random (exponential) gaps at the same mean rate.
- ``burst``: Debian's ``hey -c 10 -q RATE/10``. Its ten workers tick together, so this sends
  ten requests in the same instant every 10/RATE seconds: a burst test, where a request waits
  for the CPU of the requests that arrived with it (what the gateway adds grows with its CPU
  per request times the burst size).

Rounds are interleaved (bare, then every variant) and the tables show medians; the load average
is printed before and after, since on a shared machine other people's work lands in the
percentiles. ``burst`` needs ``hey`` (Debian package ``hey``); nginx serves as the instant
upstream (otherwise the sim). Variants are those of ``proxy_bench.py``.

Before/after in one run: ``--src before=/path/to/other/checkout/src`` adds a full-chain gateway
running that source tree (``PYTHONPATH``), measured in the same interleaved rounds as this one,
so a change is compared under the same machine load rather than against a figure from earlier.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_bench import PROMPT, Procs, start_bare, start_gateway, start_upstream, start_variant
from stream_bench import settled_rss_kb

PERCENTILES = ("50", "90", "99")
PATTERNS = ("even", "poisson", "burst")
HERE = Path(__file__).resolve().parent


def run_paced(url: str, key: str | None, duration: int, rate: int, arrivals: str) -> dict[str, float]:
    """One run of ``paced_load.py`` (its own process, so its loop competes like hey's would)."""
    args = [sys.executable, str(HERE / "paced_load.py"), url + "/v1/chat/completions",
            "--rate", str(rate), "--duration", str(duration), "--arrivals", arrivals]  # fmt: skip
    if key:
        args += ["--key", key]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return {k: float(v) for k, v in json.loads(out).items()}


def run_hey(url: str, key: str | None, duration: int, rate: int, workers: int, work: Path) -> dict[str, float]:
    body = work / "body.json"
    body.write_text(json.dumps(PROMPT))
    args = ["hey", "-z", f"{duration}s", "-c", str(workers), "-q", str(max(1, rate // workers)),
            "-m", "POST", "-T", "application/json", "-D", str(body)]  # fmt: skip
    if key:
        args += ["-H", f"Authorization: Bearer {key}"]
    target = url + "/v1/chat/completions"
    subprocess.run([*args[:2], "2s", *args[3:], target], capture_output=True, check=True)  # warm-up
    out = subprocess.run([*args, target], capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for p in PERCENTILES:
        m = re.search(rf"\s{p}%+ in ([\d.]+) secs", out)
        result[f"p{p}_ms"] = float(m.group(1)) * 1000 if m else float("nan")
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    result["non_2xx"] = float(sum(int(n) for c, n in codes.items() if not c.startswith("2")))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=int, default=200, help="requests per second (all workers)")
    ap.add_argument("--workers", type=int, default=10)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default="full")
    ap.add_argument("--patterns", default="even,burst",
                    help=f"arrival patterns, comma-separated, of {', '.join(PATTERNS)}")
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                    help="also a full-chain gateway running the source tree PATH (repeatable)")
    ap.add_argument("--redis-url", default=os.environ.get("DOORMAN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    patterns = [p.strip() for p in args.patterns.split(",") if p.strip()]
    if not patterns or any(p not in PATTERNS for p in patterns):
        sys.exit(f"--patterns takes {', '.join(PATTERNS)}")
    if "burst" in patterns and not shutil.which("hey"):
        sys.exit("the burst pattern needs hey: apt-get install hey")
    procs = Procs()
    runs: dict[str, dict[str, list[dict[str, float]]]] = {p: {} for p in patterns}
    with tempfile.TemporaryDirectory(prefix="doorman-fixed-") as tmp:
        work = Path(tmp)
        try:
            upstream, kind = start_upstream(procs, work)
            print(f"upstream: {kind}; {args.rate} req/s for {args.duration}s per target and pattern "
                  f"({', '.join(patterns)}; burst = hey -c {args.workers} -q {args.rate // args.workers}), "
                  f"{args.rounds} interleaved rounds")  # fmt: skip
            targets: dict[str, tuple[str, str | None]] = {"bare": (start_bare(procs, upstream), None)}
            for variant in variants:
                targets[f"gateway-{variant}"] = start_variant(procs, work, upstream, variant, args.redis_url)
            for spec in args.src:
                name, _, src = spec.partition("=")
                if not name or not Path(src, "doorman").is_dir():
                    sys.exit(f"--src wants NAME=PATH with PATH/doorman a package: {spec!r}")
                saved = os.environ.get("PYTHONPATH")
                os.environ["PYTHONPATH"] = str(Path(src).resolve())
                try:
                    targets[f"gateway-{name}"] = start_gateway(
                        procs, work, upstream, ledger=True, screen=True, redis_url=None
                    )
                finally:
                    if saved is None:
                        os.environ.pop("PYTHONPATH", None)
                    else:
                        os.environ["PYTHONPATH"] = saved
            for proc in procs.items[1:]:  # not nginx: the proxies' start-up imports are over
                settled_rss_kb(proc.pid)
            print(f"load average before: {_load()}", flush=True)
            for _ in range(args.rounds):
                for pattern in patterns:
                    for name, (url, key) in targets.items():
                        if pattern == "burst":
                            r = run_hey(url, key, args.duration, args.rate, args.workers, work)
                        else:
                            r = run_paced(url, key, args.duration, args.rate, pattern)
                        runs[pattern].setdefault(name, []).append(r)
        finally:
            procs.stop_all()
    for pattern in patterns:
        print(f"\narrivals: {pattern}")
        report(runs[pattern])
    print(f"load average after: {_load()}")


def report(runs: dict[str, list[dict[str, float]]]) -> None:
    base = {k: statistics.median(r[k] for r in runs["bare"]) for k in runs["bare"][0]}
    print(f"{'target':<26}{'req/s':>8}" + "".join(f"{'p' + p:>8}" for p in PERCENTILES)
          + "".join(f"{'+p' + p:>8}" for p in PERCENTILES) + f"{'non-2xx':>9}")  # fmt: skip
    for name, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        print(f"{name:<26}{med['rps']:>8.0f}"
              + "".join(f"{med[f'p{p}_ms']:>8.2f}" for p in PERCENTILES)
              + "".join(f"{med[f'p{p}_ms'] - base[f'p{p}_ms']:>8.2f}" for p in PERCENTILES)
              + f"{sum(r['non_2xx'] for r in rs):>9.0f}")  # fmt: skip
    print("(ms; +pNN = added over the bare proxy at that percentile, medians of the rounds)")
    for name, rs in runs.items():
        late = ""
        if "late_p99_ms" in rs[0]:
            late = "; sends late p99 " + " ".join(f"{r['late_p99_ms']:.1f}" for r in rs)
        print(f"  {name}: p50 per round " + " ".join(f"{r['p50_ms']:.2f}" for r in rs)
              + "; p99 per round " + " ".join(f"{r['p99_ms']:.1f}" for r in rs) + late)  # fmt: skip


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
