"""Streams through the gateway vs a bare pass-through proxy, measured in the same run.

    .venv/bin/python bench/stream_bench.py [--streams 200] [--tokens 500] [--rounds 3]
                                           [--hold 1000] [--variants off,default,all]

Three measurements, every target started once and measured in interleaved rounds (medians):

1. **Relay rate.** ``--streams`` concurrent streams of ``--tokens`` one-word chunks from an
   upstream that sends as fast as the socket takes them (``bench/stream_upstream.py``). Prints
   tokens relayed per second, SSE frames per second, and the ratio to the bare proxy and to the
   gateway with output screening off.
2. **Time to first token** on a paced upstream (10 ms a token, 10 streams at a time): how much
   the output screen's hold-back window delays the first visible text.
3. **Memory per open stream** (``--hold``): that many slow streams (50 ms a token) open at once on the
   gateway with default output screening; (RSS with them open - RSS before) / count.

Gateway variants (``screening.output``): ``off`` (every detector off), ``default`` (secrets
redacted, system-prompt echo flagged) and ``all`` (secrets and PII redacted, canary, echo).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from proxy_bench import ROOT, Procs, free_port, start_bare, start_gateway, wait_http

OUTPUT_VARIANTS: dict[str, dict[str, Any]] = {
    "off": {
        "secrets": {"action": "off"},
        "pii": {"action": "off"},
        "system_echo": {"action": "off"},
    },
    "default": {},
    "all": {"pii": {"action": "redact"}, "canary": True},
}
FIRST_TEXT = re.compile(rb'"(?:content|text)":\s?" ')
TEXT = re.compile(rb'"(?:content|text)":\s?"((?:[^"\\]|\\.)*)"')
HOLDBACK_CHARS = 160  # screening.output.holdback_chars (default)
PACED_MS = 10
FAILURES: dict[str, int] = {}  # why streams did not complete, over the whole run
HOLD_MS = 50  # the held streams' pace: a slow model, so memory is measured at rest, not backlog
HOLD_TOKENS = 600  # 30 s a stream: long enough to have them all open at once


def start_stream_upstream(procs: Procs, chunk_ms: float) -> str:
    port = free_port()
    env = {**os.environ, "STREAM_PORT": str(port), "STREAM_CHUNK_MS": str(chunk_ms)}
    procs.start([sys.executable, str(ROOT / "bench" / "stream_upstream.py")], env=env)
    wait_http(f"http://127.0.0.1:{port}/v1/models")
    return f"http://127.0.0.1:{port}"


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (screening workers, if any), in KiB."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(entry.name))
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


async def _one_stream(
    session: Any, url: str, key: str | None, tokens: int, model: str
) -> tuple[int, float, bool, float]:
    """(frames, seconds to first text, completed, seconds to the hold-back window's worth of text)."""
    body = {"model": model, "messages": [{"role": "user", "content": "Write the quarterly report."}],
            "max_tokens": tokens, "stream": True}  # fmt: skip
    headers = {"authorization": f"Bearer {key}"} if key else {}
    started = time.perf_counter()
    first = window = 0.0
    frames = chars = 0
    tail = b""
    done = False
    async with session.post(url + "/v1/chat/completions", json=body, headers=headers) as resp:
        if resp.status != 200:
            try:
                code = (await resp.json(content_type=None))["error"]["code"]
            except Exception:
                code = "?"
            why = f"HTTP {resp.status} {code}"
            FAILURES[why] = FAILURES.get(why, 0) + 1
            return 0, 0.0, False, 0.0
        async for piece in resp.content.iter_any():
            if not first and FIRST_TEXT.search(tail + piece):
                first = time.perf_counter() - started
            if not window:
                chars += sum(len(m) for m in TEXT.findall(piece))
                if chars >= HOLDBACK_CHARS:
                    window = time.perf_counter() - started
            frames += piece.count(b"data: {")
            done = done or b"data: [DONE]" in tail + piece
            tail = (tail + piece)[-400:]
    if not done:
        why = "error event" if b'"error"' in tail else "ended early"
        FAILURES[why] = FAILURES.get(why, 0) + 1
    return frames, first, done, window


async def _drive(
    url: str, key: str | None, streams: int, tokens: int, model: str, at_once: int
) -> dict[str, float]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=at_once)
    timeout = aiohttp.ClientTimeout(total=600)
    sem = asyncio.Semaphore(at_once)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one() -> tuple[int, float, bool, float]:
            async with sem:
                return await _one_stream(session, url, key, tokens, model)

        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(streams)))
        elapsed = time.perf_counter() - started
    done = [r for r in results if r[2]]
    return {
        "tokens_s": len(done) * tokens / elapsed,
        "elapsed": elapsed,
        "frames_s": sum(r[0] for r in done) / elapsed,
        "ttft_ms": statistics.median(r[1] for r in done) * 1000 if done else float("nan"),
        "window_ms": statistics.median(r[3] for r in done) * 1000 if done else float("nan"),
        "failed": float(streams - len(done)),
    }


