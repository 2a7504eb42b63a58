"""Push-to-talk on the client side: record between press and release (or until the speaker
stops), then send the clip through the gateway.

A robot that streams its microphone to a speech-to-text provider pays for every second of
silence and never stops paying. :class:`PushToTalk` bounds a recording three ways — the
button's release, a stretch of silence after speech (WebRTC VAD, the detector the gateway
uses), and ``max_seconds`` — and drops the silence before the first word beyond a short
pre-roll, so little silence leaves the device; the gateway trims the rest.

Frames come from anywhere: an iterator of 16-bit mono PCM chunks (how tests drive it, or a
robot's own audio stack), or :func:`microphone` when ``sounddevice`` is installed
(``pip install 'doorman[voice]'``)::

    ptt = PushToTalk(stop_after_silence_ms=800)
    recording = ptt.record(microphone())        # blocks until silence or max_seconds
    async with doorman.Client(api_key=key, config="doorman.yaml") as dm:
        result = await recording.send(dm, model="whisper-1")

or with a button: ``ptt.press()`` on key-down, ``ptt.feed(frame)`` from the audio callback
(returns False once the recording stopped), ``recording = ptt.release()`` on key-up.
"""

from __future__ import annotations

import collections
import io
import threading
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from doorman.client.inprocess import Client, Transcription

StopReason = Literal["release", "silence", "max_seconds", "end_of_input"]
VAD_RATES = (8000, 16000, 32000, 48000)


@dataclass(frozen=True, slots=True)
class Recording:
    """One push-to-talk clip: 16-bit mono PCM, why it stopped, whether anyone spoke."""

    pcm: bytes
    sample_rate: int
    stopped_by: StopReason
    heard_speech: bool

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate

    def wav(self) -> bytes:
        """The clip as a WAV file (what ``/v1/audio/transcriptions`` and the SDKs take)."""
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(self.pcm)
        return out.getvalue()

    async def send(self, client: Client, *, model: str, **params: Any) -> Transcription:
        """Transcribe through an in-process :class:`doorman.Client` (same pipeline as the
        server). Over HTTP, pass ``file=("clip.wav", recording.wav())`` to the openai SDK."""
        return await client.transcribe(self.wav(), model=model, filename="clip.wav", **params)


class PushToTalk:
    """Record between :meth:`press` and :meth:`release`, or until silence follows speech.

    Thread-safe: a UI thread may press and release while an audio thread feeds frames.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        frame_ms: int = 30,
        stop_after_silence_ms: int | None = 800,
        preroll_ms: int = 300,
        max_seconds: float = 60.0,
        aggressiveness: int = 3,
    ) -> None:
        if sample_rate not in VAD_RATES:
            raise ValueError(f"sample_rate must be one of {VAD_RATES}")
        if frame_ms not in (10, 20, 30):
            raise ValueError("frame_ms must be 10, 20 or 30")
        if max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        import webrtcvad

        self.sample_rate = sample_rate
        self.frame_bytes = sample_rate * frame_ms // 1000 * 2
        self.frame_ms = frame_ms
        self.stop_after_silence_ms = stop_after_silence_ms
        self.max_bytes = int(max_seconds * sample_rate) * 2
        self._vad = webrtcvad.Vad(aggressiveness)
        self._lock = threading.Lock()
        self._preroll: collections.deque[bytes] = collections.deque(
            maxlen=max(1, preroll_ms // frame_ms)
        )
        self._chunks: list[bytes] = []
        self._size = 0
        self._pending = b""
        self._recording = False
        self._heard = False
        self._quiet_ms = 0
        self._stopped: StopReason | None = None

    @property
    def recording(self) -> bool:
        return self._recording

    def press(self) -> None:
        """Start a new recording (anything recorded before is dropped)."""
        with self._lock:
            self._preroll.clear()
            self._chunks, self._size, self._pending = [], 0, b""
            self._heard, self._quiet_ms, self._stopped = False, 0, None
            self._recording = True

    def feed(self, pcm: bytes) -> bool:
        """Add 16-bit mono PCM (any length); True while the recording goes on."""
        with self._lock:
            if not self._recording:
                return False
            data = self._pending + bytes(pcm)
            usable = len(data) - len(data) % self.frame_bytes
            self._pending = data[usable:]
            for i in range(0, usable, self.frame_bytes):
                self._frame(data[i : i + self.frame_bytes])
                if not self._recording:
                    break
            return self._recording

    def _frame(self, frame: bytes) -> None:
        speech = self._vad.is_speech(frame, self.sample_rate)
        if not self._heard:
            self._preroll.append(frame)  # silence before the first word: keep a little only
            if not speech:
                return
            self._heard = True
            for kept in self._preroll:
                self._append(kept)
            self._preroll.clear()
        else:
            self._append(frame)
        self._quiet_ms = 0 if speech else self._quiet_ms + self.frame_ms
        limit = self.stop_after_silence_ms
        if limit is not None and self._quiet_ms >= limit:
            self._stop("silence")
        elif self._size >= self.max_bytes:
            self._stop("max_seconds")

    def _append(self, frame: bytes) -> None:
        self._chunks.append(frame)
        self._size += len(frame)
        if self._size >= self.max_bytes:
            self._stop("max_seconds")

    def _stop(self, reason: StopReason) -> None:
        if self._recording:
            self._recording = False
            self._stopped = reason

    def release(self, reason: StopReason = "release") -> Recording:
        """Stop (if still recording) and return the clip."""
        with self._lock:
            self._stop(reason)
            pcm = b"".join(self._chunks)[: self.max_bytes]
            return Recording(pcm, self.sample_rate, self._stopped or reason, self._heard)

    def record(self, frames: Iterable[bytes]) -> Recording:
        """Press, feed ``frames`` until silence, ``max_seconds`` or their end, then release."""
        self.press()
        for frame in frames:
            if not self.feed(frame):
                break
        return self.release("end_of_input")


def microphone(
    sample_rate: int = 16000, frame_ms: int = 30, device: int | str | None = None
) -> Iterator[bytes]:
    """16-bit mono frames from a microphone, until the consumer stops iterating.

    Needs ``sounddevice`` (``pip install 'doorman[voice]'``) and a PortAudio device.
    """
    try:
        import sounddevice
    except ImportError as exc:  # the optional extra is not installed
        raise RuntimeError(
            "microphone input needs the 'voice' extra: pip install 'doorman[voice]'"
        ) from exc
    blocksize = sample_rate * frame_ms // 1000
    with sounddevice.RawInputStream(
        samplerate=sample_rate, channels=1, dtype="int16", blocksize=blocksize, device=device
    ) as stream:
        while True:
            data, _overflowed = stream.read(blocksize)
            yield bytes(data)
