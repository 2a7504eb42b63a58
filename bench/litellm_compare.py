"""Doorman against LiteLLM's proxy, the leading Python peer, in the same run (issue 20 item 1).

    .venv/bin/python bench/litellm_compare.py [--duration 10] [--rounds 3] [--connections 50] \\
        [--venv ~/.cache/doorman-bench/litellm-venv] [--litellm-spec 'litellm[proxy]']

What a user weighs Doorman against is what they would run instead. This starts the same instant
upstream as ``proxy_bench.py`` (nginx with a canned completion), the bare pass-through proxy
(the ceiling), Doorman's full chain (auth, screening, memory limits, SQLite ledger) and LiteLLM's
proxy (one worker, like Doorman's default) routing ``bench-model`` to that upstream, and drives
each with wrk in interleaved rounds; it prints requests/s, p50/p99 and two ratios per round:
each target against the bare proxy, and Doorman against LiteLLM (the issue asks for at least 25x).

LiteLLM is never a dependency of Doorman: it is installed on first use into a virtual
environment of its own (``--venv``, created with ``python3 -m venv`` and pip), kept for later
runs. LiteLLM runs with a master key (recent versions refuse to start without one), which each
request presents, and otherwise its defaults -- no database, no callbacks -- so it does *less*
per request than Doorman's full chain (no per-key store, no limits, no ledger, no screening);
the cost map is read from the package (``LITELLM_LOCAL_MODEL_COST_MAP``), never fetched.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_bench import (
    Procs,
    free_port,
    run_wrk,
    start_bare,
    start_gateway,
    start_upstream,
    wait_http,
)

DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "doorman-bench" / "litellm-venv"


def ensure_litellm(venv: Path, spec: str) -> Path:
    """The ``litellm`` command of ``venv``, creating the venv and installing ``spec`` if needed."""
    command = venv / "bin" / "litellm"
    if command.exists():
        return command
    print(f"installing {spec} into {venv} (once; a few minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", spec], check=True)
    if not command.exists():
        sys.exit(f"{spec} installed no 'litellm' command in {venv}")
    return command


def litellm_version(venv: Path) -> str:
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('litellm'))"],
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip() or "unknown"


def start_litellm(procs: Procs, command: Path, work: Path, upstream: str) -> tuple[str, str]:
    """LiteLLM's proxy on a free port: (its URL, the master key a request presents)."""
    port = free_port()
    master_key = "sk-bench-" + secrets.token_hex(16)
    config = {
        "model_list": [{
            "model_name": "bench-model",
            "litellm_params": {"model": "openai/bench-model", "api_base": f"{upstream}/v1",
                               "api_key": "sk-bench-upstream"},
        }],
        "litellm_settings": {"telemetry": False, "drop_params": True},
        "general_settings": {"master_key": master_key},
    }  # fmt: skip
    cfg = work / "litellm.yaml"
    cfg.write_text(yaml.safe_dump(config))
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL")},
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the price list at start-up
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
    }
    procs.start([str(command), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port),
                 "--num_workers", "1"], cwd=work, env=env)  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/health/liveliness", timeout=180)
    return f"http://127.0.0.1:{port}", master_key


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--litellm-spec", default="litellm[proxy]", help="what pip installs, e.g. 'litellm[proxy]==1.55.0'")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is required: apt-get install wrk")
    command = ensure_litellm(args.venv.expanduser(), args.litellm_spec)
    procs = Procs()
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="doorman-litellm-") as tmp:
        work = Path(tmp)
        try:
            upstream, kind = start_upstream(procs, work)
            targets: dict[str, tuple[str, str | None]] = {
                "bare": (start_bare(procs, upstream), None),
                "doorman-full": start_gateway(procs, work, upstream, ledger=True, screen=True, redis_url=None),
                "litellm": start_litellm(procs, command, work, upstream),
            }
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(f"upstream: {kind}; LiteLLM {litellm_version(args.venv.expanduser())}; wrk -c{args.connections} "
                  f"-d{args.duration}s, {args.rounds} interleaved rounds; load average {load}", flush=True)  # fmt: skip
            for _ in range(args.rounds):
                for name, (url, key) in targets.items():
                    runs.setdefault(name, []).append(run_wrk(url, key, args.duration, args.connections, work))
        finally:
            procs.stop_all()
    rounds = range(len(runs["bare"]))
    print(f"{'target':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'vs bare':>9}  per round")
    for name, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        per = [rs[i]["rps"] / runs["bare"][i]["rps"] for i in rounds]
        print(f"{name:<14}{med['rps']:>9.0f}{med['p50_ms']:>9.2f}{med['p99_ms']:>9.2f}"
              f"{sum(r['non_2xx'] for r in rs):>9.0f}{statistics.median(per):>9.3f}  "
              + " ".join(f"{x:.3f}" for x in per))  # fmt: skip
    ahead = [runs["doorman-full"][i]["rps"] / runs["litellm"][i]["rps"] for i in rounds]
    print(f"doorman-full / litellm: {statistics.median(ahead):.1f}x (median; per round "
          + " ".join(f"{x:.1f}x" for x in ahead) + "); load average now "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip


if __name__ == "__main__":
    main()
