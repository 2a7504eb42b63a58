"""``POST /v1/audio/transcriptions``: the request path for audio.

    authenticate -> read form (model, fields) -> screen prompt -> decode (format, length)
      -> trim silence -> route -> admit (requests, audio seconds, dollars) -> forward -> settle

Authentication runs first, so nobody unauthenticated makes the gateway decode audio. Every
refusal before ``forward`` happens before any upstream call and costs nothing. A clip with no
speech at all is answered here with an empty transcript: there is nothing to pay a provider
for. Decoding and trimming run in a worker thread (numpy, libsndfile and scipy release the
GIL), so a long clip does not stall other requests on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

import orjson

from doorman.audio.form import parse_form
from doorman.audio.job import AudioJob
from doorman.audio.settings import TierAudioSettings
from doorman.cost.prices import price_for
from doorman.errors import ModelNotFound, PermissionDenied
from doorman.exchange import Exchange
from doorman.judge import JudgeInjection
from doorman.pipeline import Authenticate, Pipeline, Reply, Route, Stage
from doorman.upstream.deployment import Deployment, Wire

if TYPE_CHECKING:
    from doorman.server.state import Gateway

def preload() -> None:
    """Import the audio stack (numpy, scipy, libsndfile, WebRTC VAD: ~2 s of CPU, far more on
    a loaded machine) in a daemon thread, so the first transcription does not wait for it."""

    def load() -> None:
        import doorman.audio.codec
        import doorman.audio.trim  # noqa: F401

    threading.Thread(target=load, name="doorman-audio-preload", daemon=True).start()


def job_of(ex: Exchange) -> AudioJob:
    assert ex.audio is not None
    return ex.audio


class ReadForm:
    """The multipart form: fields checked, model resolved and allowed for this caller."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        form = await parse_form(ex.raw_body, ex.headers)
        settings = self.gw.settings
        ex.requested_model = form.model
        model = settings.resolve_model(form.model)
        if model is None:
            raise ModelNotFound(
                f"The model '{form.model}' does not exist or is not served by this gateway.",
                param="model",
            )
        assert ex.tier is not None and ex.principal is not None
        allowed_key = getattr(ex.principal, "allowed_models", None)
        for allowed, who in ((ex.tier.models, f"tier '{ex.tier_name}'"), (allowed_key, "this key")):
            if allowed and model not in allowed and form.model not in allowed:
                raise PermissionDenied(
                    f"The model '{form.model}' is not allowed for {who}.",
                    code="model_not_allowed",
                    param="model",
                )
        ex.model = model
        price = price_for(model, settings.models[model])
        ex.audio = AudioJob(form, per_minute_usd=price.per_audio_minute if price else None)


class ScreenPrompt:
    """The optional ``prompt`` is caller text sent to the provider: screened like a message."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        screener = self.gw.screener
        form = job_of(ex).form
        if screener is None or not form.prompt:
            return
        assert ex.tier is not None
        body = {"model": ex.model, "messages": [{"role": "user", "content": form.prompt}]}
        verdict = screener.screen_chat(body, "openai", ex.tier.screening)
        ex.flags.extend(verdict.flags)
        if verdict.error is not None:
            raise verdict.error
        ex.gray_texts = verdict.gray  # decided by the injection judge after admission
        content = verdict.body["messages"][0].get("content")
        form.prompt = content if isinstance(content, str) else form.prompt


class DecodeAndTrim:
    """Decode the upload (format, damage, length checks); cut its silence when the tier says so."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        assert ex.tier is not None
        await asyncio.to_thread(self._work, job_of(ex), ex.tier.audio)

    def _work(self, job: AudioJob, tier_audio: TierAudioSettings) -> None:
        # Imported here: numpy/scipy/libsndfile load on the first transcription, not at start.
        from doorman.audio.codec import decode, encode_flac
        from doorman.audio.trim import trim_silence

        audio = self.gw.settings.audio
        clip = decode(job.form.file, max_seconds=tier_audio.max_audio_seconds,
                      max_bytes=audio.max_file_bytes)  # fmt: skip
        job.received_seconds = clip.seconds
        if not tier_audio.trim_silence:
            job.sent_seconds = clip.seconds
            job.upload = job.form.file
            job.upload_name = job.form.filename
            job.upload_type = "application/octet-stream"
            return
        trimmed = trim_silence(
            clip.samples,
            clip.sample_rate,
            max_gap_ms=tier_audio.max_gap_ms,
            pad_ms=audio.pad_ms,
            detector=audio.detector,
            aggressiveness=audio.vad_aggressiveness,
        )
        job.trimmed = True
        job.kept = [(s / clip.sample_rate, e / clip.sample_rate) for s, e in trimmed.kept]
        job.sent_seconds = trimmed.seconds
        job.silent = trimmed.silent
        if not trimmed.silent:
            job.upload = encode_flac(trimmed.samples, trimmed.sample_rate)


