"""Soak: does the gateway's memory stay flat over a long run of requests?

    .venv/bin/python bench/soak.py [--requests 1000000] [--warmup 50000] [--samples 20] \\
        [--connections 20] [--variant full]

Issue 20 item 4: RSS stays within 10% of its value after warm-up over 1,000,000 requests. A leak
of a few hundred bytes per request (a dict keyed by request id that is never pruned, a growing
metrics label set, futures kept by a batch writer) is invisible in a 10-second benchmark and
costs a gigabyte after a day at a few hundred requests per second; this drives one gateway
(the same start-up as ``proxy_bench.py``: instant nginx upstream, SQLite ledger, memory limits)
with Debian's ``hey -n`` in equal chunks and reads the gateway's resident set size
(``/proc/PID/status`` VmRSS, plus any child processes such as screening workers) after the
warm-up and after every chunk. The verdict compares every later sample with the post-warm-up
one. It is a benchmark, not a test: a full run takes minutes to an hour depending on the
machine. Variants are those of ``proxy_bench.py`` (``full``, ``redis``, ``cache``, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_bench import PROMPT, Procs, start_upstream, start_variant

LIMIT = 0.10  # the issue's bound: within 10% of the post-warm-up RSS


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` and its descendants, in KiB."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue  # exited between listing and reading
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(m.group(1)) if m else 0
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            todo += [int(c) for c in task.read_text().split()]
    return total


def drive(url: str, key: str, requests: int, connections: int, body: Path) -> tuple[float, int]:
    """Send exactly ``requests`` requests with hey; (requests/s, non-2xx count)."""
    out = subprocess.run(
        ["hey", "-n", str(requests), "-c", str(connections), "-m", "POST", "-T", "application/json",
         "-D", str(body), "-H", f"Authorization: Bearer {key}", url + "/v1/chat/completions"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    return rps, sum(int(n) for c, n in codes.items() if not c.startswith("2"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1_000_000, help="requests after the warm-up")
    ap.add_argument("--warmup", type=int, default=None,
                    help="requests before the reference sample (default: 5%% of --requests, at least 5000)")
    ap.add_argument("--samples", type=int, default=20, help="RSS samples after the warm-up (equal chunks)")
    ap.add_argument("--connections", type=int, default=20)
    ap.add_argument("--variant", default="full", help="a proxy_bench.py gateway variant, e.g. full, redis")
    ap.add_argument("--redis-url", default=os.environ.get("DOORMAN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = ap.parse_args()
    if not shutil.which("hey"):
        sys.exit("hey is required: apt-get install hey")
    if args.requests < args.samples or args.samples < 1:
        sys.exit("--requests must be at least --samples, and --samples at least 1")
    warmup = args.warmup if args.warmup is not None else max(5000, args.requests // 20)
    procs = Procs()
    with tempfile.TemporaryDirectory(prefix="doorman-soak-") as tmp:
        work = Path(tmp)
        body = work / "body.json"
        body.write_text(json.dumps(PROMPT))
        try:
            upstream, kind = start_upstream(procs, work)
            url, key = start_variant(procs, work, upstream, args.variant, args.redis_url)
            pid = procs.items[-1].pid  # the `doorman serve` process start_variant just started
            print(f"upstream: {kind}; gateway-{args.variant} pid {pid}; hey -c {args.connections}; "
                  f"warm-up {warmup:,} requests, then {args.requests:,} in {args.samples} chunks; "
                  f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
            start_rss = rss_kb(pid)
            rps, bad = drive(url, key, warmup, args.connections, body)
            ref = rss_kb(pid)
            print(f"RSS at start {start_rss / 1024:.1f} MiB; after warm-up {ref / 1024:.1f} MiB "
                  f"({rps:.0f} req/s, {bad} non-2xx)")  # fmt: skip
            print(f"{'requests':>10}{'RSS MiB':>10}{'vs ref':>9}{'req/s':>8}{'non-2xx':>9}{'load1':>7}")
            chunk, done, worst, total_bad = args.requests // args.samples, 0, 0.0, bad
            started = time.monotonic()
            for i in range(args.samples):
                n = chunk if i < args.samples - 1 else args.requests - done
                rps, bad = drive(url, key, n, args.connections, body)
                done += n
                total_bad += bad
                now = rss_kb(pid)
                change = (now - ref) / ref
                worst = max(worst, abs(change))
                print(f"{done:>10,}{now / 1024:>10.1f}{change:>+9.1%}{rps:>8.0f}{bad:>9}"
                      f"{os.getloadavg()[0]:>7.2f}", flush=True)  # fmt: skip
        finally:
            procs.stop_all()
    elapsed = time.monotonic() - started
    verdict = "PASS" if worst <= LIMIT else "FAIL"
    print(f"{verdict}: largest RSS change after warm-up {worst:.1%} (limit {LIMIT:.0%}) over "
          f"{done:,} requests in {elapsed:.0f} s; {total_bad} non-2xx in all")  # fmt: skip


if __name__ == "__main__":
    main()
