"""Real Redis and PostgreSQL for tests: throwaway servers the suite starts, or URLs from env.

Order: ``DOORMAN_TEST_REDIS_URL`` / ``DOORMAN_TEST_POSTGRES_URL`` when set; otherwise a throwaway
server started from the local binaries (redis-server; initdb + postgres) on a free port; otherwise
the well-known local server when it answers. When none is available the test skips with the
reason — or fails, when ``DOORMAN_REQUIRE_SERVICES=1`` (CI), so nothing silently skips there.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

REQUIRE = os.environ.get("DOORMAN_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"required service unavailable (DOORMAN_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_port(host: str, port: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    env_url = os.environ.get("DOORMAN_TEST_REDIS_URL")
    if env_url:
        yield env_url
        return
    binary = shutil.which("redis-server")
    if binary:
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if not wait_port("127.0.0.1", port):
                raise RuntimeError("throwaway redis-server did not start")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)
        return
    if port_open("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/15"
        return
    unavailable("no Redis: set DOORMAN_TEST_REDIS_URL or install redis-server")


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a base URL ``postgresql+asyncpg://user@host:port`` (no database name)."""
    env_url = os.environ.get("DOORMAN_TEST_POSTGRES_URL")
    if env_url:
        yield env_url.rstrip("/")
        return
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    if initdb and postgres and os.geteuid() != 0:
        with tempfile.TemporaryDirectory() as data:
            subprocess.run(
                [initdb, "-D", data, "-A", "trust", "-U", "postgres"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            port = free_port()
            proc = subprocess.Popen(
                [
                    postgres,
                    "-D",
                    data,
                    "-p",
                    str(port),
                    "-k",
                    data,
                    "-h",
                    "127.0.0.1",
                    "-c",
                    "fsync=off",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                if not wait_port("127.0.0.1", port):
                    raise RuntimeError("throwaway postgres did not start")
                yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}"
            finally:
                proc.terminate()
                proc.wait(20)
        return
    if port_open("127.0.0.1", 5432):
        # The machine's server (trust auth). As root initdb refuses to run, so we use it.
        yield "postgresql+asyncpg://postgres@127.0.0.1:5432"
        return
    unavailable("no PostgreSQL: set DOORMAN_TEST_POSTGRES_URL or install postgresql")


_CREATED: set[tuple[str, str]] = set()


def _admin_dsn(base_url: str) -> str:
    return base_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"


def create_database(base_url: str) -> str:
    """Create a fresh, uniquely named database and return its URL (dropped by drop_database
    or, at the latest, by drop_created_databases at the end of the session)."""
    import asyncio
    import uuid

    import asyncpg

    name = f"doorman_test_{uuid.uuid4().hex[:10]}"

    async def _create() -> None:
        conn = await asyncpg.connect(_admin_dsn(base_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(_create())
    _CREATED.add((base_url, name))
    return f"{base_url}/{name}"


def drop_database(url: str) -> None:
    """Drop a database made by create_database, closing whatever still holds it open."""
    import asyncio

    import asyncpg

    base_url, _, name = url.rpartition("/")

    async def _drop() -> None:
        conn = await asyncpg.connect(_admin_dsn(base_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(_drop())
    _CREATED.discard((base_url, name))


def drop_created_databases() -> None:
    for base_url, name in list(_CREATED):
        drop_database(f"{base_url}/{name}")
