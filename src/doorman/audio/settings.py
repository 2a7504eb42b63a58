"""Configuration of audio transcription: the gateway-wide ``audio:`` section and a tier's
``audio:`` block (trimming, clip length, audio-seconds limits)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TierAudioSettings(BaseModel):
    """What one tier may send to ``/v1/audio/transcriptions``.

    Limits count the seconds sent to the provider (after trimming), because that is what the
    provider bills; ``max_audio_seconds`` bounds the clip as uploaded, before any work on it.
    """

    model_config = ConfigDict(extra="forbid")

    trim_silence: bool = Field(
        True, description="cut leading/trailing silence and shorten long pauses before sending"
    )
    max_gap_ms: int = Field(
        300, ge=0, le=10_000, description="pauses inside speech are shortened to this length"
    )
    max_audio_seconds: float = Field(
        300.0, gt=0, le=4 * 3600, description="longest clip accepted, as uploaded"
    )
    seconds_per_minute: float | None = Field(
        None, gt=0, description="audio seconds sent upstream per rolling minute"
    )
    seconds_per_day: float | None = Field(
        None, gt=0, description="audio seconds sent upstream per calendar day"
    )


class AudioSettings(BaseModel):
    """Gateway-wide audio settings (the top-level ``audio:`` section)."""

    model_config = ConfigDict(extra="forbid")

    max_file_bytes: int = Field(
        25 * 1024 * 1024,
        ge=1024,
        description="largest upload accepted (OpenAI's own cap is 25 MB); refused before parsing",
    )
    detector: Literal["webrtc", "energy"] = Field(
        "webrtc",
        description="'webrtc': WebRTC VAD, edges refined by energy; 'energy': energy threshold "
        "with hangover (see bench/RESULTS.md for both)",
    )
    vad_aggressiveness: int = Field(
        3, ge=0, le=3, description="WebRTC VAD mode: 0 keeps the most, 3 cuts the most non-speech"
    )
    pad_ms: int = Field(
        30, ge=0, le=1000, description="audio kept before and after each stretch of speech"
    )
