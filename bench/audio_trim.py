"""Silence trimming: CPU cost per second of audio, and how well each detector finds the words.

Builds a 60 s clip of real speech (espeak-ng sentences at known offsets, separated by pauses
of 0.2 to 4 s, with leading and trailing silence), then:

- CPU: process time of decode + trim + FLAC encode of the whole clip, as a share of the clip's
  duration (the target is < 2%); decode alone is printed as the baseline measured in the same
  run, so the trimming's own share shows.
- Accuracy, per background (digital silence, white, pink and brown noise mixed in with sox)
  and per detector (``webrtc``: WebRTC VAD with energy-refined edges; ``energy``: threshold
  with hangover): the share of the words' audio kept (every sample in a 10 ms window above
  -40 dBFS of the clean speech), the share of the removable silence cut (farther than 150 ms,
  half of ``max_gap_ms``, from any word) and of all non-speech time (short pauses between
  words are kept on purpose).

Needs espeak-ng and sox (Debian). Run: ``.venv/bin/python bench/audio_trim.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from doorman.audio.codec import decode, encode_flac
from doorman.audio.trim import trim_silence

RATE = 22050  # espeak-ng's own rate
SENTENCES = [
    "Move to the loading dock and wait for the operator.",
    "Pick up the blue crate.",
    "Stop.",
    "Turn left at the second aisle, then follow the yellow line to the charging station.",
    "How much battery is left?",
    "Place the package on the top shelf, gently.",
    "Cancel the last order.",
    "Report your position every ten seconds until I say otherwise.",
]
PAUSES = [0.2, 1.5, 0.4, 4.0, 0.8, 2.5, 0.3, 3.0]


def speak(text: str, path: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    data, rate = sf.read(path, dtype="float32")
    assert rate == RATE
    return np.asarray(data)


def build_clip(workdir: Path, seconds: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """(clip, speech mask): sentences with pauses, padded to ``seconds``; the mask marks the
    samples of every 10 ms window of clean speech louder than -40 dBFS."""
    total = int(seconds * RATE)
    clip = np.zeros(total, dtype=np.float32)
    pos = int(2.0 * RATE)  # 2 s of silence before the first word
    i = 0
    while True:
        words = speak(SENTENCES[i % len(SENTENCES)], workdir / "s.wav")
        end = pos + len(words)
        if end > total - int(3.0 * RATE):  # keep 3 s of trailing silence
            break
        clip[pos:end] = words
        pos = end + int(PAUSES[i % len(PAUSES)] * RATE)
        i += 1
    win = RATE // 100
    level = np.sqrt(np.convolve(clip.astype(np.float64) ** 2, np.ones(win) / win, "same"))
    return clip, level > 10 ** (-40 / 20)


def with_noise(workdir: Path, clip: np.ndarray, noise: str) -> bytes:
    clean = workdir / "clean.wav"
    sf.write(clean, clip, RATE, subtype="PCM_16")
    if noise == "none":
        return clean.read_bytes()
    bed, mixed = workdir / "bed.wav", workdir / "mixed.wav"
    seconds = f"{len(clip) / RATE}"
    if noise == "motor":  # a 0.4 s whine every 2 s, as loud as quiet speech: not steady
        repeats = str(int(len(clip) / RATE / 2) - 1)
        synth = ["synth", "0.4", "sine", "600", "vol", "0.05", "pad", "0", "1.6", "repeat", repeats]
    else:
        synth = ["synth", seconds, noise, "vol", "0.02"]
    subprocess.run(["sox", "-n", "-r", str(RATE), "-c", "1", str(bed), *synth], check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run(["sox", "-m", str(clean), str(bed), str(mixed)], check=True, capture_output=True)
    return mixed.read_bytes()


def accuracy(
    data: bytes, speech: np.ndarray, detector: str
) -> tuple[float, float, float, float]:
    clip = decode(data, max_seconds=600, max_bytes=1 << 30)
    out = trim_silence(clip.samples, clip.sample_rate, detector=detector)  # type: ignore[arg-type]
    kept = np.zeros(len(clip.samples), dtype=bool)
    for s, e in out.kept:
        kept[s:e] = True
    words = kept[speech].mean()
    silence = ~speech
    removed = 1 - kept[silence].sum() / silence.sum()
    # Removable: silence more than 150 ms (half of max_gap_ms) away from any word.
    reach = int(0.150 * RATE)
    near = np.convolve(speech.astype(np.int32), np.ones(2 * reach + 1, dtype=np.int32), "same") > 0
    removable = ~near
    cut = 1 - kept[removable].sum() / removable.sum()
    return float(words), float(removed), float(cut), out.seconds


def cpu_share(data: bytes, rounds: int, detector: str) -> tuple[float, float]:
    """(decode only, decode + trim + encode) CPU seconds per second of audio, best of rounds."""
    seconds = decode(data, max_seconds=600, max_bytes=1 << 30).seconds
    base, full = [], []
    for _ in range(rounds):
        t0 = time.process_time()
        clip = decode(data, max_seconds=600, max_bytes=1 << 30)
        t1 = time.process_time()
        out = trim_silence(clip.samples, clip.sample_rate, detector=detector)  # type: ignore[arg-type]
        encode_flac(out.samples, out.sample_rate)
        t2 = time.process_time()
        base.append(t1 - t0)
        full.append(t2 - t0)
    return min(base) / seconds, min(full) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        clip, speech = build_clip(workdir)
        print(f"clip: {len(clip) / RATE:.1f} s, speech (loud 10 ms windows) "
              f"{speech.sum() / RATE:.1f} s\n")  # fmt: skip
        print("| background | detector | words kept | removable silence cut | all non-speech "
              "cut | seconds sent |")  # fmt: skip
        print("|---|---|---:|---:|---:|---:|")
        for noise in ("none", "whitenoise", "pinknoise", "brownnoise", "motor"):
            data = with_noise(workdir, clip, noise)
            for detector in ("webrtc", "energy"):
                words, removed, cut, sent = accuracy(data, speech, detector)
                print(f"| {noise} | {detector} | {words:.2%} | {cut:.1%} | {removed:.1%} "
                      f"| {sent:.2f} |")  # fmt: skip
        print()
        print("| detector | CPU/audio, decode only (baseline) | CPU/audio, decode + trim + FLAC |")
        print("|---|---:|---:|")
        data = with_noise(workdir, clip, "pinknoise")
        for detector in ("webrtc", "energy"):
            base, full = cpu_share(data, args.rounds, detector)
            print(f"| {detector} | {base:.3%} | {full:.3%} |")


if __name__ == "__main__":
    main()
