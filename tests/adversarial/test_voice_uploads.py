"""Uploads built to get past the audio checks: hidden lengths, lying headers, odd forms.

Each must end in a named 4xx (or a bounded decode), never a 500, never unbounded work.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from doorman.audio.codec import decode
from doorman.audio.form import parse_form
from doorman.audio.trim import trim_silence
from doorman.errors import DoormanError

CAP = 25 * 1024 * 1024


def flac_bytes(seconds: float, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    sf.write(out, np.zeros(int(seconds * rate), dtype=np.int16), rate, format="FLAC")
    return out.getvalue()


def hide_length(flac: bytes) -> bytes:
    """Zero STREAMINFO's total-samples field (36 bits), as a streaming encoder may leave it."""
    assert flac[:4] == b"fLaC"
    field = 8 + 10  # after "fLaC" and the block header: 10 bytes of block/frame sizes
    (packed,) = struct.unpack(">Q", flac[field : field + 8])
    packed &= ~((1 << 36) - 1)
    return flac[:field] + struct.pack(">Q", packed) + flac[field + 8 :]


def test_a_flac_hiding_its_length_is_decoded_up_to_the_limit_only() -> None:
    # Ten minutes whose header says "length unknown": no header check can refuse it, so the
    # decoder must stop past the limit rather than decode (and hold) all of it.
    with pytest.raises(DoormanError) as info:
        decode(hide_length(flac_bytes(600)), max_seconds=30, max_bytes=CAP)
    assert info.value.code == "audio_too_long" and info.value.status_code == 400
    assert "longer than 30 s" in info.value.message


def test_a_short_flac_hiding_its_length_is_accepted() -> None:
    clip = decode(hide_length(flac_bytes(5)), max_seconds=30, max_bytes=CAP)
    assert 5.0 - 1024 / 8000 <= clip.seconds <= 5.0  # libsndfile drops the last read


def test_a_wav_header_claiming_more_data_than_sent_decodes_what_is_there() -> None:
    out = io.BytesIO()
    sf.write(out, (np.sin(np.arange(16000) / 5) * 8000).astype(np.int16), 16000, format="WAV")
    data = bytearray(out.getvalue())
    data[40:44] = struct.pack("<I", 0x7FFFFFF0)  # data chunk "2 GB"
    clip = decode(bytes(data), max_seconds=30, max_bytes=CAP)
    assert clip.seconds == pytest.approx(1.0, abs=0.01)


def test_a_header_with_absurd_channels_or_rate_is_refused() -> None:
    out = io.BytesIO()
    sf.write(out, np.zeros(1600, dtype=np.int16), 16000, format="WAV")
    data = bytearray(out.getvalue())
    data[24:28] = struct.pack("<I", 500)  # 500 Hz: below anything speech is recorded at
    with pytest.raises(DoormanError) as info:
        decode(bytes(data), max_seconds=30, max_bytes=CAP)
    assert info.value.status_code == 400
    assert info.value.code in ("corrupt_audio", "unsupported_audio_format")


def test_a_few_samples_are_silent_not_an_error() -> None:
    out = io.BytesIO()
    sf.write(out, np.zeros(40, dtype=np.int16), 16000, format="WAV")
    clip = decode(out.getvalue(), max_seconds=30, max_bytes=CAP)
    assert trim_silence(clip.samples, clip.sample_rate).silent


def form(*parts: tuple[str, bytes, str | None]) -> tuple[bytes, dict[str, str]]:
    body = b""
    for name, value, filename in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--b\r\nContent-Disposition: {disp}\r\n\r\n".encode() + value + b"\r\n"
    body += b"--b--\r\n"
    return body, {"content-type": "multipart/form-data; boundary=b"}


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ([("file", b"RIFF", "a.wav"), ("file", b"RIFF", "b.wav"), ("model", b"m", None)],
         "invalid_multipart"),
        ([("file", b"RIFF", "a.wav"), ("model", b"m", None), ("model", b"n", None)],
         "duplicate_field"),
        ([("file", b"not a file upload", None), ("model", b"m", None)], "missing_file"),
        ([("model", b"m", None)], "missing_file"),
        ([("file", b"RIFF", "a.wav"), ("model", b"m" * 20000, None)], "invalid_multipart"),
        ([("file", b"RIFF", "a.wav"), ("model", b"m", None), ("language", b"en; rm", None)],
         "invalid_language"),
    ],
)  # fmt: skip
async def test_odd_forms_are_named(parts: list[tuple[str, bytes, str | None]], code: str) -> None:
    body, headers = form(*parts)
    with pytest.raises(DoormanError) as info:
        await parse_form(body, headers)
    assert info.value.status_code == 400 and info.value.code == code


async def test_a_body_that_is_not_multipart_at_all() -> None:
    with pytest.raises(DoormanError) as info:
        await parse_form(b"garbage", {"content-type": "multipart/form-data; boundary=zz"})
    assert info.value.code in ("invalid_multipart", "missing_file")
    with pytest.raises(DoormanError) as info:
        await parse_form(b"garbage", {"content-type": "multipart/form-data"})
    assert info.value.code == "invalid_multipart"
