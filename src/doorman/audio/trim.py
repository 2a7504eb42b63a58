"""Silence trimming: keep the speech, a little air around it, and short pauses only.

Leading and trailing silence go (but ``pad_ms`` of it around the speech stays, so soft word
onsets and decays are never clipped); a pause inside speech longer than ``max_gap_ms`` is
shortened to ``max_gap_ms`` by keeping its first and last halves, so words stay apart and the
pause still sounds like one. ``kept`` maps the trimmed audio back onto the original clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from doorman.audio.vad import FRAME_MS, Detector, find_speech


@dataclass(frozen=True, slots=True)
class Trimmed:
    samples: np.ndarray
    sample_rate: int
    kept: list[tuple[int, int]]  # (start, end) sample ranges of the original, in order
    received_seconds: float

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def silent(self) -> bool:
        """No speech at all: nothing worth sending."""
        return not self.kept


def trim_silence(
    samples: np.ndarray,
    rate: int,
    *,
    max_gap_ms: int = 300,
    pad_ms: int = 30,
    detector: Detector = "webrtc",
    aggressiveness: int = 3,
) -> Trimmed:
    """The speech of ``samples`` with leading/trailing silence cut and long pauses shortened."""
    speech = find_speech(samples, rate, detector=detector, aggressiveness=aggressiveness)
    per_frame = rate * FRAME_MS / 1000
    n = len(samples)
    regions = [(round(s * per_frame), round(e * per_frame)) for s, e in speech.regions]
    kept = _keep(regions, n, pad=round(pad_ms * rate / 1000), gap=round(max_gap_ms * rate / 1000))
    if kept:
        out = np.concatenate([samples[s:e] for s, e in kept])
    else:
        out = np.zeros(0, dtype=samples.dtype)
    return Trimmed(out, rate, kept, n / rate if rate else 0.0)


def _keep(regions: list[tuple[int, int]], n: int, *, pad: int, gap: int) -> list[tuple[int, int]]:
    if not regions:
        return []
    keep_pause = max(gap, 2 * pad)  # pauses shorter than this stay whole
    out: list[list[int]] = [[max(0, regions[0][0] - pad), regions[0][1]]]
    for start, end in regions[1:]:
        prev = out[-1]
        pause = start - prev[1]
        if pause <= keep_pause:
            prev[1] = end
            continue
        half = keep_pause // 2
        prev[1] += half
        out.append([start - (keep_pause - half), end])
    out[-1][1] = min(n, out[-1][1] + pad)
    return [(s, e) for s, e in out if e > s]


def kept_seconds(kept: list[tuple[int, int]], rate: int) -> float:
    return sum(e - s for s, e in kept) / rate if rate else 0.0
