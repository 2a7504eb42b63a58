"""``doorman.Client``: the gateway's pipeline in-process, for Python code that calls providers.

The same stages as ``doorman serve`` — key check, validation, screening, limits and budgets,
retries and fallbacks, settlement, ledger, metrics — without an HTTP hop in front::

    async with doorman.Client(api_key="dm-...", config="doorman.yaml") as dm:
        reply = await dm.chat(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Summarize the attached page."}],
            documents=[page_text],  # wrapped as untrusted: screened for indirect injection
        )
        print(reply.text, reply.cost_usd)

Refusals raise the same typed errors the server turns into HTTP answers
(``doorman.errors.RateLimited``, ``AuthenticationFailed``, ``BadRequest``, ...), each with
``status_code``, ``code`` and ``headers``. Several processes using Client (or a Client next to
``doorman serve``) share limits when the config names ``redis_url``, like replicas do.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson

from doorman.client.signing import sign_request
from doorman.client.stats import ClientStats
from doorman.config import Settings, load_settings
from doorman.errors import BadRequest, WireFormat
from doorman.exchange import Exchange
from doorman.pipeline import Pipeline
from doorman.pipeline import Reply as PipelineReply
from doorman.screen.spotlight import wrap_untrusted
from doorman.server.http import request_id_from
from doorman.server.state import Gateway

_PATHS: dict[WireFormat, str] = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


@dataclass(slots=True)
class Reply:
    """A complete answer: the provider-format ``body`` plus what the gateway added."""

    body: dict[str, Any]
    headers: dict[str, str]
    request_id: str

    @property
    def text(self) -> str:
        """The answer's text (first choice for OpenAI format, text blocks for Anthropic)."""
        if "choices" in self.body:
            choices = self.body.get("choices") or [{}]
            return str((choices[0].get("message") or {}).get("content") or "")
        blocks = self.body.get("content") or []
        return "".join(b.get("text", "") for b in blocks if isinstance(b, dict))

    @property
    def usage(self) -> dict[str, Any]:
        return dict(self.body.get("usage") or {})

    @property
    def cost_usd(self) -> float:
        return float(self.headers.get("x-doorman-cost-usd", 0.0))

    @property
    def served_by(self) -> str | None:
        return self.headers.get("x-doorman-served-by")


@dataclass(slots=True)
class Transcription:
    """A transcript plus what the gateway measured: seconds received and sent, cost."""

    text: str
    body: dict[str, Any] | None  # the provider's JSON (None for response_format="text")
    headers: dict[str, str]
    request_id: str

    @property
    def seconds_received(self) -> float:
        return float(self.headers.get("x-doorman-audio-seconds-received", 0.0))

    @property
    def seconds_sent(self) -> float:
        """What the provider was sent (and billed) after silence trimming."""
        return float(self.headers.get("x-doorman-audio-seconds-sent", 0.0))

    @property
    def cost_usd(self) -> float:
        return float(self.headers.get("x-doorman-cost-usd", 0.0))


