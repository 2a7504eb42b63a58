"""One transcription as it moves through the pipeline: the form, the clip, what is sent.

Lives on ``Exchange.audio``, so the shared bookkeeping (settle, ledger, log) reads the seconds
received and sent and the dollars trimming saved from the same place as everything else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from doorman.audio.form import TranscriptionForm, encode_form, form_fields


@dataclass(slots=True)
class AudioJob:
    form: TranscriptionForm
    per_minute_usd: float | None = None  # the model's price.per_audio_minute
    received_seconds: float = 0.0  # the clip as uploaded
    sent_seconds: float = 0.0  # after trimming: what the provider bills
    upload: bytes = b""  # the file sent upstream
    upload_name: str = "audio.flac"
    upload_type: str = "audio/flac"
    trimmed: bool = False
    kept: list[tuple[float, float]] = field(default_factory=list)  # seconds of the upload sent
    silent: bool = False  # no speech at all: answered without an upstream call
    boundary: str = field(default_factory=lambda: "doorman-" + os.urandom(12).hex())

    def cost_usd(self, seconds: float) -> float:
        return (self.per_minute_usd or 0.0) * seconds / 60.0

    @property
    def saved_usd(self) -> float:
        """What trimming saved: the seconds not sent, at the model's price."""
        return self.cost_usd(max(0.0, self.received_seconds - self.sent_seconds))

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def multipart(self, upstream_model: str) -> bytes:
        """The provider's form: same fields as the caller's, the (trimmed) file, our model name."""
        return encode_form(
            form_fields(self.form, upstream_model),
            file=self.upload,
            filename=self.upload_name,
            file_type=self.upload_type,
            boundary=self.boundary,
        )
