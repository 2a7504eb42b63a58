"""Issue 6's proof end to end: a gateway under load is SIGKILLed; every request that got a 200
is in `doorman ledger export` — on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness import Proc, sim_config, start_gateway, start_sim


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = start_sim(tmp_path_factory.mktemp("sim"), "--ttft-ms", "5")
    yield proc
    proc.stop()


async def _load(
    url: str, key: str, acked: list[str], stop: asyncio.Event, enough: asyncio.Event
) -> None:
    """20 clients sending until the gateway dies; ``acked`` gets the ids answered 200."""
    body = {"model": "sim-small", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]}

    async def client(n: int, http: httpx.AsyncClient) -> None:
        i = 0
        while not stop.is_set():
            request_id = f"kill-{n}-{i}"
            i += 1
            try:
                r = await http.post(
                    f"{url}/v1/chat/completions",
                    headers={"authorization": f"Bearer {key}", "x-request-id": request_id},
                    json=body,
                )
            except httpx.HTTPError:
                return  # the gateway is gone
            if r.status_code == 200:
                acked.append(request_id)
                if len(acked) >= 300:  # well under way
                    enough.set()

    async with httpx.AsyncClient(timeout=10) as http:
        await asyncio.gather(*(client(n, http) for n in range(20)))


@pytest.mark.slow
def test_every_acknowledged_request_survives_sigkill(
    sim: Proc, database_url: str, tmp_path: Path
) -> None:
    config = sim_config(sim, pro={"requests_per_minute": 1_000_000, "tokens_per_minute": 10**9})
    config["database_url"] = database_url
    config["screening"] = {"enabled": False}
    gw = start_gateway(tmp_path / "gw", config)
    key = str(gw.create_key("loader", "pro")["key"])
    acked: list[str] = []

    async def run() -> None:
        stop, enough = asyncio.Event(), asyncio.Event()
        load = asyncio.create_task(_load(gw.url, key, acked, stop, enough))
        await asyncio.wait_for(enough.wait(), 60)
        gw.proc.popen.send_signal(signal.SIGKILL)  # no shutdown, no flush
        gw.proc.popen.wait(10)
        stop.set()
        await load

    asyncio.run(run())
    out = gw.cli("ledger", "export", "--format", "jsonl", "--config", str(gw.config_path))
    exported = {json.loads(line)["request_id"] for line in out.stdout.splitlines() if line}
    missing = [rid for rid in acked if rid not in exported]
    assert len(acked) >= 300
    assert missing == [], f"{len(missing)} of {len(acked)} acknowledged requests are missing"
