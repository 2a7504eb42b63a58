"""Where the speech is: voice-activity detection on 10 ms frames, edges refined by energy.

Two detectors share one frame grid (16 kHz, 10 ms):

- ``webrtc`` (default): Google's WebRTC VAD (``webrtcvad-wheels``) classifies each frame.
  Its decisions run late at the edges (a built-in hangover of ~100-200 ms), so each stretch it
  finds is then tightened or extended to where the frame energy crosses a threshold set from
  the clip itself (noise floor + 6 dB, and no lower than 45 dB below the speech peak).
- ``energy``: that threshold alone, with a hangover. bench/audio_trim.py measures both: equal
  accuracy on every background tried (silence; white, pink, brown noise; neither rejects an
  intermittent tonal whine), the energy one ~25% cheaper.

Everything is vectorised except the VAD's own per-frame C call, so a minute of audio costs a
few tens of milliseconds of CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from typing import Literal

import numpy as np
import webrtcvad
from scipy.signal import butter, resample_poly, sosfilt

Detector = Literal["webrtc", "energy"]

RATE = 16_000
FRAME_MS = 10
FRAME = RATE * FRAME_MS // 1000  # samples per frame
_FLOOR_DB = -100.0  # digital silence
_MIN_SPEECH_FRAMES = 5  # 50 ms: a click or a breath is not speech
_EDGE_SEARCH_FRAMES = 30  # refine an edge by at most 300 ms either way


@dataclass(frozen=True, slots=True)
class Speech:
    """Stretches of speech as ``(start, end)`` frame indexes (end exclusive), plus the grid."""

    regions: list[tuple[int, int]]
    frames: int
    threshold_db: float


_HIGHPASS = butter(4, 150, btype="highpass", fs=RATE, output="sos")


def to_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 at 16 kHz (polyphase resampling: anti-aliased, linear time), high-passed
    at 150 Hz: rumble, hum and wind carry no speech but would pass for it."""
    if rate != RATE:
        g = gcd(RATE, rate)
        samples = resample_poly(samples, RATE // g, rate // g)
    return np.asarray(sosfilt(_HIGHPASS, samples), dtype=np.float32)


def frame_energy_db(x16: np.ndarray) -> np.ndarray:
    """RMS level of each whole 10 ms frame in dBFS (digital silence is -100)."""
    n = len(x16) // FRAME
    frames = x16[: n * FRAME].reshape(n, FRAME).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    with np.errstate(divide="ignore"):
        db = 20 * np.log10(rms)
    return np.maximum(db, _FLOOR_DB)


def webrtc_flags(x16: np.ndarray, aggressiveness: int) -> np.ndarray:
    """The WebRTC VAD's decision for each whole 10 ms frame."""
    n = len(x16) // FRAME
    pcm = (np.clip(x16[: n * FRAME], -1.0, 1.0) * 32767).astype("<i2").tobytes()
    vad = webrtcvad.Vad(aggressiveness)
    step = FRAME * 2
    is_speech = vad.is_speech
    return np.fromiter(
        (is_speech(pcm[i : i + step], RATE) for i in range(0, n * step, step)),
        dtype=bool,
        count=n,
    )


def threshold_db(energy: np.ndarray, flags: np.ndarray | None = None) -> float:
    """Noise floor + 6 dB, but never more than 45 dB under the speech peak nor under -60 dBFS."""
    if len(energy) == 0:
        return 0.0
    floor = float(np.percentile(energy, 10))
    voiced = energy[flags] if flags is not None and flags.any() else energy
    peak = float(np.percentile(voiced, 95))
    return max(floor + 6.0, min(peak - 45.0, floor + 20.0), -60.0)


def find_speech(
    samples: np.ndarray, rate: int, *, detector: Detector = "webrtc", aggressiveness: int = 3
) -> Speech:
    """The stretches of ``samples`` that hold speech, on the 10 ms grid."""
    x16 = to_16k(samples, rate)
    energy = frame_energy_db(x16)
    n = len(energy)
    if n == 0:
        return Speech([], 0, 0.0)
    if detector == "webrtc":
        flags = webrtc_flags(x16, aggressiveness)
        thr = threshold_db(energy, flags)
        loud = energy >= thr
        flags &= _dilate(loud, 3)  # the VAD's own hangover over near-silence is not speech
    else:
        thr = threshold_db(energy)
        loud = energy >= thr
        flags = _dilate(loud, 2)
    regions = [
        _refine(start, end, loud)
        for start, end in _runs(flags)
        if end - start >= _MIN_SPEECH_FRAMES or loud[start:end].sum() >= _MIN_SPEECH_FRAMES
    ]
    regions = [(s, e) for s, e in regions if e - s >= _MIN_SPEECH_FRAMES]
    return Speech(_merge(regions), n, thr)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True."""
    if not flags.any():
        return []
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _dilate(mask: np.ndarray, frames: int) -> np.ndarray:
    """Widen every True run by ``frames`` on both sides (a hangover)."""
    if frames <= 0 or not mask.any():
        return mask.copy()
    kernel = np.ones(2 * frames + 1, dtype=np.int32)
    return np.convolve(mask.astype(np.int32), kernel, mode="same") > 0


def _refine(start: int, end: int, loud: np.ndarray) -> tuple[int, int]:
    """Move a stretch's edges to where the energy crosses the threshold (within 300 ms)."""
    n = len(loud)
    lo = max(0, start - _EDGE_SEARCH_FRAMES)
    while start > lo and loud[start - 1]:
        start -= 1
    hi = min(n, end + _EDGE_SEARCH_FRAMES)
    while end < hi and loud[end]:
        end += 1
    while start < end and not loud[start]:
        start += 1
    while end > start and not loud[end - 1]:
        end -= 1
    return start, end


def _merge(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(regions):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out
