"""Real speech for the audio tests: ``espeak-ng`` speaks a sentence, ``sox`` pads it with silence.

Made once per test session in a temporary directory (nothing is downloaded or shipped). The
speech part is measured on the unpadded clip: from the first to the last 10 ms window whose
level is above -50 dBFS, so the tests compare trimming against where the words really are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SENTENCE = "The robot picked up the red box and placed it on the shelf. Then it waited."
LEAD_S, TRAIL_S = 6.0, 9.0


@dataclass(frozen=True)
class SpeechClips:
    speech: Path  # espeak-ng's clip as it came out
    padded: Path  # the same with LEAD_S of silence before and TRAIL_S after
    rate: int
    speech_start: float  # seconds into ``speech`` where the first word begins
    speech_end: float  # ... and where the last one ends

    @property
    def speech_seconds(self) -> float:
        return self.speech_end - self.speech_start

    def loud_samples(self, offset_s: float = 0.0, level_db: float = -40.0) -> np.ndarray:
        """Indexes (into a clip holding the speech at ``offset_s``) of every sample in a 10 ms
        window louder than ``level_db``: the audio of the words, which trimming must keep."""
        data, rate = sf.read(self.speech, dtype="float32")
        win = max(1, rate // 100)
        level = np.sqrt(np.convolve(data.astype(np.float64) ** 2, np.ones(win) / win, "same"))
        return np.flatnonzero(level > 10 ** (level_db / 20)) + round(offset_s * rate)


def need_tools() -> None:
    missing = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    if missing:
        why = f"needs {', '.join(missing)} (apt-get install espeak-ng sox)"
        if os.environ.get("DOORMAN_REQUIRE_SERVICES") == "1":
            pytest.fail(why)  # CI installs them (.ci/run): a skip there would hide a gap
        pytest.skip(why)


def make_clips(workdir: Path) -> SpeechClips:
    need_tools()
    speech = workdir / "speech.wav"
    padded = workdir / "padded.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), SENTENCE], check=True, capture_output=True)
    subprocess.run(["sox", str(speech), str(padded), "pad", str(LEAD_S), str(TRAIL_S)],
                   check=True, capture_output=True)  # fmt: skip
    data, rate = sf.read(speech, dtype="float32")
    win = rate // 100
    level = np.sqrt(np.convolve(data.astype(np.float64) ** 2, np.ones(win) / win, "same"))
    loud = np.flatnonzero(level > 10 ** (-50 / 20))
    return SpeechClips(speech, padded, rate, loud[0] / rate, loud[-1] / rate)


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def two_hours_flac(path: Path) -> bytes:
    """Two hours of 8 kHz silence as FLAC (~180 kB): long audio in a small upload."""
    minute = np.zeros(8000 * 60, dtype=np.int16)
    with sf.SoundFile(path, "w", samplerate=8000, channels=1, format="FLAC", subtype="PCM_16") as f:
        for _ in range(120):
            f.write(minute)
    return path.read_bytes()
