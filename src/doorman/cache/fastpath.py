"""The cache-hit fast path: a repeat of an already-screened request, answered right after auth.

Why: a hit through the whole input chain still parses, validates, counts tokens, screens and
routes its body before the cache stage finds the answer -- several times the cost of a bare
pass-through proxy's whole request. A byte-identical repeat needs none of that: every one of
those stages is a pure function of the raw body, the caller's key and tier, the task header and
this process's configuration, and the request they produced last time was let through.

How: :class:`~doorman.cache.stage.CacheLookup` remembers, for a request that passed every input
stage with *nothing* to say (no screening finding of any kind, shadow included, no redaction,
no flag), a :class:`FastRoute`: the SHA-256 of (wire format, key id, tier, task header, raw body)
-> the canonical cache key and what routing decided. :class:`FastCacheHit`, the stage right
after :class:`~doorman.pipeline.Authenticate`, looks the repeat up there and serves the stored
answer when there is one. It still authenticates (signatures and replay nonces included), counts
the request against the caller's request rate, writes the ledger row (``cache_hit``, zero cost,
``saved_usd``), and sends ``x-doorman-cache: hit`` and ``age``.

What keeps it safe:

* Only a request that was let through is remembered; a refused or flagged prompt never is, so
  its repeats always go through screening.
* The index lives in this process and dies with its configuration: a gateway built from a
  changed config starts empty, and a route whose tier object or key restrictions differ from
  the caller's now is ignored.
* The key id is in the hash: a route is only ever reused by the key that earned it, so another
  tenant (and another key of the same user with other model restrictions) never takes it. The
  answer itself is still looked up under the tenant-scoped cache key.
* The answer is read from the cache store each time, so TTLs, refreshes and other replicas'
  stores behave as on the slow path; an entry that is gone sends the request down the full
  path (where coalescing happens).
* A request with cache controls (``Cache-Control``, ``x-doorman-cache``) never takes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from doorman.ledger.task_label import TASK_HEADER

if TYPE_CHECKING:
    from doorman.config import TierSettings
    from doorman.exchange import Exchange
    from doorman.server.state import Gateway
    from doorman.upstream.deployment import Deployment

_VERSION = b"doorman-fast-v1\x00"
# Request headers any input stage reads. A stage that starts reading another one must add it
# here, or byte-identical bodies with different values of it would share a route.
KEY_HEADERS = (TASK_HEADER,)
CONTROL_HEADERS = ("cache-control", "x-doorman-cache")


@dataclass(slots=True, frozen=True)
class FastRoute:
    """What the input stages decided for one raw request, enough to answer its repeat."""

    cache_key: str
    tier: TierSettings  # identity checked: another config's tier never matches
    allowed_models: tuple[str, ...] | None  # the key's restriction when it was remembered
    requested_model: str
    model: str
    routed_to: str | None
    task: str | None
    stream: bool
    include_usage: bool
    deployments: tuple[Deployment, ...]


class FastRoutes:
    """A bounded map of raw-request digests to routes (oldest forgotten first)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max(1, max_entries)
        self._routes: dict[bytes, FastRoute] = {}

    def __len__(self) -> int:
        return len(self._routes)

    def get(self, digest: bytes) -> FastRoute | None:
        return self._routes.get(digest)

    def remember(self, digest: bytes, route: FastRoute) -> None:
        routes = self._routes
        if digest not in routes and len(routes) >= self.max_entries:
            routes.pop(next(iter(routes)))
        routes[digest] = route

    def forget(self, digest: bytes) -> None:
        self._routes.pop(digest, None)


def raw_digest(ex: Exchange) -> bytes | None:
    """The fast-path key of an authenticated request, or None when it must not take it."""
    headers = ex.headers
    for name in CONTROL_HEADERS:
        if name in headers:
            return None
    p = ex.principal
    if p is None:
        return None
    h = hashlib.sha256(_VERSION)
    h.update(f"{ex.wire}\x00{p.key_id}\x00{ex.tier_name}\x00".encode())
    for name in KEY_HEADERS:
        value = headers.get(name)
        h.update(b"\x01" if value is None else b"\x02" + value.encode() + b"\x00")
    h.update(ex.raw_body)
    return h.digest()


def remember_route(gw: Gateway, ex: Exchange, cache_key: str) -> None:
    """Called by the cache stage: index this request if every input stage passed it untouched."""
    cache = gw.cache
    if cache is None or ex.fast_digest is None or not ex.screen_clean or ex.flags:
        return
    assert ex.tier is not None and ex.principal is not None
    opts = ex.body.get("stream_options")
    cache.routes.remember(
        ex.fast_digest,
        FastRoute(
            cache_key=cache_key,
            tier=ex.tier,
            allowed_models=ex.principal.allowed_models,
            requested_model=ex.requested_model,
            model=ex.model,
            routed_to=ex.routed_to,
            task=ex.task,
            stream=ex.stream,
            include_usage=isinstance(opts, dict) and bool(opts.get("include_usage")),
            deployments=tuple(ex.deployments),
        ),
    )


class FastCacheHit:
    """The stage after authentication: serve a remembered request's stored answer, or pass."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        from doorman.cache.stage import CacheNote, admit_hit

        cache = self.gw.cache
        tier = ex.tier
        if cache is None or tier is None or tier.cache.mode == "off":
            return
        digest = ex.fast_digest = raw_digest(ex)
        if digest is None:
            return
        route = cache.routes.get(digest)
        if route is None:
            return
        assert ex.principal is not None
        if route.tier is not tier or route.allowed_models != ex.principal.allowed_models:
            cache.routes.forget(digest)  # the key or the config changed: go the long way
            return
        answer = await cache.get(route.cache_key)
        if answer is None:  # expired, evicted or never stored: the full path (and coalescing)
            return
        ex.requested_model = route.requested_model
        ex.model = route.model
        ex.routed_to = route.routed_to
        ex.task = route.task
        ex.stream = route.stream
        ex.deployments = list(route.deployments)
        ex.cache = CacheNote(
            "hit", route.cache_key, tier.cache.ttl_seconds, answer=answer,
            include_usage=route.include_usage, fast=True,
        )  # fmt: skip
        cache.metrics.count("hit")
        await admit_hit(self.gw, ex, answer)  # a refusal raises: nothing answered, nothing saved
        cache.metrics.fast_hits.inc()
