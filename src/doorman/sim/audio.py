"""The simulated provider's ``POST /audio/transcriptions`` (OpenAI's multipart format).

It decodes what it receives (libsndfile, as the gateway does), so tests can see exactly how
many seconds of audio reached the provider: the transcript's ``duration`` and ``/sim/stats``
(``audio_requests``, ``audio_seconds``, ``audio_durations``) report it. The transcript is
deterministic: words drawn from the clip's hash, about 2.5 per second of audio.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

_MAX_DURATIONS = 1000  # /sim/stats keeps the most recent clip lengths
WORDS_PER_SECOND = 2.5


def _invalid(message: str) -> Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": "file",
                      "code": None}}  # fmt: skip
    return Response(orjson.dumps(body), 400, media_type="application/json")


async def transcribe(
    request: Request, stats: Any, reply_text: Callable[[str, int], str]
) -> Response:
    import soundfile as sf
    from starlette.datastructures import UploadFile

    async with request.form(max_files=1, max_fields=16) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _invalid("'file' is required")
        data = await upload.read()
        model = str(form.get("model") or "sim")
        fmt = str(form.get("response_format") or "json")
        language = str(form.get("language") or "english")
    try:
        info = sf.info(io.BytesIO(data))
    except Exception as exc:
        return _invalid(f"could not decode the audio: {type(exc).__name__}")
    duration = info.frames / info.samplerate if info.samplerate else 0.0
    stats.audio_requests += 1
    stats.audio_seconds += duration
    stats.audio_durations.append(round(duration, 4))
    del stats.audio_durations[:-_MAX_DURATIONS]
    stats.by_model[model] += 1
    seed = hashlib.blake2b(data, digest_size=8).hexdigest()
    text = reply_text(seed, max(1, round(duration * WORDS_PER_SECOND))).capitalize() + "."
    stats.ok += 1
    if fmt == "text":
        return Response(text + "\n", media_type="text/plain; charset=utf-8")
    usage = {"type": "duration", "seconds": math.ceil(duration)}
    if fmt == "verbose_json":
        segment: dict[str, Any] = {"id": 0, "seek": 0, "start": 0.0, "end": round(duration, 3), "text": text,
                   "tokens": [], "temperature": 0.0, "avg_logprob": -0.1,
                   "compression_ratio": 1.0, "no_speech_prob": 0.0}  # fmt: skip
        body = {"task": "transcribe", "language": language, "duration": round(duration, 4),
                "text": text, "segments": [segment], "usage": usage}  # fmt: skip
        return Response(orjson.dumps(body), media_type="application/json")
    return Response(orjson.dumps({"text": text, "usage": usage}), media_type="application/json")
