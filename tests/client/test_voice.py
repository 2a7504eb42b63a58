"""doorman.voice.PushToTalk driven by PCM frames of real speech, and Client.transcribe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

import doorman
from doorman.auth.service import KeyService
from doorman.config import parse_settings
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.errors import DoormanError
from doorman.ledger.reports import iter_rows
from doorman.voice import PushToTalk, microphone
from speech_clips import SpeechClips, make_clips

FRAME = 480  # 30 ms at 16 kHz


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> SpeechClips:
    return make_clips(Path(tmp_path_factory.mktemp("speech")))


@pytest.fixture(scope="module")
def speech16k(clips: SpeechClips) -> np.ndarray:
    data, rate = sf.read(clips.speech, dtype="float32")
    return (resample_poly(data, 16000 // 50, rate // 50) * 32767).astype("<i2")


def frames(*parts: np.ndarray) -> Iterator[bytes]:
    pcm = np.concatenate(parts).astype("<i2").tobytes()
    for i in range(0, len(pcm), FRAME * 2):
        yield pcm[i : i + FRAME * 2]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype="<i2")


def test_stops_on_silence_and_drops_the_silence_before_the_first_word(
    speech16k: np.ndarray, clips: SpeechClips
) -> None:
    source = frames(silence(3), speech16k, silence(10))
    rec = PushToTalk(stop_after_silence_ms=800, preroll_ms=300).record(source)
    assert rec.stopped_by == "silence" and rec.heard_speech
    # About: 300 ms pre-roll + the speech (espeak's own tail included) + 800 ms of silence.
    espeak = len(speech16k) / 16000
    assert espeak + 0.3 + 0.8 - 0.5 <= rec.seconds <= espeak + 0.3 + 0.8 + 0.1
    assert next(source, None) is not None  # it stopped reading: the 10 s tail was never taken


def test_max_seconds_bounds_a_recording(speech16k: np.ndarray) -> None:
    rec = PushToTalk(max_seconds=4.0).record(frames(*[speech16k] * 5))
    assert rec.stopped_by == "max_seconds" and rec.seconds == pytest.approx(4.0)


def test_press_and_release(speech16k: np.ndarray) -> None:
    ptt = PushToTalk(stop_after_silence_ms=None)
    ptt.press()
    for frame in frames(speech16k, silence(2)):
        assert ptt.feed(frame)
    rec = ptt.release()
    assert rec.stopped_by == "release" and not ptt.recording
    assert rec.seconds == pytest.approx(len(speech16k) / 16000 + 2, abs=0.35)
    assert not ptt.feed(b"\0" * 960)  # nothing is recorded after release


def test_silence_only_records_nothing() -> None:
    rec = PushToTalk().record(frames(silence(5)))
    assert rec.stopped_by == "end_of_input" and not rec.heard_speech and rec.pcm == b""


def test_microphone_without_the_extra_says_how_to_get_it() -> None:
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError):
        with pytest.raises(RuntimeError, match=r"doorman\[voice\]"):
            next(microphone())
    else:
        pytest.skip("sounddevice is installed here")


async def test_client_transcribe_runs_the_gateway_pipeline_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, speech16k: np.ndarray, clips: SpeechClips
) -> None:
    monkeypatch.setenv("DOORMAN_PEPPER", "voice-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-voice-test-" + "x" * 24)
    settings = parse_settings({"database_url": f"sqlite+aiosqlite:///{tmp_path}/doorman.db"})
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        key = (await KeyService(engine, settings).create(user="robot", tier="free")).key
    finally:
        await engine.dispose()
    ptt = PushToTalk(stop_after_silence_ms=None)
    rec = ptt.record(frames(silence(4), speech16k, silence(6)))
    async with doorman.Client(api_key=key, config=settings) as dm:
        result = await rec.send(dm, model="sim-whisper", response_format="verbose_json")
        assert result.text and result.body is not None
        assert result.seconds_received == pytest.approx(rec.seconds, abs=0.01)
        # The pre-roll and trailing silence the client kept are trimmed by the gateway.
        assert abs(result.seconds_sent - clips.speech_seconds) <= 0.1
        assert result.body["duration"] == pytest.approx(result.seconds_sent, abs=0.002)
        assert result.cost_usd == pytest.approx(result.seconds_sent / 60 * 0.006, rel=1e-3)
        with pytest.raises(DoormanError) as info:
            await dm.transcribe(b"not audio at all", model="sim-whisper", filename="x.wav")
        assert info.value.code == "unsupported_audio_format"
    engine = create_engine(settings.database_url)
    try:
        rows = [r async for r in iter_rows(engine)]
    finally:
        await engine.dispose()
    ok = next(r for r in rows if r["request_id"] == result.request_id)
    assert ok["audio_seconds_sent"] == pytest.approx(result.seconds_sent, abs=0.002)
    assert ok["audio_saved_usd"] > 0
