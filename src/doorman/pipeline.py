"""The request path — one pipeline for the server and for ``doorman.Client``.

    authenticate -> [cache-hit fast path] -> parse/validate -> screen -> route -> cache
    -> admit -> forward -> settle -> respond

Each stage is a small object with one job; the order lives in ``Pipeline.stages``. A stage
either fills in the :class:`Exchange` or raises a :class:`DoormanError`. ``finish`` runs exactly
once per request, after the response (or the end of a stream, or a disconnect), and does the
bookkeeping: settle the reservation, write the ledger row, update metrics, log one line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson
import structlog

from doorman.answer.stage import PlanAnswer, check_answer, contract_retries, output_headers
from doorman.approvals.stage import approval_headers, withhold_full, withhold_relay
from doorman.cache.fastpath import FastCacheHit
from doorman.cache.replay import replay_stream
from doorman.cache.stage import (
    CacheLookup,
    cache_headers,
    cached_reply,
    record_stream,
    release_cache,
    store_answer,
)
from doorman.cost.tokens import get_encoding, may_reason_unseen
from doorman.errors import BadRequest, DoormanError, ModelNotFound, PermissionDenied
from doorman.exchange import Exchange
from doorman.judge import JudgeInjection, record_side_call
from doorman.ledger.task_label import TASK_HEADER, checked_task_label
from doorman.routing import routed_model
from doorman.screen.output import OutputBlocked
from doorman.screen.output_stage import GuardOutput, add_canary, guard_body
from doorman.screen.output_stream import guard_stream
from doorman.tool_policy import EnforceToolPolicy
from doorman.upstream.deployment import Deployment, Wire, deployments_for
from doorman.upstream.dispatch import UpstreamReply
from doorman.upstream.output_cap import MAX_TOKENS_FLAG, clip_body, stream_ending
from doorman.upstream.stream_errors import scrub_error_data
from doorman.upstream.translate import (
    StreamTranslator,
    translate_request,
    translate_response,
    translate_stream,
)
from doorman.upstream.wire import StreamMeter, Usage, usage_from_body
from doorman.validation import (
    billed_input,
    check_tier_caps,
    parse_json,
    requested_max_tokens,
    validate_chat,
)

if TYPE_CHECKING:
    from doorman.server.state import Gateway

log = structlog.get_logger("doorman.request")
# The longest SSE line relayed (one event's JSON); a provider sending more without a newline
# is broken, and the stream ends as an upstream error instead of growing a buffer without end.
MAX_SSE_LINE_BYTES = 16 * 1024 * 1024


def cost_trailer(ex: Exchange) -> bytes:
    """The last bytes of every relayed stream: an SSE comment with the settled cost."""
    return f": x-doorman-cost-usd={ex.cost_usd:.8f}\n\n".encode()


def sent_max_tokens(ex: Exchange, dep: Deployment) -> int:
    """The ``max_tokens`` sent to ``dep``: the admitted cap, or the deployment's own if lower."""
    if dep.settings.max_output_tokens is not None:
        return min(ex.max_tokens, dep.settings.max_output_tokens)
    return ex.max_tokens


class Stage(Protocol):
    async def __call__(self, ex: Exchange) -> None: ...


@dataclass(slots=True)
class Reply:
    """What the server sends back: a full body or an SSE stream, plus headers.

    Whoever takes a stream must call :meth:`aclose` when done with it, however it went: a
    stream dropped before its first event still holds an upstream connection, a concurrency
    slot and a reservation, and only ``aclose`` settles those (a never-started generator's
    ``finally`` never runs).
    """

    status: int
    headers: dict[str, str]
    body: bytes | None = None
    stream: AsyncIterator[bytes] | None = None
    on_abandon: Callable[[], Awaitable[None]] | None = None

    async def aclose(self) -> None:
        stream = self.stream
        if stream is None:
            return
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()  # a started relay settles in its own finally
        if self.on_abandon is not None:
            await self.on_abandon()  # a relay never started settles here


class Authenticate:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        principal = await self.gw.authenticator.authenticate(
            ex.headers, ex.method, ex.path, ex.raw_body, ex.client_ip
        )
        ex.principal = principal
        ex.tier_name = principal.tier
        tier = self.gw.settings.tiers.get(principal.tier)
        if tier is None:
            raise PermissionDenied(
                f"The key's tier '{principal.tier}' is not configured.", code="unknown_tier"
            )
        ex.tier = tier
        ex.task = checked_task_label(ex.headers.get(TASK_HEADER), TASK_HEADER)