@dataclass(slots=True)
class Stream:
    """Parsed stream events. Iterate it to the end, or close it (``async with`` does): until
    then it holds the upstream connection, a concurrency slot and the request's reservation."""

    headers: dict[str, str]
    request_id: str
    _events: AsyncGenerator[dict[str, Any], None] = field(repr=False)
    _reply: PipelineReply = field(repr=False)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events

    async def aclose(self) -> None:
        """Stop early: the request is settled and recorded with what was used."""
        await self._events.aclose()
        await self._reply.aclose()

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class Client:
    """An in-process Doorman. Use as ``async with``; one Client per process is plenty."""

    def __init__(
        self,
        *,
        api_key: str,
        config: str | Path | Settings | None = None,
        signing_secret: str | None = None,
        untrusted_tag: str = "document",
    ) -> None:
        self.settings = config if isinstance(config, Settings) else load_settings(config)
        self._api_key = api_key
        self._signing_secret = signing_secret
        self._tag = untrusted_tag
        self._gateway: Gateway | None = None
        self._pipeline: Pipeline | None = None
        self._transcriber: Pipeline | None = None
        self._stats = ClientStats()

    @property
    def stats(self) -> ClientStats:
        """Calls, cost, cache hit rate, dollars saved and budget left, since this Client started
        (a snapshot: streams count once they are finished or closed)."""
        return self._stats.copy()

    async def __aenter__(self) -> Client:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the database, stores and upstream pool (migrations run as for ``serve``)."""
        from doorman.server.build import build_gateway

        if self._gateway is not None:
            return
        gw, _ = await build_gateway(self.settings)
        self._gateway, self._pipeline = gw, Pipeline(gw)
        from doorman.audio.pipeline import TranscriptionPipeline, preload

        self._transcriber = TranscriptionPipeline(gw)
        preload()

    async def close(self) -> None:
        """Commit the ledger and close every connection."""
        from doorman.server.build import close_gateway

        gw, self._gateway, self._pipeline = self._gateway, None, None
        self._transcriber = None
        if gw is not None:
            await close_gateway(gw)

    # ------------------------------------------------------------------ calls
    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        documents: Sequence[str] = (),
        wire: WireFormat = "openai",
        task: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> Reply:
        """One completion. ``documents`` are appended to the last user message, each wrapped
        with :func:`~doorman.screen.wrap_untrusted`, so they are screened as untrusted content.
        ``wire="anthropic"`` takes and returns the Anthropic Messages format.
        ``extra_headers`` carries request controls such as ``Cache-Control: no-cache``."""
        reply, ex = await self._run(
            model, messages, documents, wire, task, params, stream=False, extra=extra_headers
        )
        assert reply.body is not None
        self._stats.record(ex)
        return Reply(orjson.loads(reply.body), self._headers(reply.headers, ex), ex.request_id)

    async def stream(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        documents: Sequence[str] = (),
        wire: WireFormat = "openai",
        task: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> Stream:
        """A streamed completion: iterate the returned object for the provider's events."""
        reply, ex = await self._run(
            model, messages, documents, wire, task, params, stream=True, extra=extra_headers
        )
        events = _events(reply, lambda: self._stats.record(ex))
        return Stream(self._headers(reply.headers, ex), ex.request_id, events, reply)

    async def approval(self, approval_id: str, *, wait: float = 0.0) -> dict[str, Any]:
        """The decision on a tool call withheld for approval (``x-doorman-approval``), as
        ``GET /v1/approvals/{id}`` answers it: ``tool_call`` is there once, when approved.
        ``wait`` seconds (bounded by ``approvals.max_wait_seconds``) wait for a decision."""
        if self._gateway is None:
            raise RuntimeError("use 'async with doorman.Client(...)' or call start() first")
        path = f"/v1/approvals/{approval_id}"
        headers = self._caller_headers("GET", path, b"")
        gw = self._gateway
        principal = await gw.authenticator.authenticate(headers, "GET", path, b"", "in-process")
        from doorman.approvals.polls import poll

        answer, _ = await poll(gw, principal, approval_id, wait)  # the caller's limits apply
        return answer

    async def transcribe(
        self,
        audio: bytes | str | Path | BinaryIO,
        *,
        model: str,
        language: str | None = None,
        prompt: str | None = None,
        response_format: Literal["json", "text", "verbose_json"] = "json",
        filename: str | None = None,
        task: str | None = None,
    ) -> Transcription:
        """Transcribe a clip through the same path as ``POST /v1/audio/transcriptions``:
        key check, decode, silence trimming, audio-second limits, provider, ledger."""
        from doorman.audio.form import TranscriptionForm, encode_form, form_fields

        if self._transcriber is None:
            raise RuntimeError("use 'async with doorman.Client(...)' or call start() first")
        if isinstance(audio, str | Path):
            filename = filename or Path(audio).name
            data = await asyncio.to_thread(Path(audio).read_bytes)
        elif isinstance(audio, bytes):
            data = audio
        else:
            data = await asyncio.to_thread(audio.read)
        form = TranscriptionForm(file=b"", filename="", model=model, language=language,
                                 prompt=prompt, response_format=response_format)  # fmt: skip
        boundary = "doorman-" + os.urandom(12).hex()
        raw = encode_form(form_fields(form, model), file=data, filename=filename or "audio.wav",
                          file_type="application/octet-stream", boundary=boundary)  # fmt: skip
        ex = self._post(
            "openai",
            "/v1/audio/transcriptions",
            raw,
            f"multipart/form-data; boundary={boundary}",
            task,
        )
        reply = await self._transcriber.run(ex)
        self._stats.record(ex)
        payload = reply.body or b""
        out = self._headers(reply.headers, ex)
        if response_format == "text":
            return Transcription(payload.decode("utf-8").strip(), None, out, ex.request_id)
        body = orjson.loads(payload)
        return Transcription(str(body.get("text", "")), body, out, ex.request_id)

    async def _run(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        documents: Sequence[str],
        wire: WireFormat,
        task: str | None,
        params: dict[str, Any],
        *,
        stream: bool,
        extra: Mapping[str, str] | None = None,
    ) -> tuple[Any, Exchange]:
        if self._pipeline is None:
            raise RuntimeError("use 'async with doorman.Client(...)' or call start() first")
        body = {**params, "model": model, "messages": self._with_documents(messages, documents)}
        if stream:
            body["stream"] = True
        ex = self._post(wire, _PATHS[wire], orjson.dumps(body), "application/json", task, extra)
        return await self._pipeline.run(ex), ex

    def _caller_headers(
        self,
        method: str,
        path: str,
        raw: bytes,
        *,
        content_type: str | None = None,
        task: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The headers an HTTP client of this gateway would send: the key, the task label and,
        with a signing secret, the request signature."""
        headers = {k.lower(): str(v) for k, v in (extra or {}).items()}
        headers["authorization"] = f"Bearer {self._api_key}"
        if content_type is not None:
            headers["content-type"] = content_type
        if task:
            headers["x-doorman-task"] = task
        if self._signing_secret:
            headers.update(sign_request(self._signing_secret, method, path, raw))
        return headers

    def _post(
        self,
        wire: WireFormat,
        path: str,
        raw: bytes,
        content_type: str,
        task: str | None,
        extra: Mapping[str, str] | None = None,
    ) -> Exchange:
        """An in-process POST, as the server would build it from the same request."""
        headers = self._caller_headers(
            "POST", path, raw, content_type=content_type, task=task, extra=extra
        )
        return Exchange(
            request_id=request_id_from(None),
            wire=wire,
            method="POST",
            path=path,
            headers=headers,
            raw_body=raw,
            client_ip="in-process",
        )

    def _with_documents(
        self, messages: Sequence[Mapping[str, Any]], documents: Sequence[str]
    ) -> list[dict[str, Any]]:
        out = [dict(m) for m in messages]
        if not documents:
            return out
        wrapped = "\n\n".join(wrap_untrusted(d, tag=self._tag) for d in documents)
        for msg in reversed(out):
            if msg.get("role") == "user":
                content = msg.get("content")
                if isinstance(content, str):
                    msg["content"] = f"{content}\n\n{wrapped}"
                elif isinstance(content, list):
                    msg["content"] = [*content, {"type": "text", "text": wrapped}]
                else:
                    raise BadRequest("The last user message has no content to attach documents to.")
                return out
        out.append({"role": "user", "content": wrapped})
        return out

    def _headers(self, headers: Mapping[str, str], ex: Exchange) -> dict[str, str]:
        out = dict(headers)
        out["x-request-id"] = ex.request_id
        return out


async def _events(
    reply: PipelineReply, on_end: Callable[[], None]
) -> AsyncGenerator[dict[str, Any], None]:
    """SSE lines -> event dicts (``data: [DONE]`` ends it); however it ends, it settles."""
    assert reply.stream is not None
    try:
        async for line in reply.stream:
            for piece in line.split(b"\n"):
                if not piece.startswith(b"data:"):
                    continue
                data = piece[5:].strip()
                if data == b"[DONE]":
                    return
                if data:
                    yield orjson.loads(data)
    finally:
        await reply.aclose()
        on_end()