def settled_rss_kb(pid: int, *, step_s: float = 0.5, tolerance_kb: int = 512) -> tuple[int, int]:
    """(RSS now, RSS once it stops growing) of ``pid`` and its children, in KiB.

    A gateway is not done starting when it first answers: it imports its audio stack (~70 MB,
    0.7 s of CPU holding the GIL in slices) in a background thread, far slower on a busy
    machine. Memory added then is not the open streams', and time spent then is not the
    requests'. Waits at most a minute.
    """
    first = last = _rss_kb(pid)
    steady = 0
    for _ in range(int(60 / step_s)):
        time.sleep(step_s)
        now = _rss_kb(pid)
        steady = steady + 1 if abs(now - last) <= tolerance_kb else 0
        last = now
        if steady >= 4:
            break
    return first, last


async def _hold(
    url: str, key: str, pid: int, count: int, tokens: int, before: int
) -> dict[str, float]:
    """Open ``count`` long paced streams; RSS sampled while they run, against ``before`` (KiB)."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=count + 10)
    open_now = most_open = 0
    peak = before
    statuses: dict[int, int] = {}
    body = {"model": "bench-slow", "messages": [{"role": "user", "content": "Write the quarterly report."}],
            "max_tokens": tokens, "stream": True}  # fmt: skip

    async def one(session: aiohttp.ClientSession) -> bool:
        nonlocal open_now, most_open
        async with session.post(url + "/v1/chat/completions", json=body,
                                headers={"authorization": f"Bearer {key}"}) as resp:  # fmt: skip
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            opened = done = False
            tail = b""
            try:
                async for piece in resp.content.iter_any():
                    if not opened and b"data: {" in piece:
                        opened = True
                        open_now += 1
                        most_open = max(most_open, open_now)
                    done = done or b"data: [DONE]" in tail + piece
                    tail = piece[-16:]
            finally:
                open_now -= opened
            return resp.status == 200 and done

    async def sample() -> None:
        nonlocal peak
        while True:
            if open_now >= most_open * 0.95:
                peak = max(peak, _rss_kb(pid))
            await asyncio.sleep(0.5)

    timeout = aiohttp.ClientTimeout(total=900)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        sampler = asyncio.create_task(sample())
        ok = await asyncio.gather(*(one(session) for _ in range(count)), return_exceptions=True)
        sampler.cancel()
    return {"before_mb": before / 1024, "peak_mb": peak / 1024, "most_open": float(most_open),
            "per_stream_kb": (peak - before) / max(most_open, 1), "completed": float(sum(r is True for r in ok)),
            "statuses": statuses}  # type: ignore[dict-item]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--streams", type=int, default=200, help="streams per relay-rate measurement")
    ap.add_argument(
        "--concurrency", type=int, default=0, help="open at once (default: all --streams)"
    )
    ap.add_argument("--tokens", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--hold", type=int, default=1000, help="streams held open for the memory figure (0: skip)"
    )
    ap.add_argument("--variants", default="off,default,all")
    args = ap.parse_args()
    import uvloop

    variants = [v for v in args.variants.split(",") if v]
    at_once = args.concurrency or args.streams
    procs = Procs()
    rate: dict[str, list[dict[str, float]]] = {}
    ttft: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="doorman-stream-bench-") as tmp:
        work = Path(tmp)
        try:
            upstream = start_stream_upstream(procs, 0)
            paced = start_stream_upstream(procs, PACED_MS)
            slow = start_stream_upstream(procs, HOLD_MS)
            targets: dict[str, tuple[str, str | None, int]] = {
                "bare": (start_bare(procs, upstream, max_connections=4096), None, 0)
            }
            targets["bare"] = (targets["bare"][0], None, procs.items[-1].pid)
            paced_targets: dict[str, tuple[str, str | None]] = {
                "bare": (start_bare(procs, paced, max_connections=4096), None)
            }
            for v in variants:
                extra = {
                    "screening": {"output": OUTPUT_VARIANTS[v]},
                    "providers": {"upstream": {"max_connections": 4096, "connect_timeout_s": 60},
                                  "paced": {"kind": "openai", "base_url": f"{paced}/v1", "max_connections": 4096},
                                  "slow": {"kind": "openai", "base_url": f"{slow}/v1", "max_connections": 4096,
                                           "connect_timeout_s": 60}},
                    "models": {"bench-paced": {"provider": "paced", "price": {"input": 0.15, "output": 0.6}},
                               "bench-slow": {"provider": "slow", "price": {"input": 0.15, "output": 0.6}}},
                    "tiers": {"bench": {"max_output_tokens": max(args.tokens, HOLD_TOKENS)}},
                }  # fmt: skip
                url, key = start_gateway(
                    procs, work, upstream, ledger=True, screen=True, redis_url=None, extra=extra
                )
                targets[f"gateway-output-{v}"] = (url, key, procs.items[-1].pid)
                paced_targets[f"gateway-output-{v}"] = (url, key)
            print(f"{args.streams} streams x {args.tokens} tokens, {at_once} at once, {args.rounds} rounds; "
                  f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
            # Memory first, on a gateway that has served nothing yet (a warm-up of 20 streams), so
            # the arenas freed by earlier measurements do not hide what open streams take.
            held = None
            if args.hold and "default" in variants:
                url, key, pid = targets["gateway-output-default"]
                assert key is not None
                uvloop.run(_drive(url, key, 20, 20, "bench-slow", 20))
                unsettled, before = settled_rss_kb(pid)
                held = uvloop.run(_hold(url, key, pid, args.hold, HOLD_TOKENS, before))
                held["unsettled_mb"] = unsettled / 1024
            for i in range(args.rounds):
                # Each round in another order: whichever runs first meets a quieter machine.
                order = list(targets.items())[i % len(targets) :] + list(targets.items())[: i % len(targets)]
                for name, (url, key, pid) in order:
                    cpu = _cpu_s(pid)
                    r = uvloop.run(
                        _drive(url, key, args.streams, args.tokens, "bench-model", at_once)
                    )
                    # CPU per relayed token: what the relay costs, whatever the machine's load.
                    r["cpu_us"] = (_cpu_s(pid) - cpu) * 1e6 / max(1.0, r["tokens_s"] * r["elapsed"])
                    rate.setdefault(name, []).append(r)
                for name, (url, key) in paced_targets.items():
                    model = "bench-model" if name == "bare" else "bench-paced"
                    r = uvloop.run(_drive(url, key, 10, 60, model, 10))
                    ttft.setdefault(name, []).append(r)
        finally:
            procs.stop_all()
    off = rate.get("gateway-output-off")
    print(f"\n{'target':<26}{'tokens/s':>10}{'frames/s':>10}{'failed':>8}{'x bare':>8}{'x off':>7}"
          f"{'TTFT ms':>9}{f'{HOLDBACK_CHARS} chars ms':>15}{'CPU us/token':>13}  tokens/s per round")  # fmt: skip
    for name, rs in rate.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        vs_off = ""
        if off:
            per = [r["tokens_s"] / o["tokens_s"] for r, o in zip(rs, off, strict=True)]
            vs_off = f"{statistics.median(per):>7.2f}"
        per_bare = [r["tokens_s"] / b["tokens_s"] for r, b in zip(rs, rate["bare"], strict=True)]
        print(f"{name:<26}{med['tokens_s']:>10.0f}{med['frames_s']:>10.0f}{sum(r['failed'] for r in rs):>8.0f}"
              f"{statistics.median(per_bare):>8.2f}{vs_off:>7}"
              f"{statistics.median(r['ttft_ms'] for r in ttft[name]):>9.1f}"
              f"{statistics.median(r['window_ms'] for r in ttft[name]):>15.1f}"
              f"{med['cpu_us']:>13.2f}  "
              + " ".join(f"{r['tokens_s']:.0f}" for r in rs))  # fmt: skip
    print(f"(TTFT and time to the first {HOLDBACK_CHARS} characters of text on a paced upstream, {PACED_MS} ms a "
          "token, 10 streams at a time: with output screening on, the first text should come no later than "
          "the off variant's first window of text)")  # fmt: skip
    if FAILURES:
        print(f"streams that did not complete: {FAILURES}")
    if held:
        print(f"\nmemory, {args.hold} streams at {HOLD_MS} ms a token on gateway-output-default, at most {held['most_open']:.0f} "
              f"open at once: RSS {held['before_mb']:.1f} MB (settled; {held['unsettled_mb']:.1f} MB right after the "
              f"warm-up) -> {held['peak_mb']:.1f} MB, "
              f"{held['per_stream_kb']:.1f} KB per open stream; {held['completed']:.0f} completed; "
              f"statuses {held['statuses']}")  # fmt: skip


if __name__ == "__main__":
    main()
