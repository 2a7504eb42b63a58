"""Simulated LLM provider as an ASGI app (``doorman sim`` runs it as its own process).

It answers any model name in both wire formats with deterministic text whose length follows
``max_tokens``, counts usage with the gateway's tokenizer, and injects faults on demand (errors,
429s with retry-after, stalls, mid-stream disconnects, latency) so tests, benchmarks and chaos
runs exercise the gateway against real HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from doorman.cost.tokens import count_messages, count_text
from doorman.sim.prompt_cache import PromptCache

# Common English words that are one cl100k token each with a leading space.
_WORDS = (
    "the of and to in is that for it with as was on be at by this had not are but from or "
    "have an they which one you were all we her she there would their will each about how up "
    "out them then many some so these other into has more two like him see time could no make "
    "than first been its who now people my made over did down only way find use may water "
    "long little very after words called just where most know get through back much before go "
    "good new write our used me man too any day same right look think also around another "
    "came come work three word must because does part even place well such here take why "
    "things help put years different away again off went old number great tell men say small "
    "every found still between name should home big give air line set own under read last "
    "never us left end along while might next sound below "
).split()

DEFAULT_REPLY_TOKENS = 16


@dataclass
class SimOptions:
    ttft_ms: float = 0.0
    token_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    stall_rate: float = 0.0
    stall_s: float = 3600.0
    disconnect_rate: float = 0.0
    max_reply_tokens: int = 1024
    rpm: int | None = None
    seed: int | None = None
    api_key: str | None = None  # when set, other credentials get 401 like a real provider
    # a provider that ignores max_tokens: answers max_reply_tokens whatever was asked
    # (per request: the script SIM:IGNORE_MAX_TOKENS in the last user turn)
    ignore_max_tokens: bool = False


@dataclass
class SimStats:
    requests: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_model: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    ok: int = 0
    output_tokens: int = 0
    input_tokens: int = 0
    audio_requests: int = 0  # transcriptions answered
    audio_seconds: float = 0.0  # seconds of audio received, in total
    audio_durations: list[float] = field(default_factory=list)  # per clip, most recent last


class _Sim:
    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.stats = SimStats()
        self.rng = random.Random(options.seed)
        self.minute: deque[float] = deque()
        self._text_cache: dict[tuple[int, int], str] = {}
        self.prompt_cache = PromptCache()

    # ---------------------------------------------------------------- helpers
    def reply_text(self, seed_text: str, n_tokens: int) -> str:
        start = int.from_bytes(hashlib.blake2b(seed_text.encode(), digest_size=4).digest(), "big")
        key = (start % len(_WORDS), n_tokens)
        text = self._text_cache.get(key)
        if text is None:
            offset = key[0]
            words = [_WORDS[(offset + i) % len(_WORDS)] for i in range(n_tokens)]
            text = " ".join(words)
            if len(self._text_cache) < 4096:
                self._text_cache[key] = text
        return text

    def rate_headers(self) -> dict[str, str]:
        if self.options.rpm is None:
            return {}
        now = time.monotonic()
        while self.minute and now - self.minute[0] > 60:
            self.minute.popleft()
        remaining = max(0, self.options.rpm - len(self.minute))
        reset = 60 - (now - self.minute[0]) if self.minute else 0.0
        return {
            "x-ratelimit-limit-requests": str(self.options.rpm),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": f"{reset:.3f}s",
            "anthropic-ratelimit-requests-limit": str(self.options.rpm),
            "anthropic-ratelimit-requests-remaining": str(remaining),
        }

    def fault(self) -> str | None:
        """Decide this request's injected fault (at most one)."""
        o = self.options
        if o.rpm is not None:
            now = time.monotonic()
            while self.minute and now - self.minute[0] > 60:
                self.minute.popleft()
            if len(self.minute) >= o.rpm:
                return "quota_429"
            self.minute.append(now)
        roll = self.rng.random()
        for name, rate in (
            ("error", o.error_rate),
            ("rate_limit", o.rate_limit_rate),
            ("stall", o.stall_rate),
            ("disconnect", o.disconnect_rate),
        ):
            if roll < rate:
                return name
            roll -= rate
        return None