class Validate:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        settings = self.gw.settings
        ex.body = parse_json(ex.raw_body, settings.server)
        request = ex.request = validate_chat(ex.body, ex.wire, settings.server)
        ex.billed = billed_input(request)
        assert ex.tier is not None and ex.principal is not None
        check_tier_caps(request, ex.billed, ex.tier, ex.tier_name)
        ex.stream = bool(request.stream)
        ex.requested_model = request.model
        if ex.task is None and request.metadata is not None:
            ex.task = checked_task_label(request.metadata.get("task"), "metadata.task")
        model = settings.resolve_model(ex.requested_model) or routed_model(settings, ex)
        if model is None:
            raise ModelNotFound(
                f"The model '{ex.requested_model}' does not exist or is not served by this gateway.",
                param="model",
            )
        allowed_tier = ex.tier.models
        allowed_key = getattr(ex.principal, "allowed_models", None)
        for allowed, who in ((allowed_tier, f"tier '{ex.tier_name}'"), (allowed_key, "this key")):
            if allowed and model not in allowed and ex.requested_model not in allowed:
                raise PermissionDenied(
                    f"The model '{ex.requested_model}' is not allowed for {who}.",
                    code="model_not_allowed",
                    param="model",
                )
        ex.model = model
        # Counted here, before screening: an oversized prompt is refused before any work on it.
        count_input(self.gw, ex)


def count_input(gw: Gateway, ex: Exchange) -> None:
    """Count everything the provider bills as input and hold it to ``max_input_tokens``."""
    assert ex.tier is not None
    ex.input_tokens = gw.count_input_tokens(ex)
    cap = ex.tier.max_input_tokens
    if cap is not None and ex.input_tokens > cap:
        raise BadRequest(
            f"messages: the prompt has {ex.input_tokens} tokens (messages, tools, schemas, images and "
            f"documents all count); tier '{ex.tier_name}' allows {cap}.",
            code="input_tokens_exceeded",
            param="messages",
        )


class Screen:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        screener = self.gw.screener
        if screener is None:
            ex.screen_clean = True
            return
        assert ex.tier is not None
        verdict = await screener.screen(
            ex.body, ex.wire, ex.tier.screening, size=len(ex.raw_body or b"")
        )
        ex.flags.extend(verdict.flags)
        if verdict.error is not None:
            raise verdict.error
        ex.gray_texts = verdict.gray  # decided by the injection judge after admission
        # Nothing seen (shadow findings and judge-bound gray texts included), nothing changed: a
        # repeat of exactly these bytes may be answered from the cache without screening again
        # (cache/fastpath.py).
        ex.screen_clean = (
            not verdict.findings and not verdict.flags and not verdict.gray
            and verdict.body is ex.body
        )  # fmt: skip
        if verdict.body is not ex.body:  # redacted: count what is actually sent
            ex.body = verdict.body
            ex.request = validate_chat(ex.body, ex.wire, self.gw.settings.server)
            ex.billed = billed_input(ex.request)
            count_input(self.gw, ex)


class Route:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        ex.deployments = deployments_for(self.gw.settings, ex.model)


