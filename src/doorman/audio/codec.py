"""Reading an uploaded clip and writing the trimmed one, with libsndfile (``soundfile``).

Why libsndfile: its wheels bundle FLAC, Ogg (Vorbis and Opus) and MP3 support, it reads the
header before any sample, and it fails with an error on damaged files instead of returning
noise. Only the formats in :data:`ACCEPTED_FORMATS` are taken: a caller's bytes never reach a
codec we did not mean to expose. The clip's length is checked from the header, so a two-hour
file is refused without decoding it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from doorman.errors import BadRequest, PayloadTooLarge

#: libsndfile major formats accepted from callers (what OpenAI's endpoint takes, minus video).
ACCEPTED_FORMATS: frozenset[str] = frozenset({"WAV", "WAVEX", "FLAC", "OGG", "MP3"})

#: Decoding works in blocks of this many frames, so a lying header cannot make us allocate
#: more than the clip really holds.
_BLOCK_FRAMES = 1 << 16
_UNKNOWN_FRAMES = 1 << 62


@dataclass(frozen=True, slots=True)
class Clip:
    """Decoded audio: mono float32 samples in [-1, 1] at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int
    format: str  # libsndfile's major format, e.g. "WAV", "FLAC", "OGG"

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


def decode(data: bytes, *, max_seconds: float, max_bytes: int) -> Clip:
    """Decode ``data`` or raise a 4xx naming what is wrong with it.

    Codes: ``empty_file``, ``file_too_large`` (413), ``unsupported_audio_format``,
    ``corrupt_audio``, ``audio_too_long``.
    """
    if not data:
        raise BadRequest("The uploaded file is empty (0 bytes).", code="empty_file", param="file")
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"The audio file is {len(data)} bytes; the limit is {max_bytes} bytes.",
            code="file_too_large",
            param="file",
        )
    try:
        handle = sf.SoundFile(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise BadRequest(
            "The file is not audio in a supported format (WAV, FLAC, OGG/Vorbis, OGG/Opus, MP3)"
            f": {_reason(exc)}.",
            code="unsupported_audio_format",
            param="file",
        ) from None
    with handle:
        if handle.format not in ACCEPTED_FORMATS:
            raise BadRequest(
                f"Audio format {handle.format} is not accepted; send WAV, FLAC, OGG/Vorbis, "
                "OGG/Opus or MP3.",
                code="unsupported_audio_format",
                param="file",
            )
        rate = int(handle.samplerate)
        if rate < 1000 or rate > 384_000 or handle.channels < 1 or handle.channels > 16:
            raise BadRequest(
                f"The audio header is implausible ({rate} Hz, {handle.channels} channels).",
                code="corrupt_audio",
                param="file",
            )
        # A stream that does not state its length (libsndfile then reports 0 or INT64_MAX,
        # e.g. a FLAC from a streaming encoder) is decoded up to the limit and no further.
        known = 0 < handle.frames < _UNKNOWN_FRAMES
        declared = handle.frames / rate if known else 0.0
        _check_length(declared, max_seconds)
        samples = _read_mono(handle, int(max_seconds * rate) + 1, length_known=known)
        fmt = str(handle.format)
    if len(samples) / rate > max_seconds:
        raise BadRequest(
            f"The audio is longer than {max_seconds:g} s, the most this tier accepts.",
            code="audio_too_long",
            param="file",
        )
    if fmt != "MP3" and known and len(samples) < handle.frames * 0.99:
        # MP3 frame counts are estimates; the other formats state theirs exactly.
        raise BadRequest(
            f"The audio file is truncated: its header announces {declared:.2f} s, it holds "
            f"{len(samples) / rate:.2f} s.",
            code="corrupt_audio",
            param="file",
        )
    if len(samples) == 0:
        raise BadRequest(
            "The audio file holds no samples.", code="corrupt_audio", param="file"
        )
    return Clip(samples, rate, fmt)


def _read_mono(handle: sf.SoundFile, max_frames: int, *, length_known: bool) -> np.ndarray:
    """Mono samples, decoding no more than one block past ``max_frames``."""
    blocks: list[np.ndarray] = []
    total = 0
    # libsndfile fails the read that crosses the end of a stream of unstated length, losing
    # that read's samples: small reads there keep the loss under 1024 frames.
    size = _BLOCK_FRAMES if length_known else 1024
    try:
        while True:
            block = handle.read(size, dtype="float32", always_2d=True)
            if len(block) == 0:
                break
            blocks.append(block.mean(axis=1) if block.shape[1] > 1 else block[:, 0])
            total += len(block)
            if total > max_frames:
                break  # longer than allowed: the caller's length check refuses it
    except (sf.LibsndfileError, RuntimeError) as exc:
        if not length_known and blocks:
            # A stream of unstated length: libsndfile reads past its end and fails there.
            # Truncation cannot be told apart from the end; what decoded is the audio
            # (less the last read, under 1024 frames).
            return _joined(blocks)
        raise BadRequest(
            f"The audio file is damaged or truncated: {_reason(exc)}.",
            code="corrupt_audio",
            param="file",
        ) from None
    return _joined(blocks)


def _joined(blocks: list[np.ndarray]) -> np.ndarray:
    if not blocks:
        return np.zeros(0, dtype=np.float32)
    out = np.concatenate(blocks).astype(np.float32, copy=False)
    if not np.all(np.isfinite(out)):
        raise BadRequest("The audio holds invalid samples.", code="corrupt_audio", param="file")
    return out


def _check_length(seconds: float, max_seconds: float) -> None:
    if seconds > max_seconds:
        raise BadRequest(
            f"The audio is {seconds:.1f} s long; this tier accepts at most {max_seconds:g} s.",
            code="audio_too_long",
            param="file",
        )


def _reason(exc: Exception) -> str:
    text = str(exc).strip().rstrip(".")
    # libsndfile prefixes messages with the (meaningless here) in-memory file's repr.
    return text.split(": ", 1)[-1][:200] if text else type(exc).__name__


def encode_flac(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono FLAC: lossless for what was uploaded as 16-bit, and half the bytes of WAV."""
    out = io.BytesIO()
    sf.write(out, samples, sample_rate, format="FLAC", subtype="PCM_16")
    return out.getvalue()