def _error(wire: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if wire == "anthropic":
        etype = {401: "authentication_error", 429: "rate_limit_error", 529: "overloaded_error"}.get(
            status, "api_error"
        )
        body: dict[str, Any] = {"type": "error", "error": {"type": etype, "message": message}}
    else:
        etype = {401: "invalid_request_error", 429: "rate_limit_error"}.get(status, "server_error")
        body = {"error": {"message": message, "type": etype, "param": None, "code": None}}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def _refuse_credential(request: Request, wire: str, expected: str | None) -> Response | None:
    """A 401 like the real providers', which echo part of the key they were given."""
    if expected is None:
        return None
    given = request.headers.get("x-api-key") or ""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given = given or token.strip()
    if given == expected:
        return None
    return _error(wire, 401, f"Incorrect API key provided: {given}.")


def create_sim_app(options: SimOptions | None = None) -> Starlette:
    sim = _Sim(options or SimOptions())

    async def handle(request: Request, wire: str) -> Response:
        sim.stats.requests += 1
        sim.stats.by_path[request.url.path] += 1
        refused = _refuse_credential(request, wire, sim.options.api_key)
        if refused is not None:
            return refused
        try:
            body = orjson.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError("body must be an object")
        except ValueError as exc:
            return Response(
                orjson.dumps(
                    {"error": {"message": f"invalid JSON: {exc}", "type": "invalid_request_error"}}
                ),
                400,
                media_type="application/json",
            )
        model = str(body.get("model", "sim"))
        sim.stats.by_model[model] += 1
        headers = sim.rate_headers()
        fault = sim.fault()
        if fault is not None:
            sim.stats.faults[fault] += 1
        if fault == "error":
            status = sim.rng.choice((500, 503))
            return _error(wire, status, "simulated upstream failure", headers)
        if fault in ("rate_limit", "quota_429"):
            headers["retry-after"] = f"{sim.options.retry_after:g}"
            return _error(wire, 429, "simulated rate limit", headers)
        if fault == "stall":
            await asyncio.sleep(sim.options.stall_s)

        messages = body.get("messages") or []
        system = body.get("system") if wire == "anthropic" else None
        input_tokens = count_messages(messages, model, system=system)
        requested = body.get("max_tokens") or body.get("max_completion_tokens")
        n = int(requested) if isinstance(requested, int) and requested > 0 else DEFAULT_REPLY_TOKENS
        n = min(n, sim.options.max_reply_tokens)
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        ignore = sim.options.ignore_max_tokens or _ignores_max_tokens(last)
        if ignore:
            n = sim.options.max_reply_tokens
        text = _scripted(body, wire, last) or sim.reply_text(str(last.get("content", "")), n)
        call = _tool_call(body, wire, last, text)
        if call is not None:
            text = ""
        output_tokens = count_text(text or (call[2] if call else ""), model)
        truncated = isinstance(requested, int) and output_tokens >= requested and not ignore
        sim.stats.input_tokens += input_tokens
        sim.stats.output_tokens += output_tokens
        rid = (
            "sim-"
            + hashlib.blake2b(
                f"{time.time_ns()}{sim.stats.requests}".encode(), digest_size=8
            ).hexdigest()
        )
        ctx = _Reply(wire, rid, model, text, input_tokens, output_tokens, truncated, body, call)
        ctx.request_scripted = _scripted(body, wire, last) is not None
        if wire == "anthropic":
            ctx.cache_read, ctx.cache_write = sim.prompt_cache.anthropic(body, model)
        else:
            ctx.cache_read = sim.prompt_cache.openai(body, model)
        if body.get("stream"):
            return StreamingResponse(
                _stream(sim, ctx, fault == "disconnect"),
                media_type="text/event-stream",
                headers=headers,
            )
        if fault == "disconnect":
            raise ConnectionAbortedError("simulated disconnect")
        delay = (sim.options.ttft_ms + sim.options.token_ms * output_tokens) / 1000
        if delay > 0:
            await asyncio.sleep(delay)
        sim.stats.ok += 1
        return Response(ctx.full_body(), 200, headers=headers, media_type="application/json")

    async def chat(request: Request) -> Response:
        return await handle(request, "openai")

    async def messages(request: Request) -> Response:
        return await handle(request, "anthropic")

    async def embeddings(request: Request) -> Response:
        """Deterministic unit vectors: the same text always gives the same vector."""
        sim.stats.requests += 1
        sim.stats.by_path[request.url.path] += 1
        try:
            body = orjson.loads(await request.body())
            value = body["input"]
        except (ValueError, KeyError, TypeError) as exc:
            return _error("openai", 400, f"invalid embeddings request: {exc}")
        fault = sim.fault()
        if fault == "error":
            sim.stats.faults[fault] += 1
            return _error("openai", 503, "simulated upstream failure")
        model = str(body.get("model", "sim"))
        sim.stats.by_model[model] += 1
        items = [value] if isinstance(value, str) else list(value)
        if items and isinstance(items[0], int):
            items = [items]
        dims = int(body.get("dimensions") or 256)
        data, tokens = [], 0
        for i, item in enumerate(items):
            text = item if isinstance(item, str) else " ".join(map(str, item))
            tokens += count_text(item, model) if isinstance(item, str) else len(item)
            data.append({"object": "embedding", "index": i, "embedding": _vector(text, dims)})
        sim.stats.input_tokens += tokens
        sim.stats.ok += 1
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        reply = {"object": "list", "data": data, "model": model, "usage": usage}
        return Response(orjson.dumps(reply), media_type="application/json")

    async def transcriptions(request: Request) -> Response:
        from doorman.sim.audio import transcribe

        refused = _refuse_credential(request, "openai", sim.options.api_key)
        if refused is not None:
            return refused
        sim.stats.requests += 1
        sim.stats.by_path[request.url.path] += 1
        fault = sim.fault()
        if fault is not None:
            sim.stats.faults[fault] += 1
            if fault == "error":
                return _error("openai", sim.rng.choice((500, 503)), "simulated upstream failure")
            if fault in ("rate_limit", "quota_429"):
                headers = {"retry-after": f"{sim.options.retry_after:g}"}
                return _error("openai", 429, "simulated rate limit", headers)
            if fault == "stall":
                await asyncio.sleep(sim.options.stall_s)
        return await transcribe(request, sim.stats, sim.reply_text)

    async def models(request: Request) -> Response:
        refused = _refuse_credential(request, "openai", sim.options.api_key)
        if refused is not None:
            return refused
        return Response(
            orjson.dumps(
                {
                    "object": "list",
                    "data": [{"id": "sim", "object": "model", "owned_by": "doorman-sim"}],
                }
            ),
            media_type="application/json",
        )

    async def stats(request: Request) -> Response:
        # Not asdict(): it rebuilds each Counter from its (key, count) pairs as new keys.
        data: dict[str, Any] = {
            k: (dict(v) if isinstance(v, Counter) else v) for k, v in vars(sim.stats).items()
        }
        data["options"] = asdict(sim.options)
        return Response(orjson.dumps(data), media_type="application/json")

    async def reset(request: Request) -> Response:
        sim.stats = SimStats()
        sim.prompt_cache = PromptCache()
        sim.minute.clear()
        return Response(b"{}", media_type="application/json")

    async def configure(request: Request) -> Response:
        """Change fault options at run time (chaos tests flip a healthy upstream to failing)."""
        changes = orjson.loads(await request.body() or b"{}")
        for key, value in changes.items():
            if not hasattr(sim.options, key):
                return Response(orjson.dumps({"error": f"unknown option {key}"}), 422)
            setattr(sim.options, key, value)
        return Response(orjson.dumps(asdict(sim.options)), media_type="application/json")

    routes = [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/chat/completions", chat, methods=["POST"]),
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/embeddings", embeddings, methods=["POST"]),
        Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
        Route("/audio/transcriptions", transcriptions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/sim/stats", stats, methods=["GET"]),
        Route("/sim/reset", reset, methods=["POST"]),
        Route("/sim/configure", configure, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def _scripted(body: dict[str, Any], wire: str, last: dict[str, Any]) -> str | None:
    """Test scripts in the last user turn: ``SIM:SAY <text>`` answers exactly <text>;
    ``SIM:ECHO_SYSTEM`` answers with the whole system prompt (a leaking model);
    ``SIM:VERDICT <word>`` anywhere in it answers <word> (a judge asked about that text).

    ``SIM:SEQ <a> ||| <b> ||| ...`` in a user turn answers <a>, then <b> once the conversation
    holds one assistant turn after it, and so on (the last one repeats): a model that gets it
    right on the second try when asked again.
    """
    sequence = _sequence(body.get("messages") or [])
    if sequence is not None:
        return sequence
    content = last.get("content")
    if not isinstance(content, str):
        return None
    if not content.startswith("SIM:"):
        _, marker, rest = content.partition("SIM:VERDICT ")
        return rest.split(None, 1)[0] if marker and rest.strip() else None
    if content.startswith("SIM:SAY "):
        return content[len("SIM:SAY ") :]
    if content.strip() == "SIM:ECHO_SYSTEM":
        if wire == "anthropic":
            system = body.get("system")
            if isinstance(system, list):
                return " ".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
            return str(system or "")
        return " ".join(
            str(m.get("content"))
            for m in body.get("messages") or []
            if isinstance(m, dict) and m.get("role") in ("system", "developer")
        )
    return None


def _sequence(messages: list[Any]) -> str | None:
    """The ``SIM:SEQ`` answer due now (see :func:`_scripted`), or None without one."""
    answered = 0
    for msg in reversed(messages):
        if not isinstance(msg, dict):
            continue
        content = msg.get("content")
        if msg.get("role") == "user" and isinstance(content, str) and content.startswith("SIM:SEQ "):
            steps = [step.strip() for step in content[len("SIM:SEQ ") :].split("|||")]
            return steps[min(answered, len(steps) - 1)]
        if msg.get("role") == "assistant":
            answered += 1
    return None


def _ignores_max_tokens(last: dict[str, Any]) -> bool:
    content = last.get("content")
    return isinstance(content, str) and content.startswith("SIM:IGNORE_MAX_TOKENS")


def _vector(text: str, dims: int) -> list[float]:
    """A unit vector derived from the text's hash (stable across runs and processes)."""
    raw = hashlib.shake_256(text.encode()).digest(dims * 2)
    values = [int.from_bytes(raw[i : i + 2], "big") / 32768.0 - 1.0 for i in range(0, dims * 2, 2)]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [round(v / norm, 6) for v in values]


def _tool_call(
    body: dict[str, Any], wire: str, last: dict[str, Any], seed: str
) -> tuple[str, str, str] | None:
    """(id, name, arguments JSON) when the request offers tools and the last turn is the user's.

    The tool is the forced one, else the first; every schema property gets a deterministic
    value, so translation tests can check that a tool call arrives intact.
    """
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not isinstance(tools, list) or not tools or choice in ("none", {"type": "none"}):
        return None
    content = last.get("content")
    if last.get("role") != "user" or (
        isinstance(content, list)
        and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    ):
        return None
    forced = None
    if isinstance(choice, dict):
        forced = choice.get("name") or (choice.get("function") or {}).get("name")
    specs = []
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        fn = tool.get("function") if wire == "openai" else tool
        if isinstance(fn, dict):
            schema = fn.get("parameters") if wire == "openai" else fn.get("input_schema")
            specs.append((str(fn.get("name")), schema if isinstance(schema, dict) else {}))
    if not specs:
        return None
    name, schema = next((s for s in specs if s[0] == forced), specs[0])
    words = seed.split() or ["value"]
    args: dict[str, Any] = {}
    for i, (prop, spec) in enumerate(sorted((schema.get("properties") or {}).items())):
        kind = spec.get("type") if isinstance(spec, dict) else None
        args[prop] = {"integer": i + 1, "number": i + 0.5, "boolean": True}.get(
            str(kind), words[i % len(words)]
        )
    digest = hashlib.blake2b(f"{name}{seed}".encode(), digest_size=6).hexdigest()
    return f"call_{digest}", name, orjson.dumps(args).decode()


@dataclass
class _Reply:
    wire: str
    rid: str
    model: str
    text: str
    input_tokens: int
    output_tokens: int
    truncated: bool
    request: dict[str, Any]
    call: tuple[str, str, str] | None = None
    cache_read: int = 0  # prompt tokens served from the simulated prompt cache
    cache_write: int = 0  # prompt tokens written to it (Anthropic)
    request_scripted: bool = False  # a SIM: test script: streamed in 7-character pieces

    def anthropic_usage(self, output_tokens: int) -> dict[str, int]:
        """Anthropic counts the three kinds of prompt tokens separately."""
        uncached = max(0, self.input_tokens - self.cache_read - self.cache_write)
        usage = {"input_tokens": uncached, "output_tokens": output_tokens}
        if self.cache_read or self.cache_write:
            usage["cache_read_input_tokens"] = self.cache_read
            usage["cache_creation_input_tokens"] = self.cache_write
        return usage

    def openai_usage(self) -> dict[str, Any]:
        """OpenAI counts every prompt token and says how many of them were cached."""
        usage: dict[str, Any] = {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
        }
        if self.cache_read:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cache_read}
        return usage

    def full_body(self) -> bytes:
        if self.wire == "anthropic":
            content: list[dict[str, Any]] = [{"type": "text", "text": self.text}]
            stop = "max_tokens" if self.truncated else "end_turn"
            if self.call is not None:
                cid, name, args = self.call
                content = [
                    {"type": "tool_use", "id": cid, "name": name, "input": orjson.loads(args)}
                ]
                stop = "tool_use"
            return orjson.dumps(
                {
                    "id": "msg_" + self.rid,
                    "type": "message",
                    "role": "assistant",
                    "model": self.model,
                    "content": content,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": self.anthropic_usage(self.output_tokens),
                }
            )
        return orjson.dumps(
            {
                "id": "chatcmpl-" + self.rid,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": self._openai_message(),
                        "finish_reason": "tool_calls"
                        if self.call
                        else ("length" if self.truncated else "stop"),
                    }
                ],
                "usage": self.openai_usage(),
            }
        )

    def _openai_message(self) -> dict[str, Any]:
        if self.call is None:
            return {"role": "assistant", "content": self.text}
        cid, name, args = self.call
        call = {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


async def _stream(sim: _Sim, r: _Reply, disconnect: bool) -> AsyncIterator[bytes]:
    o = sim.options
    if o.ttft_ms:
        await asyncio.sleep(o.ttft_ms / 1000)
    if r.request_scripted:
        pieces = [r.text[i : i + 7] for i in range(0, len(r.text), 7)] or [""]
    else:
        pieces = r.text.split(" ")
        pieces = [pieces[0]] + [" " + p for p in pieces[1:]]
    cut = len(pieces) // 2 if disconnect else None
    if r.wire == "anthropic":
        yield _sse(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_" + r.rid,
                    "type": "message",
                    "role": "assistant",
                    "model": r.model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": r.anthropic_usage(1),
                },
            },
            "message_start",
        )
        if r.call is not None:
            async for event in _anthropic_tool_stream(r):
                yield event
            sim.stats.ok += 1
            return
        yield _sse(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        )
        for i, piece in enumerate(pieces):
            if cut is not None and i == cut:
                raise ConnectionAbortedError("simulated disconnect")
            if o.token_ms:
                await asyncio.sleep(o.token_ms / 1000)
            yield _sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
                "content_block_delta",
            )
        yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        yield _sse(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "max_tokens" if r.truncated else "end_turn",
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": r.output_tokens},
            },
            "message_delta",
        )
        yield _sse({"type": "message_stop"}, "message_stop")
        sim.stats.ok += 1
        return
    created = int(time.time())
    base = {
        "id": "chatcmpl-" + r.rid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": r.model,
    }
    yield _sse(
        {
            **base,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
        }
    )
    finish = "length" if r.truncated else "stop"
    if r.call is not None:
        cid, name, args = r.call
        half = len(args) // 2
        first = {
            "index": 0,
            "id": cid,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        for delta in (
            first,
            *({"index": 0, "function": {"arguments": a}} for a in (args[:half], args[half:])),
        ):
            yield _sse(
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": {"tool_calls": [delta]}, "finish_reason": None}
                    ],
                }
            )
        pieces, finish = [], "tool_calls"
    for i, piece in enumerate(pieces):
        if cut is not None and i == cut:
            raise ConnectionAbortedError("simulated disconnect")
        if o.token_ms:
            await asyncio.sleep(o.token_ms / 1000)
        yield _sse(
            {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        )
    yield _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    opts = r.request.get("stream_options")
    if isinstance(opts, dict) and opts.get("include_usage"):
        yield _sse(
            {
                **base,
                "choices": [],
                "usage": r.openai_usage(),
            }
        )
    yield b"data: [DONE]\n\n"
    sim.stats.ok += 1


async def _anthropic_tool_stream(r: _Reply) -> AsyncIterator[bytes]:
    """The tool_use block of an Anthropic stream: start, arguments in two pieces, stop."""
    assert r.call is not None
    cid, name, args = r.call
    block = {"type": "tool_use", "id": cid, "name": name, "input": {}}
    yield _sse(
        {"type": "content_block_start", "index": 0, "content_block": block}, "content_block_start"
    )
    half = len(args) // 2
    for piece in (args[:half], args[half:]):
        delta = {"type": "input_json_delta", "partial_json": piece}
        yield _sse(
            {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
        )
    yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    yield _sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": r.output_tokens},
        },
        "message_delta",
    )
    yield _sse({"type": "message_stop"}, "message_stop")
