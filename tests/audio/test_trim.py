"""Silence trimming on real speech (espeak-ng), padded with silence or noise by sox."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from doorman.audio.codec import decode
from doorman.audio.trim import trim_silence
from speech_clips import LEAD_S, TRAIL_S, SpeechClips, sox


def load(path: Path) -> tuple[np.ndarray, int]:
    clip = decode(path.read_bytes(), max_seconds=600, max_bytes=1 << 30)
    return clip.samples, clip.sample_rate


def covered(kept: list[tuple[int, int]], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for s, e in kept:
        mask[s:e] = True
    return mask


def check_trimmed(clips: SpeechClips, path: Path, detector: str = "webrtc") -> None:
    samples, rate = load(path)
    out = trim_silence(samples, rate, max_gap_ms=300, detector=detector)  # type: ignore[arg-type]
    # Every word's audio is kept: each sample in a loud 10 ms window of the speech.
    loud = clips.loud_samples(offset_s=LEAD_S)
    missed = ~covered(out.kept, len(samples))[loud]
    assert missed.sum() == 0, f"{missed.sum() / rate:.3f} s of speech cut"
    # What is sent is the speech part, within 100 ms.
    assert abs(out.seconds - clips.speech_seconds) <= 0.100, (out.seconds, clips.speech_seconds)
    # At least 90% of the silence is gone.
    silence_in = len(samples) / rate - clips.speech_seconds
    silence_out = max(0.0, out.seconds - clips.speech_seconds)
    assert silence_out <= 0.1 * silence_in


@pytest.mark.parametrize("detector", ["webrtc", "energy"])
def test_padded_speech_loses_its_silence_and_keeps_every_word(
    clips: SpeechClips, detector: str
) -> None:
    check_trimmed(clips, clips.padded, detector)


@pytest.mark.parametrize("noise", ["pinknoise", "brownnoise", "whitenoise"])
def test_speech_in_steady_background_noise_is_trimmed_the_same(
    clips: SpeechClips, tmp_path: Path, noise: str
) -> None:
    total = LEAD_S + TRAIL_S + sf.info(clips.speech).duration
    bed = tmp_path / "noise.wav"
    noisy = tmp_path / "noisy.wav"
    sox("-n", "-r", str(clips.rate), "-c", "1", str(bed), "synth", f"{total}", noise, "vol", "0.02")
    sox("-m", str(clips.padded), str(bed), str(noisy))
    check_trimmed(clips, noisy)


def test_a_long_pause_is_shortened_to_max_gap(clips: SpeechClips, tmp_path: Path) -> None:
    two = tmp_path / "two.wav"
    sox(str(clips.speech), str(two), "pad", "0", "2", "repeat", "1")  # speech, 2 s, speech
    samples, rate = load(two)
    whole = trim_silence(samples, rate, max_gap_ms=5000)
    short = trim_silence(samples, rate, max_gap_ms=300)
    # The 2 s pause (plus espeak's own trailing silence) shrinks to 300 ms.
    assert whole.seconds - short.seconds == pytest.approx(whole.seconds - 2 * clips.speech_seconds - 0.3, abs=0.12)
    loud = np.concatenate([clips.loud_samples(), clips.loud_samples(offset_s=len(samples) / rate / 2)])
    assert not (~covered(short.kept, len(samples))[loud[loud < len(samples)]]).any()


@pytest.mark.parametrize("kind", ["digital", "pinknoise"])
def test_a_clip_without_speech_is_silent(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "quiet.wav"
    if kind == "digital":
        sox("-n", "-r", "16000", "-c", "1", str(path), "trim", "0", "5")
    else:
        sox("-n", "-r", "16000", "-c", "1", str(path), "synth", "5", "pinknoise", "vol", "0.02")
    samples, rate = load(path)
    out = trim_silence(samples, rate)
    assert out.silent and out.seconds == 0.0
