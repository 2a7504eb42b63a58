"""Pooled upstream HTTP clients: one aiohttp session per provider.

aiohttp was chosen by measurement (see bench/RESULTS.md). A session per provider is a bulkhead:
a provider that hangs can exhaust only its own connection pool, never another provider's.
"""

from __future__ import annotations

import aiohttp

from doorman.config import ProviderSettings, Settings

SIM_PATH = "/_sim"


class UpstreamPool:
    def __init__(self, settings: Settings, self_base_url: str) -> None:
        self._settings = settings
        self._self_base_url = self_base_url.rstrip("/")
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    def base_url(self, provider: str) -> str:
        p = self._settings.providers[provider]
        if p.kind == "sim" and not p.base_url:
            return self._self_base_url + SIM_PATH
        assert p.base_url is not None
        return p.base_url.rstrip("/")

    def session(self, provider: str) -> aiohttp.ClientSession:
        session = self._sessions.get(provider)
        if session is None or session.closed:
            session = self._new_session(self._settings.providers[provider])
            self._sessions[provider] = session
        return session

    @staticmethod
    def _new_session(p: ProviderSettings) -> aiohttp.ClientSession:
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
