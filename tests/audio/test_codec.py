"""Decoding uploads: the accepted formats, and a named 4xx for everything else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from doorman.audio.codec import decode
from doorman.errors import DoormanError
from speech_clips import SpeechClips

CAP = 25 * 1024 * 1024


def encode_as(clips: SpeechClips, tmp_path: Path, fmt: str) -> bytes:
    data, rate = sf.read(clips.speech, dtype="float32")
    path = tmp_path / f"clip.{fmt}"
    if fmt == "opus":
        from scipy.signal import resample_poly

        sf.write(path, resample_poly(data, 640, 294).astype(np.float32), 48000,
                 format="OGG", subtype="OPUS")  # fmt: skip
    elif fmt == "vorbis":
        sf.write(path, data, rate, format="OGG", subtype="VORBIS")
    else:
        sf.write(path, data, rate, format=fmt.upper())
    return path.read_bytes()


@pytest.mark.parametrize("fmt", ["wav", "flac", "vorbis", "opus"])
def test_accepted_formats_decode_to_the_same_length(
    clips: SpeechClips, tmp_path: Path, fmt: str
) -> None:
    clip = decode(encode_as(clips, tmp_path, fmt), max_seconds=60, max_bytes=CAP)
    assert clip.seconds == pytest.approx(sf.info(clips.speech).duration, abs=0.03)
    assert clip.samples.ndim == 1 and np.abs(clip.samples).max() > 0.1


def refused(data: bytes, max_seconds: float = 60, max_bytes: int = CAP) -> DoormanError:
    with pytest.raises(DoormanError) as info:
        decode(data, max_seconds=max_seconds, max_bytes=max_bytes)
    assert 400 <= info.value.status_code < 500
    return info.value


def test_text_renamed_wav_is_not_audio() -> None:
    err = refused(b"hello, this is a text file pretending to be audio\n" * 20)
    assert err.code == "unsupported_audio_format" and err.param == "file"


def test_truncated_flac_is_corrupt(clips: SpeechClips, tmp_path: Path) -> None:
    data = encode_as(clips, tmp_path, "flac")
    assert refused(data[: len(data) // 2]).code == "corrupt_audio"


def test_empty_upload() -> None:
    assert refused(b"").code == "empty_file"


def test_two_hours_is_refused_from_the_header(two_hours: bytes) -> None:
    err = refused(two_hours, max_seconds=60)
    assert err.code == "audio_too_long" and "7200.0 s" in err.message


def test_over_the_byte_cap(clips: SpeechClips) -> None:
    err = refused(clips.speech.read_bytes(), max_bytes=10_000)
    assert err.status_code == 413 and err.code == "file_too_large"


def test_other_libsndfile_formats_are_not_exposed(clips: SpeechClips, tmp_path: Path) -> None:
    data, rate = sf.read(clips.speech, dtype="float32")
    path = tmp_path / "clip.aiff"
    sf.write(path, data, rate, format="AIFF")
    assert refused(path.read_bytes()).code == "unsupported_audio_format"