class Admit:
    """Reserve requests, tokens, dollars and a concurrency slot in every scope at once."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        gw = self.gw
        assert ex.tier is not None and ex.principal is not None
        assert ex.request is not None
        admission = await gw.admit(ex, requested_max_tokens(ex.request), contract_retries(ex))
        ex.max_tokens = admission.max_tokens
        ex.reservation = admission.reservation
        ex.reserved_usd = admission.reserved_usd
        ex.limit_headers = admission.headers


class Pipeline:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.stages: list[Stage] = [
            Authenticate(gw),
            FastCacheHit(gw),  # a repeat of a screened request whose answer is cached
            Validate(gw),
            EnforceToolPolicy(gw),
            Screen(gw),
            Route(gw),
            CacheLookup(gw),
            PlanAnswer(gw),
            Admit(gw),
            JudgeInjection(gw),
            GuardOutput(gw),
        ]

    async def run(self, ex: Exchange) -> Reply:
        """Run every stage, then forward. Errors propagate after the bookkeeping is done."""
        # Every log line written for this request (screening, retries, ...) names it. Bound
        # and reset by token: ``bound_contextvars`` first copies every context variable.
        tokens = structlog.contextvars.bind_contextvars(request_id=ex.request_id)
        try:
            return await self._run(ex)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    async def _run(self, ex: Exchange) -> Reply:
        try:
            for stage in self.stages:
                await stage(ex)
                if ex.cache_hit:  # answered from the cache: nothing goes upstream
                    await self.finish(ex)
                    return cached_reply(ex, self.response_headers(ex))
            return await self.forward(ex)
        except DoormanError as exc:
            ex.status = exc.status_code
            ex.error_code = exc.code
            await self.finish(ex)
            raise
        except BaseException:
            ex.status = 500
            ex.error_code = "internal_error"
            await self.finish(ex)
            raise

    # ------------------------------------------------------------------ forward
    def upstream_body(self, ex: Exchange, dep: Deployment, wire: Wire) -> dict[str, Any]:
        """The body for one deployment, in its wire format; raises Untranslatable."""
        return self.body_from(ex, ex.body, dep, wire)

    def body_from(
        self, ex: Exchange, base: dict[str, Any], dep: Deployment, wire: Wire
    ) -> dict[str, Any]:
        """``base`` (the request's body, or one with turns added) for one deployment."""
        body = dict(base)
        body["model"] = dep.upstream_model
        max_tokens = sent_max_tokens(ex, dep)
        if wire != ex.wire:
            body = translate_request(ex.wire, wire, body)
        if wire == "openai":
            body.pop("max_completion_tokens", None)
            body["max_tokens"] = max_tokens
            if ex.stream:
                opts = dict(body.get("stream_options") or {})
                opts["include_usage"] = True
                body["stream_options"] = opts
        else:
            body["max_tokens"] = max_tokens
        body.pop("metadata", None) if wire == "openai" else None
        if ex.canary is not None:
            add_canary(body, wire, ex.canary)
        return body

    async def forward(self, ex: Exchange) -> Reply:
        gw = self.gw
        deadline = time.monotonic() + gw.settings.server.request_timeout_s
        ex.upstream_started = time.perf_counter()

        def count_attempt(dep: Deployment) -> None:
            ex.attempts += 1

        try:
            reply = await gw.dispatcher.send(
                ex.deployments,
                ex.wire,
                lambda dep, wire: self.upstream_body(ex, dep, wire),
                stream=ex.stream,
                deadline=deadline,
                on_attempt=count_attempt,
                on_unanswered=self._bill_unanswered(ex, "unanswered"),
            )
        except DoormanError as exc:
            degraded = gw.degraded_reply(ex, exc)
            if degraded is None:
                final = gw.degraded_error(ex, exc)
                if final is exc:
                    raise
                raise final from None
            ex.degraded = True
            gw.dispatcher.note_degraded(ex.model, exc.code)
            ex.status = 200
            ex.error_code = exc.code
            await self.finish(ex)
            return degraded
        ex.served = reply.deployment
        if reply.deployment.model != ex.model:
            ex.flags.append("fallback")
        if ex.stream:
            stream: AsyncIterator[bytes] = self._relay(ex, reply, deadline)
            if ex.output_guard is not None:
                stream = guard_stream(stream, ex.wire, ex.output_guard, self._blocked(ex))
            stream = withhold_relay(gw, ex, stream)  # calls needing a person's approval
            return record_stream(
                self.gw,
                ex,
                Reply(
                    200,
                    self.response_headers(ex),
                    stream=stream,
                    on_abandon=lambda: self._abandon(ex, reply),
                ),
            )
        assert reply.body is not None
        ex.upstream_ms = (time.perf_counter() - ex.upstream_started) * 1000
        ex.ttft_ms = ex.upstream_ms
        parsed, body, usage = self._read_full(ex, reply)
        blocked: DoormanError | None = None
        if isinstance(parsed, dict) and ex.answer is not None:
            try:
                parsed = await check_answer(
                    gw, ex, parsed, lambda extra: self._ask_again(ex, extra)
                )
                body = orjson.dumps(parsed)
            except DoormanError as exc:
                blocked = exc
        if isinstance(parsed, dict) and ex.output_guard is not None and blocked is None:
            try:
                if guard_body(ex, parsed):
                    body = orjson.dumps(parsed)
            except OutputBlocked as exc:
                blocked = exc
        if isinstance(parsed, dict) and blocked is None and await withhold_full(gw, ex, parsed):
            body = orjson.dumps(parsed)  # calls needing a person's approval
        ex.usage = usage
        ex.status = reply.status
        if blocked is not None:  # the provider billed it: settle, record, then refuse
            ex.status, ex.error_code = blocked.status_code, blocked.code
            await self.finish(ex)
            raise blocked
        await self.finish(ex)
        await store_answer(self.gw, ex, None if "output_invalid" in ex.flags else body)
        headers = self.response_headers(ex)
        if ex.answer is not None and ex.answer.replay and isinstance(parsed, dict):
            include_usage = ex.answer.include_usage
            stream = replay_stream(ex.wire, parsed, include_usage=include_usage)
            return Reply(reply.status, headers, stream=stream)
        return Reply(reply.status, headers, body=body)

    def _bill_unanswered(
        self, ex: Exchange, purpose: str, extra: list[dict[str, Any]] | None = None
    ) -> Callable[[Deployment], None]:
        """What to do with a try that may have reached the provider and got no answer (it timed
        out, the connection dropped, the request was cancelled mid-call): a provider bills a call
        it started whether or not anyone reads the answer, so it goes on this request's bill at
        its worst case -- the counted prompt (plus ``extra`` turns) and the ``max_tokens`` sent.
        Refunding it instead let a caller whose calls outlast the gateway's timeout spend the
        operator's money for nothing."""
        gw = self.gw

        def bill(dep: Deployment) -> None:
            prompt = ex.input_tokens
            if extra:
                enc = get_encoding(gw.count_profile(dep).encoding)
                prompt += len(enc.encode_ordinary(orjson.dumps(extra).decode()))
            usage = Usage(input_tokens=prompt, output_tokens=sent_max_tokens(ex, dep))
            record_side_call(gw, ex, purpose, dep, usage)

        return bill

    def _read_full(
        self, ex: Exchange, reply: UpstreamReply
    ) -> tuple[dict[str, Any] | None, bytes, Usage]:
        """A full answer in the caller's format: parsed (None if not JSON), its bytes, usage."""
        assert reply.body is not None
        body = reply.body
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            return None, body, Usage(input_tokens=ex.input_tokens)
        usage = usage_from_body(reply.wire, parsed)
        cut, delivered = self._cap_body(ex, reply, parsed, usage)
        if cut:
            body = orjson.dumps(parsed)
        if usage is None:  # unreported: billed for what is delivered
            usage = Usage(input_tokens=ex.input_tokens, output_tokens=delivered)
        if reply.wire != ex.wire:
            parsed = translate_response(ex.wire, reply.wire, parsed)
            body = orjson.dumps(parsed)
        return parsed, body, usage

    async def _ask_again(
        self, ex: Exchange, extra: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The model asked once more with ``extra`` turns (an output-contract retry): another
        upstream call, billed under this request. None when it fails."""
        gw = self.gw
        body = {**ex.body, "messages": [*(ex.body.get("messages") or []), *extra]}
        left = gw.settings.server.request_timeout_s - ex.elapsed_ms / 1000
        try:
            reply = await gw.dispatcher.send(
                ex.deployments,
                ex.wire,
                lambda dep, wire: self.body_from(ex, body, dep, wire),
                stream=False,
                deadline=time.monotonic() + max(0.0, left),
                on_unanswered=self._bill_unanswered(ex, "contract_retry_unanswered", extra),
            )
        except DoormanError as exc:
            log.info("contract_retry_failed", error_code=exc.code)
            return None
        parsed, _, usage = self._read_full(ex, reply)
        record_side_call(gw, ex, "contract_retry", reply.deployment, usage)
        return parsed

    def _cap_body(
        self, ex: Exchange, reply: UpstreamReply, parsed: dict[str, Any], usage: Usage | None
    ) -> tuple[bool, int]:
        """Cut a full answer that ran past the ``max_tokens`` sent (see ``output_cap``)."""
        enc = get_encoding(self.gw.count_profile(reply.deployment).encoding)
        cap = sent_max_tokens(ex, reply.deployment)
        reported = usage.output_tokens if usage is not None else None
        cut, delivered = clip_body(
            reply.wire, parsed, cap, enc.encode_ordinary, enc.decode, reported
        )
        if cut:
            ex.flags.append(MAX_TOKENS_FLAG)
        return cut, delivered

    @staticmethod
    def _blocked(ex: Exchange) -> Callable[[OutputBlocked], None]:
        """What a stream ended by output screening records (before the relay settles)."""

        def note(exc: OutputBlocked) -> None:
            ex.error_code = exc.code

        return note

    async def _abandon(self, ex: Exchange, reply: UpstreamReply) -> None:
        """The client went away before the first event was relayed: free and settle anyway.

        A relay that started has settled in its own ``finally`` by the time this runs.
        """
        if ex.settled:
            return
        ex.error_code = ex.error_code or "client_closed"
        await self._end_stream(ex, reply, Usage(input_tokens=ex.input_tokens))

    async def _end_stream(self, ex: Exchange, reply: UpstreamReply, usage: Usage) -> None:
        """However a stream ended: free the upstream, record what was used, settle."""
        reply.release()  # the connection and the provider's concurrency slot
        ex.upstream_ms = (time.perf_counter() - (ex.upstream_started or ex.started)) * 1000
        ex.usage = usage
        if ex.error_code is not None and ex.status == 200:
            ex.flags.append("stream_incomplete")
        # Shielded: the client closing its connection right after the last event cancels
        # this stream, and the settlement, metrics and log line must still happen.
        await asyncio.shield(self.finish(ex))

    async def _relay(
        self, ex: Exchange, reply: UpstreamReply, deadline: float
    ) -> AsyncIterator[bytes]:
        """Relay SSE events to the client, metering usage; settle however the stream ends."""
        assert reply.response is not None
        resp = reply.response
        opts = getattr(ex.request, "stream_options", None)
        wants_usage = opts is not None and bool(opts.include_usage)
        meter = self._meter(ex, reply, wants_usage)
        # The meter reads the provider's events; a translator rewrites them for the client.
        translator = None
        if reply.wire != ex.wire:
            translator = translate_stream(
                ex.wire, reply.wire, include_usage=wants_usage, input_tokens=ex.input_tokens
            )
        event_name: str | None = None
        first = True
        pending_event: bytes = b""
        # A stream may outlive its leases (limits.lease_seconds < the request deadline): renew
        # them at half-life so its concurrency slot and holds are never reclaimed under it.
        renew_every = self.gw.limiter.settings.lease_seconds / 2
        next_renew = time.monotonic() + renew_every
        buffer = b""
        batch: list[bytes] = []

        def relay_line(line: bytes) -> bool:
            """Meter, scrub, translate one SSE line into ``batch``; False ends the stream."""
            nonlocal event_name, pending_event
            if line.startswith(b"data:"):
                data = line[5:].strip()
                clean = scrub_error_data(data, reply)  # error events may echo secrets
                if clean is not data:
                    data, line = clean, b"data: " + clean + b"\n"
                keep = meter.feed(data)
                if meter.capped:  # the provider ran past max_tokens: cut, end, close
                    data = meter.clipped or data
                    ending = stream_ending(
                        reply.wire, meter.last_event, meter.block_index,
                        (ex.input_tokens, meter.counted_output),
                        with_usage=wants_usage or translator is not None,
                    )  # fmt: skip
                    batch.extend(self._emit([(event_name, data), *ending], translator, pending_event))
                    ex.flags.append(MAX_TOKENS_FLAG)
                    resp.close()  # the provider stops generating (and billing)
                    return False
                if translator is not None:
                    batch.extend(translator.feed(event_name, data))
                    event_name = None
                    return True
                if keep:
                    batch.append(pending_event + line)
                pending_event = b""
            elif line.startswith(b"event:"):
                if translator is not None:
                    event_name = line[6:].strip().decode("utf-8", "replace")
                else:
                    pending_event += line
            elif translator is None:  # blank separators and comments (a translator frames its own)
                batch.append(pending_event + line)
                pending_event = b""
            return True

        try:
            # One write to the client per upstream read, however many events it holds: a write
            # per line cost the server two sends per token (bench/stream_bench.py).
            going = True
            async for chunk in resp.content.iter_any():
                if first:
                    ex.ttft_ms = (time.perf_counter() - (ex.upstream_started or ex.started)) * 1000
                    first = False
                buffer += chunk
                if b"\n" not in chunk:
                    if len(buffer) > MAX_SSE_LINE_BYTES:
                        raise ValueError("an SSE line longer than the relay accepts")
                    continue
                *lines, buffer = buffer.split(b"\n")
                for raw in lines:
                    going = relay_line(raw + b"\n")
                    if not going:
                        break
                if batch:
                    yield b"".join(batch)
                    batch.clear()
                if not going:
                    break
                now = time.monotonic()
                if now > deadline:
                    ex.error_code = "deadline_exceeded"
                    break
                if now >= next_renew and ex.reservation is not None:
                    next_renew = now + renew_every
                    await self.gw.limiter.renew(ex.reservation)
            if going and buffer:  # a last line without its newline
                relay_line(buffer)
                if batch:
                    yield b"".join(batch)
                    batch.clear()
            if not meter.done and not meter.capped and ex.error_code is None:
                ex.error_code = "upstream_stream_incomplete"
        except Exception as exc:  # upstream broke mid-stream: the client already has a 200
            ex.error_code = "upstream_stream_error"
            log.warning("upstream_stream_error", error=type(exc).__name__, request_id=ex.request_id)
        except (asyncio.CancelledError, GeneratorExit):
            # The client hung up (or closed its Client stream) before the end: not a 200 like
            # any other; recorded as client_closed with what was used until then.
            if not meter.done and ex.error_code is None:
                ex.error_code = "client_closed"
            raise
        finally:
            if not ex.settled:
                await self._end_stream(ex, reply, meter.final_usage())
        # Settled: the cost is known. A final SSE comment carries it (headers left long ago);
        # SDKs skip comment lines.
        yield cost_trailer(ex)

    @staticmethod
    def _emit(
        events: list[tuple[str | None, bytes]],
        translator: StreamTranslator | None,
        pending_event: bytes,
    ) -> list[bytes]:
        """SSE bytes for the client from provider events (``event:`` name, ``data:`` payload)."""
        if translator is not None:
            return [b for name, data in events for b in translator.feed(name, data)]
        out = []
        for i, (name, data) in enumerate(events):
            # The crossing event's own `event:` line is already pending (relayed as read).
            head = pending_event if i == 0 else (f"event: {name}\n".encode() if name else b"")
            out.append(head + b"data: " + data + b"\n\n")
        return out

    def error_headers(self, ex: Exchange) -> dict[str, str]:
        """Headers of a refused or failed request: the limits evaluated so far and its cost."""
        headers = dict(ex.limit_headers)
        if ex.served is not None:
            headers["x-doorman-served-by"] = ex.served.model
        headers["x-doorman-cost-usd"] = f"{ex.cost_usd:.8f}"
        self.gw.add_key_headers(ex, headers)
        return headers

    def _meter(self, ex: Exchange, reply: UpstreamReply, wants_usage: bool) -> StreamMeter:
        """A meter that counts with the served model's tokenizer and settles an unreported
        stream by the conservative rule (see :class:`StreamMeter`)."""
        dep = reply.deployment
        profile = self.gw.count_profile(dep)
        hidden = may_reason_unseen(dep.upstream_model, ex.request)
        return StreamMeter(
            reply.wire,
            dep.upstream_model,
            ex.input_tokens,
            wants_usage,
            safety=profile.safety,
            unreported_allowance=self.gw.settings.limits.stream_unreported_tokens,
            hidden_output_cap=ex.max_tokens if hidden else None,
            max_output=ex.max_tokens,
            encoding=profile.encoding,
            cap=sent_max_tokens(ex, dep),
        )

    def response_headers(self, ex: Exchange) -> dict[str, str]:
        headers = dict(ex.limit_headers)
        if ex.served is not None:
            headers["x-doorman-served-by"] = ex.served.model
        if ex.routed_to is not None:
            headers["x-doorman-routed-to"] = ex.routed_to
        if ex.flags:
            headers["x-doorman-flags"] = ",".join(dict.fromkeys(ex.flags))
        if ex.degraded:
            headers["x-doorman-degraded"] = "true"
        if not ex.stream:
            headers["x-doorman-cost-usd"] = f"{ex.cost_usd:.8f}"
        headers.update(cache_headers(ex))
        headers.update(approval_headers(ex))
        output_headers(ex, headers)
        self.gw.add_key_headers(ex, headers)
        return headers

    # ------------------------------------------------------------------ finish
    async def finish(self, ex: Exchange) -> None:
        """Settle, record, measure, log. Runs once; never raises into the client's response."""
        if ex.settled:
            return
        ex.settled = True
        await self.gw.finish(ex)
        await release_cache(self.gw, ex)
