"""``POST /v1/audio/transcriptions`` as an ASGI endpoint: read the upload under its cap, run the
transcription pipeline, answer in OpenAI's format (JSON, or plain text for ``text``).

The body cap is the audio one (``audio.max_file_bytes`` plus room for the form's other fields),
checked against ``content-length`` before reading and again while reading.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from starlette.types import Receive, Scope, Send

from doorman.audio.pipeline import TranscriptionPipeline
from doorman.audio.pipeline import preload as preload_audio
from doorman.errors import DoormanError, InternalError, ServiceUnavailable
from doorman.exchange import Exchange
from doorman.server.http import request_id_from, scope_path
from doorman.server.proxy import _encode, _read_body, send_error
from doorman.server.state import Gateway

log = structlog.get_logger("doorman.server")

__all__ = ["TranscriptionEndpoint", "preload_audio"]

FORM_OVERHEAD_BYTES = 64 * 1024  # the other fields and the multipart framing


class TranscriptionEndpoint:
    def __init__(self, gateway: Callable[[], Gateway]) -> None:
        self.gateway = gateway
        self._pipeline: TranscriptionPipeline | None = None

    def pipeline(self, gw: Gateway) -> TranscriptionPipeline:
        if self._pipeline is None or self._pipeline.gw is not gw:
            self._pipeline = TranscriptionPipeline(gw)
        return self._pipeline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
        request_id = request_id_from(headers.get("x-request-id"))
        try:
            gw = self.gateway()
        except KeyError:
            await send_error(send, ServiceUnavailable("The gateway is starting or stopping.",
                                                      code="not_ready"), "openai", request_id)  # fmt: skip
            return
        cap = gw.settings.audio.max_file_bytes + FORM_OVERHEAD_BYTES
        try:
            raw = await _read_body(receive, headers.get("content-length"), cap)
        except DoormanError as exc:
            exc.code = "file_too_large" if exc.status_code == 413 else exc.code
            await send_error(send, exc, "openai", request_id)
            return
        if raw is None:
            return  # the client hung up mid-upload
        client = scope.get("client")
        ex = Exchange(
            request_id=request_id,
            wire="openai",
            method="POST",
            path=scope_path(scope),
            headers=headers,
            raw_body=raw,
            client_ip=client[0] if client else "unknown",
        )
        pipeline = self.pipeline(gw)
        try:
            reply = await pipeline.run(ex)
        except DoormanError as exc:
            extra = pipeline.error_headers(ex)  # limits evaluated so far, cost, key expiry
            await send_error(send, exc, "openai", request_id, extra)
            return
        except Exception:
            log.exception("unhandled_error", path=scope["path"], request_id=request_id)
            await send_error(send, InternalError("The gateway failed to handle this request."),
                             "openai", request_id)  # fmt: skip
            return
        body = reply.body or b""
        out = _encode(reply.headers, request_id)
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": out})
        await send({"type": "http.response.body", "body": body})
