"""Pooled upstream HTTP clients, one set per provider.

Full (non-streamed) calls go through :mod:`doorman.upstream.http1`, a lean keep-alive client;
streams and probes through an aiohttp session (aiohttp was chosen over httpx by measurement, see
bench/RESULTS.md). Clients per provider are a bulkhead: a provider that hangs can exhaust only
its own connection pools, never another provider's.
The built-in simulator (``kind: sim`` without ``base_url``) is reached over its private unix
socket (:mod:`doorman.sim.embedded`), never through a public port.
"""

from __future__ import annotations

import aiohttp

from doorman.config import ProviderSettings, Settings
from doorman.upstream.http1 import Http1Pool, Origin

EMBEDDED_SIM_URL = "http://doorman-embedded-sim"  # aiohttp needs a host; the socket decides


def uses_embedded_sim(settings: Settings) -> bool:
    return any(is_embedded_sim(p) for p in settings.providers.values())


def is_embedded_sim(p: ProviderSettings) -> bool:
    return p.kind == "sim" and not p.base_url


class UpstreamPool:
    def __init__(self, settings: Settings, sim_socket: str | None = None) -> None:
        self._settings = settings
        self._sim_socket = sim_socket
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._clients: dict[str, Http1Pool] = {}

    def base_url(self, provider: str) -> str:
        p = self._settings.providers[provider]
        if is_embedded_sim(p):
            return EMBEDDED_SIM_URL
        assert p.base_url is not None
        return p.base_url.rstrip("/")

    def session(self, provider: str) -> aiohttp.ClientSession:
        session = self._sessions.get(provider)
        if session is None or session.closed:
            session = self._new_session(self._settings.providers[provider])
            self._sessions[provider] = session
        return session

    def client(self, provider: str) -> Http1Pool:
        """The keep-alive client for full (non-streamed) calls to ``provider``."""
        client = self._clients.get(provider)
        if client is None or client.closed:
            p = self._settings.providers[provider]
            unix_path = None
            if is_embedded_sim(p):
                if self._sim_socket is None:
                    raise RuntimeError("the embedded simulator is not running in this process")
                unix_path = self._sim_socket
            origin = Origin.from_url(self.base_url(provider), unix_path)
            client = self._clients[provider] = Http1Pool(origin, limit=p.max_connections)
        return client

    def _new_session(self, p: ProviderSettings) -> aiohttp.ClientSession:
        connector: aiohttp.BaseConnector
        if is_embedded_sim(p):
            if self._sim_socket is None:
                raise RuntimeError("the embedded simulator is not running in this process")
            connector = aiohttp.UnixConnector(path=self._sim_socket, limit=p.max_connections)
        else:
            connector = aiohttp.TCPConnector(
                limit=p.max_connections,
                limit_per_host=p.max_connections,
                ttl_dns_cache=300,
                enable_cleanup_closed=True,
            )
        timeout = aiohttp.ClientTimeout(
            total=p.total_timeout_s, connect=p.connect_timeout_s, sock_read=p.read_timeout_s
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
        )

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
        for client in self._clients.values():
            client.close()
        self._clients.clear()
