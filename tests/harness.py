"""Real processes for end-to-end tests: ``doorman sim`` and ``doorman serve`` on free ports.

Each gateway runs in its own working directory (its SQLite file, pepper and master key stay
there), talks to the sim over real HTTP, and is stopped (SIGTERM, then SIGKILL) afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from services import free_port, wait_port

DOORMAN = str(Path(sys.executable).parent / "doorman")
MASTER_KEY = "dm-master-test-" + "x" * 32


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DOORMAN_PEPPER", "test-pepper-0123456789abcdef0123456789abcdef")
    env["DOORMAN_MASTER_KEY"] = MASTER_KEY
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra or {})
    return env


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def sim_requests(self) -> int:
        """Requests a ``doorman sim`` process has received so far (its ``/sim/stats``)."""
        return int(httpx.get(f"{self.url}/sim/stats").json()["requests"])


def start_sim(workdir: Path, *args: str) -> Proc:
    port = free_port()
    log_path = workdir / f"sim-{port}.log"
    popen = subprocess.Popen(
        [DOORMAN, "sim", "--port", str(port), *args],
        cwd=workdir,
        env=_env(),
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    if not wait_port("127.0.0.1", port, 60):  # generous: CLI start-up imports a lot
        popen.kill()
        raise RuntimeError(f"sim did not start: {log_path.read_text()}")
    return Proc(popen, port, log_path)


@dataclass
class Gateway:
    proc: Proc
    workdir: Path
    config_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.proc.url

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli(self.workdir, *args, env=self.env, check=check)

    def create_key(self, user: str = "alice", tier: str = "pro", *extra: str) -> dict[str, Any]:
        """A new key, through the running gateway's admin API when no CLI flags are asked for:
        each CLI call paid an interpreter start-up (~2 s) and the suite creates hundreds of
        keys. The CLI (whose errors the caller may be expecting) answers everything else."""
        if not extra:
            try:
                with self.admin() as admin:
                    resp = admin.post("/admin/keys", json={"user": user, "tier": tier}, timeout=30)
                if resp.status_code == 201:
                    issued: dict[str, Any] = resp.json()
                    return issued
            except httpx.HTTPError:
                pass
        out = self.cli(
            "keys",
            "create",
            "--user",
            user,
            "--tier",
            tier,
            "--json",
            "--config",
            str(self.config_path),
            *extra,
        )
        data: dict[str, Any] = json.loads(out.stdout)
        return data

    def ledger_row(self, request_id: str, wait_s: float = 10.0) -> dict[str, Any]:
        """The request's ledger row, read from the SQLite file (a stream's row lands as its
        relay settles, just after the client saw the end: wait a little for it)."""
        deadline = time.monotonic() + wait_s
        while True:
            with sqlite3.connect(self.workdir / "doorman.db") as db:
                db.row_factory = sqlite3.Row
                row = db.execute(
                    "SELECT * FROM ledger WHERE request_id = ?", (request_id,)
                ).fetchone()
            if row is not None:
                return dict(row)
            if time.monotonic() > deadline:
                raise AssertionError(f"no ledger row for {request_id}")
            time.sleep(0.1)

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {MASTER_KEY}"})

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.proc.stop(sig)


def start_gateway(
    workdir: Path,
    config: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Gateway:
    workdir.mkdir(parents=True, exist_ok=True)
    config = dict(config or {})
    config.setdefault("database_url", f"sqlite+aiosqlite:///{workdir}/doorman.db")
    port = port or free_port()
    config.setdefault("server", {})
    config["server"] = {**config["server"], "port": port}
    config_path = workdir / "doorman.yaml"
    config_path.write_text(yaml.safe_dump(config))
    proc = start_serve(workdir, port, "--config", str(config_path), env=env)
    return Gateway(proc, workdir, config_path, dict(env or {}))


def serving(tmp_path_factory: Any, config: dict[str, Any]) -> Iterator[Gateway]:
    """A gateway for a module-scoped fixture, stopped however the module ends:
    ``yield from serving(tmp_path_factory, config)``."""
    gw = start_gateway(Path(tmp_path_factory.mktemp("gw")), config)
    try:
        yield gw
    finally:
        gw.stop()


def simulating(tmp_path_factory: Any, name: str, *args: str) -> Iterator[Proc]:
    """A simulated provider for a module-scoped fixture, stopped however the module ends:
    ``yield from simulating(tmp_path_factory, "dead-sim", "--error-rate", "1.0")``."""
    proc = start_sim(Path(tmp_path_factory.mktemp(name)), *args)
    try:
        yield proc
    finally:
        proc.stop()


def start_serve(
    workdir: Path, port: int, *args: str, env: dict[str, str] | None = None
) -> Proc:
    """``doorman serve ARGS`` in ``workdir`` (stdout and stderr to one log); waits for /healthz."""
    log_path = workdir / f"gateway-{port}.log"
    popen = subprocess.Popen(
        [DOORMAN, "serve", *args],
        cwd=workdir,
        env=_env(env),
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    proc = Proc(popen, port, log_path)
    deadline = time.monotonic() + 90  # generous: a loaded machine starts slowly
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"gateway exited: {proc.log()}")
        try:
            if httpx.get(f"{proc.url}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.stop(signal.SIGKILL)
    raise RuntimeError(f"gateway did not become healthy: {proc.log()}")


def run_cli(
    workdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``doorman ARGS`` in ``workdir`` with the test environment; output captured as text."""
    return subprocess.run(
        [DOORMAN, *args],
        cwd=workdir,
        env=_env(env),
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


def sim_config(sim: Proc, **tiers: dict[str, Any]) -> dict[str, Any]:
    """A config whose models live on an external sim process (both wire formats)."""
    return {
        "providers": {
            "simopenai": {"kind": "openai", "base_url": f"{sim.url}/v1"},
            "simanthropic": {"kind": "anthropic", "base_url": sim.url},
        },
        "models": {
            "sim-small": {"provider": "simopenai", "price": {"input": 0.15, "output": 0.60}},
            "sim-large": {"provider": "simopenai", "price": {"input": 2.5, "output": 10.0}},
            "sim-claude": {"provider": "simanthropic", "price": {"input": 0.8, "output": 4.0}},
        },
        "tiers": tiers,
    }
