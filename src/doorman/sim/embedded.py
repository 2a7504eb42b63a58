"""The built-in simulator, served where only this process can reach it.

The zero-config gateway calls the simulator over real HTTP (the same client code, pooling and
timeouts as a real provider). It used to be mounted on the gateway's own port, which put its
controls (``/sim/configure``: make every answer fail, ``/sim/stats``) on the public surface.
Here it listens on a unix socket inside a fresh 0700 directory instead: no TCP port at all, and
no other local user can even open the socket. ``doorman sim`` remains the standalone server,
controls included, for benchmarks and chaos tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator

import uvicorn

from doorman.sim.app import SimOptions, create_sim_app


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone.

    ``Server.serve`` normally takes over SIGINT/SIGTERM; inside the gateway that would steal
    the shutdown signal from the outer server and stop the simulator before in-flight
    requests finish.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class EmbeddedSim:
    """A running in-process simulator; ``socket_path`` is where it answers."""

    def __init__(self, directory: str, socket_path: str, server: uvicorn.Server,
                 task: asyncio.Task[None]) -> None:  # fmt: skip
        self.directory = directory
        self.socket_path = socket_path
        self._server = server
        self._task = task

    @classmethod
    async def start(cls, options: SimOptions | None = None) -> EmbeddedSim:
        directory = tempfile.mkdtemp(prefix="doorman-sim-")  # created 0700
        path = os.path.join(directory, "sim.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            os.chmod(path, 0o600)
        except OSError:
            sock.close()
            shutil.rmtree(directory, ignore_errors=True)
            raise
        config = uvicorn.Config(
            create_sim_app(options or SimOptions()),
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
        )
        server = _EmbeddedServer(config)
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                shutil.rmtree(directory, ignore_errors=True)
                task.result()  # raises what stopped it
                raise RuntimeError("the embedded simulator stopped during start-up")
            await asyncio.sleep(0.005)
        return cls(directory, path, server, task)

    async def close(self) -> None:
        self._server.should_exit = True
        try:
            await self._task
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