class AdmitAudio:
    """Reserve one request, the seconds that will be sent and their price, in every scope.

    The seconds are known exactly before the call (trimming already happened), so the
    reservation is the bill: settlement only refunds it when no provider was reached.
    """

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        from doorman.limits import Demand, build_limits, rate_limit_headers

        gw = self.gw
        job = job_of(ex)
        assert ex.tier is not None and ex.principal is not None
        model = gw.settings.models[ex.model]
        specs = build_limits(
            ex.tier, ex.tier_name, ex.principal.user_id, ex.principal.key_id, ex.model, model,
            model.provider, gw.settings.limits, audio=True,
        )  # fmt: skip
        seconds = 0.0 if job.silent else job.sent_seconds
        usd = job.cost_usd(seconds)
        reservation = await gw.limiter.reserve(
            specs, Demand(requests=1, usd=usd, audio_seconds=seconds), priority=ex.tier.priority
        )
        ex.reservation = reservation
        ex.reserved_usd = usd
        ex.limit_headers = rate_limit_headers(reservation)


class TranscriptionPipeline(Pipeline):
    """The chat pipeline's bookkeeping and headers, with the audio stages and forward."""

    def __init__(self, gw: Gateway) -> None:
        super().__init__(gw)
        self.stages: list[Stage] = [
            Authenticate(gw),
            ReadForm(gw),
            ScreenPrompt(gw),
            DecodeAndTrim(gw),
            Route(gw),
            AdmitAudio(gw),
            JudgeInjection(gw),
        ]

    async def forward(self, ex: Exchange) -> Reply:
        gw = self.gw
        job = job_of(ex)
        if job.silent:
            ex.status = 200
            await self.finish(ex)
            body, ctype = silent_reply(job)
            return Reply(200, {**self.response_headers(ex), "content-type": ctype}, body=body)
        deadline = time.monotonic() + gw.settings.server.request_timeout_s
        ex.upstream_started = time.perf_counter()

        def build(dep: Deployment, wire: Wire) -> bytes:
            return job.multipart(dep.upstream_model)

        def count_attempt(dep: Deployment) -> None:
            ex.attempts += 1

        reply = await gw.dispatcher.send(
            ex.deployments,
            "openai",
            build,
            stream=False,
            deadline=deadline,
            on_attempt=count_attempt,
            endpoint="transcriptions",
            content_type=job.content_type,
        )
        ex.served = reply.deployment
        if reply.deployment.model != ex.model:
            ex.flags.append("fallback")
        ex.upstream_ms = (time.perf_counter() - ex.upstream_started) * 1000
        ex.ttft_ms = ex.upstream_ms
        ex.status = reply.status
        await self.finish(ex)
        headers = self.response_headers(ex)
        headers["content-type"] = reply.headers.get("content-type", "application/json")
        body = reply.body or b""
        if job.trimmed and job.form.response_format == "verbose_json":
            from doorman.audio.timeline import remap_verbose

            body = remap_verbose(body, job.kept)  # times where they were said in the upload
        return Reply(reply.status, headers, body=body)

    def response_headers(self, ex: Exchange) -> dict[str, str]:
        headers = super().response_headers(ex)
        job = ex.audio
        if job is not None:
            headers["x-doorman-audio-seconds-received"] = f"{job.received_seconds:.3f}"
            headers["x-doorman-audio-seconds-sent"] = f"{0.0 if job.silent else job.sent_seconds:.3f}"
        return headers


def silent_reply(job: AudioJob) -> tuple[bytes, str]:
    """The transcript of a clip without speech, in the requested format."""
    fmt = job.form.response_format
    if fmt == "text":
        return b"", "text/plain; charset=utf-8"
    if fmt == "verbose_json":
        body = {"task": "transcribe", "language": job.form.language or "", "duration": 0.0,
                "text": "", "segments": []}  # fmt: skip
        return orjson.dumps(body), "application/json"
    return orjson.dumps({"text": ""}), "application/json"
