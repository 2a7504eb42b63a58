"""The cache stage of the pipeline (after Route, before Admit) and its hooks after the call.

* :class:`CacheLookup` decides whether this request may use the cache (tier mode, request
  controls, determinism), computes its key, and either answers it (a hit: the request counts
  against the caller's request rate, but no tokens or dollars) or leaves a note on the
  exchange so the answer is stored once it is complete.
* :func:`store_answer` (non-streamed) and :func:`record_stream` (streamed) store a complete,
  successful answer — never an error, a degraded or fallback answer, or a cut stream.
* :func:`release_cache` lets waiting identical requests go, however this one ended.
* :func:`cache_headers` adds ``x-doorman-cache`` (and ``age`` on hits) to the response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import orjson
import structlog

from doorman.cache.assemble import StreamAssembler
from doorman.cache.entry import CachedAnswer
from doorman.cache.key import cache_key, canonical_request, is_deterministic, scope_id
from doorman.cache.replay import replay_stream
from doorman.cache.runtime import Ticket
from doorman.exchange import Exchange
from doorman.upstream.wire import Usage

if TYPE_CHECKING:
    from doorman.pipeline import Reply
    from doorman.server.state import Gateway

log = structlog.get_logger("doorman.cache")

Status = Literal["hit", "miss", "bypass", "refresh"]
CONTROL_HEADER = "x-doorman-cache"


@dataclass(slots=True)
class CacheNote:
    """What the cache stage decided for one request (``Exchange.cache``)."""

    status: Status
    key: str | None = None
    ttl_s: int = 0
    ticket: Ticket | None = None
    answer: CachedAnswer | None = None
    include_usage: bool = False  # a streamed hit: replay the usage chunk (OpenAI)
    fast: bool = False  # answered by the fast path (doorman.cache.fastpath)


def request_control(headers: dict[str, str]) -> Literal["bypass", "refresh"] | None:
    """``Cache-Control: no-store`` / ``x-doorman-cache: bypass`` -> neither read nor write;
    ``Cache-Control: no-cache`` / ``x-doorman-cache: refresh`` -> skip the lookup, store anew."""
    ours = headers.get(CONTROL_HEADER, "").strip().lower()
    directives = {d.strip().split("=", 1)[0] for d in headers.get("cache-control", "").lower().split(",")}
    if ours == "bypass" or "no-store" in directives:
        return "bypass"
    if ours == "refresh" or "no-cache" in directives:
        return "refresh"
    return None


SPEC_CACHE_SIZE = 10_000


class CacheLookup:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        cache = self.gw.cache
        tier = ex.tier
        policy = tier.cache if tier is not None else None
        if cache is None or policy is None or policy.mode == "off" or ex.principal is None:
            return
        control = request_control(ex.headers)
        # A request that may get a call needing approval is never answered from (or stored
        # in) the cache: a replayed answer would skip the approval or repeat another's notice.
        tools = tier.tools if tier is not None else None
        needs_approval = tools is not None and tools.may_need_approval(ex.body)
        # Nor is a prompt the injection judge must decide: a cached answer would be served
        # before the judge runs (after admission), whatever it would say this time.
        if (
            control == "bypass"
            or needs_approval
            or ex.gray_texts
            or not (policy.cache_nondeterministic or is_deterministic(ex.body))
        ):
            ex.cache = CacheNote("bypass")
            cache.metrics.count("bypass")
            return
        from doorman.cache.fastpath import remember_route
        from doorman.limits import effective_max_tokens
        from doorman.validation import requested_max_tokens

        assert tier is not None
        model = self.gw.settings.models[ex.model]
        max_tokens = effective_max_tokens(requested_max_tokens(ex.body), tier, model.max_output_tokens)
        canon = canonical_request(ex.body, served_model=ex.model, wire=ex.wire, max_tokens=max_tokens)
        scope = scope_id(policy.scope, user_id=ex.principal.user_id, tier=ex.tier_name)
        key = cache_key(canon, scope)
        remember_route(self.gw, ex, key)  # its byte-identical repeats may skip to the answer
        if control == "refresh":
            ex.cache = CacheNote("refresh", key, policy.ttl_seconds)
            cache.metrics.count("refresh")
            return
        answer, ticket = await cache.find(key)
        if answer is None:
            ex.cache = CacheNote("miss", key, policy.ttl_seconds, ticket)
            cache.metrics.count("miss")
            return
        opts = ex.body.get("stream_options")
        include_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
        ex.cache = CacheNote("hit", key, policy.ttl_seconds, answer=answer, include_usage=include_usage)
        cache.metrics.count("hit")
        await admit_hit(self.gw, ex, answer)


async def admit_hit(gw: Gateway, ex: Exchange, answer: CachedAnswer) -> None:
    """A hit is one request for the caller's request-rate limits and nothing else.

    Only the caller's own (user/key) request limits apply: the model, provider and global
    limits protect the provider's quota, which a hit does not touch; its token and dollar
    limits would be reserved and settled at zero; and it holds no concurrency slot, since it
    holds nothing open (one store entry instead of five: the reservation was most of a hit's
    cost). Its rate-limit headers describe those request limits. Refusals raise as usual.
    """
    from doorman.limits import Demand, build_limits, rate_limit_headers

    assert ex.tier is not None and ex.principal is not None and gw.cache is not None
    p = ex.principal
    own_specs = gw.cache.hit_specs
    spec_key = (ex.tier_name, p.user_id, p.key_id, ex.model)
    own = own_specs.get(spec_key)
    if own is None:  # immutable per (tier, user, key, model): built once
        model = gw.settings.models[ex.model]
        specs = build_limits(
            ex.tier, ex.tier_name, p.user_id, p.key_id,
            ex.model, model, model.provider, gw.settings.limits,
        )  # fmt: skip
        own = [s for s in specs if s.scope.kind in ("user", "key") and s.unit == "requests"]
        if len(own_specs) >= SPEC_CACHE_SIZE:
            own_specs.pop(next(iter(own_specs)))
        own_specs[spec_key] = own
    ex.reservation = await gw.limiter.reserve(own, Demand(requests=1), priority=ex.tier.priority)
    ex.limit_headers = rate_limit_headers(ex.reservation)
    ex.cache_hit = True
    ex.usage = Usage()  # nothing billed: settles at zero tokens and zero dollars
    ex.saved_usd = answer.cost_usd
    gw.cache.metrics.saved.inc(answer.cost_usd)  # admitted: these dollars are not spent
    ex.served = next((d for d in ex.deployments if d.model == answer.served_model), None)
    if ex.served is None and ex.deployments:
        ex.served = ex.deployments[0]


def cached_reply(ex: Exchange, headers: dict[str, str]) -> Reply:
    """The response to a hit: the stored body, or its replay as SSE for a stream request."""
    from doorman.pipeline import Reply

    note = ex.cache
    assert isinstance(note, CacheNote) and note.answer is not None
    headers["x-doorman-cost-usd"] = "0.00000000"
    if not ex.stream:
        return Reply(200, headers, body=note.answer.body)
    body = orjson.loads(note.answer.body)
    return Reply(200, headers, stream=_replay(ex, body, note.include_usage))


async def _replay(ex: Exchange, body: dict[str, Any], include_usage: bool) -> AsyncIterator[bytes]:
    """The stored answer as SSE, ending like every relayed stream: with the cost trailer."""
    from doorman.pipeline import cost_trailer

    async for event in replay_stream(ex.wire, body, include_usage=include_usage):
        yield event
    yield cost_trailer(ex)  # settled before the reply was built: zero for a hit


def cache_headers(ex: Exchange) -> dict[str, str]:
    note = ex.cache
    if not isinstance(note, CacheNote):
        return {}
    headers: dict[str, str] = {CONTROL_HEADER: note.status}
    if note.answer is not None:
        headers["age"] = str(note.answer.age_seconds())
    return headers


def _storable(ex: Exchange) -> CacheNote | None:
    note = ex.cache
    if not isinstance(note, CacheNote) or note.key is None or note.status == "hit":
        return None
    if ex.status != 200 or ex.degraded or ex.error_code is not None or ex.served is None:
        return None
    if ex.served.model != ex.model:  # a fallback's answer is not the requested model's
        return None
    return note


def _answer(gw: Gateway, ex: Exchange, body: bytes) -> CachedAnswer:
    assert ex.served is not None
    u = ex.usage
    return CachedAnswer(
        body=body,
        served_model=ex.served.model,
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cached_tokens=u.cached_tokens,
        cost_usd=ex.cost_usd,
    )


async def store_answer(gw: Gateway, ex: Exchange, body: bytes | None) -> None:
    """After a non-streamed answer was settled: store it if it may be reused; then release."""
    note = ex.cache
    if not isinstance(note, CacheNote) or gw.cache is None:
        return
    try:
        if _storable(ex) is not None and body is not None and note.key is not None:
            await gw.cache.put(note.key, _answer(gw, ex, body), note.ttl_s)
    finally:
        await gw.cache.release(note.ticket)


def record_stream(gw: Gateway, ex: Exchange, reply: Reply) -> Reply:
    """Wrap a relayed stream so its answer is stored once it ended cleanly (and released)."""
    note = ex.cache
    cache = gw.cache
    if not isinstance(note, CacheNote) or cache is None or reply.stream is None:
        return reply
    inner = reply.stream
    abandon = reply.on_abandon

    async def recording() -> AsyncIterator[bytes]:
        assembler = StreamAssembler(ex.wire) if note.key is not None else None
        finished = False
        try:
            async for chunk in inner:
                if assembler is not None:
                    assembler.feed(chunk)
                yield chunk
            finished = True
        finally:
            if not finished:
                closer = getattr(inner, "aclose", None)
                if closer is not None:
                    await closer()
            try:
                # The end marker reached the client: the answer is complete even when the
                # client hung up before the upstream's EOF (a race right after ``[DONE]``).
                complete = assembler is not None and assembler.complete
                if complete and assembler is not None and _storable(ex) is not None:
                    body = assembler.body(ex.usage, ex.model)
                    if body is not None and note.key is not None:
                        await cache.put(note.key, _answer(gw, ex, body), note.ttl_s)
            finally:
                await cache.release(note.ticket)

    async def on_abandon() -> None:
        try:
            if abandon is not None:
                await abandon()
        finally:
            await cache.release(note.ticket)

    reply.stream = recording()
    reply.on_abandon = on_abandon
    return reply


async def release_cache(gw: Gateway, ex: Exchange) -> None:
    """At the end of the bookkeeping: free followers now unless a store is still to come."""
    note = ex.cache
    if not isinstance(note, CacheNote) or note.ticket is None or gw.cache is None:
        return
    if ex.status == 200 and not ex.degraded and ex.error_code is None and not ex.cache_hit:
        return  # store_answer / the stream recorder stores first, then releases
    await gw.cache.release(note.ticket)


