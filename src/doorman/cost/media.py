"""What non-text inputs weigh before tokens: image sizes, PDF pages, audio seconds.

Only headers are read (Pillow opens an image lazily and stops at its size), so a 5 MB image
costs a base64 decode and a header parse. Whatever cannot be read is ``None``, and the caller
then reserves the provider's documented maximum: an unreadable input never counts as small.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import wave

from PIL import Image, UnidentifiedImageError

# 8 kbit/s is below any speech codec a provider accepts: bytes / 1000 bounds the duration.
_MIN_AUDIO_BYTES_PER_S = 1000
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def decode_base64(data: str) -> bytes | None:
    """The bytes of a base64 payload or a ``data:`` URL; None when it is not base64."""
    if data.startswith("data:"):
        comma = data.find(",")
        if comma < 0 or ";base64" not in data[:comma]:
            return None
        data = data[comma + 1 :]
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def image_size(data: str) -> tuple[int, int] | None:
    """(width, height) of a base64 image or ``data:`` URL, from its header; None if unknown."""
    raw = decode_base64(data)
    if not raw:
        return None
    try:
        with Image.open(io.BytesIO(raw)) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    if width <= 0 or height <= 0:
        return None
    return width, height


def pdf_pages(raw: bytes) -> int | None:
    """Page objects visible in a PDF's bytes; None when they are hidden (object streams)."""
    if not raw.startswith(b"%PDF"):
        return None
    pages = len(_PAGE.findall(raw))
    return pages or None


def audio_seconds(raw: bytes, fmt: str) -> float:
    """Duration of an audio clip: exact for WAV, an upper bound from its size otherwise."""
    if fmt.lower() in ("wav", "wave", "audio/wav"):
        try:
            with wave.open(io.BytesIO(raw)) as clip:
                rate = clip.getframerate()
                if rate > 0:
                    return clip.getnframes() / rate
        except (wave.Error, EOFError, OSError):
            pass
    return len(raw) / _MIN_AUDIO_BYTES_PER_S
