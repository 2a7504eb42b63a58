"""``/v1/audio/transcriptions`` end to end: the official openai SDK, a gateway process and a
separate sim process that reports every second of audio it receives.

Real speech (espeak-ng) padded with silence (sox): the provider must receive the words and
almost none of the silence, the ledger must bill what was sent, and bad input must be refused
with a named 4xx before anything reaches the provider.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from harness import Gateway, Proc, serving, sim_config, start_sim
from speech_clips import LEAD_S, TRAIL_S, SpeechClips, make_clips, sox, two_hours_flac

PER_MINUTE = 0.006


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> SpeechClips:
    return make_clips(Path(tmp_path_factory.mktemp("speech")))


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = start_sim(tmp_path_factory.mktemp("sim"))
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(
        sim,
        pro={"requests_per_minute": 1000, "audio": {"max_audio_seconds": 60}},
        stingy={"requests_per_minute": 1000, "audio": {"seconds_per_minute": 8}},
        raw={"requests_per_minute": 1000, "audio": {"trim_silence": False}},
    )
    config["models"]["whisper"] = {
        "provider": "simopenai",
        "upstream_model": "whisper-1",
        "price": {"per_audio_minute": PER_MINUTE},
    }
    config["audio"] = {"max_file_bytes": 2 * 1024 * 1024}
    yield from serving(tmp_path_factory, config)


def new_key(gateway: Gateway, user: str, tier: str) -> str:
    """A key minted through the admin API (the CLI would cost a process start per key)."""
    with gateway.admin() as admin:
        r = admin.post("/admin/keys", json={"user": user, "tier": tier})
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    return new_key(gateway, "robot", "pro")


def client(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def sim_stats(sim: Proc) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{sim.url}/sim/stats").json()
    return data


def ledger_rows(gateway: Gateway) -> list[dict[str, Any]]:
    """The gateway's ledger table, read from its SQLite file (each 200 waited for its commit)."""
    with contextlib.closing(sqlite3.connect(gateway.workdir / "doorman.db")) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM ledger ORDER BY id")]


def test_sdk_transcribes_padded_speech_and_the_provider_gets_no_silence(
    gateway: Gateway, sim: Proc, key: str, clips: SpeechClips
) -> None:
    before = sim_stats(sim)["audio_requests"]
    with clips.padded.open("rb") as f:
        raw = client(gateway, key).audio.transcriptions.with_raw_response.create(
            model="whisper", file=f, response_format="verbose_json", language="en"
        )
    result = raw.parse()
    assert result.text and result.language == "en"
    stats = sim_stats(sim)
    assert stats["audio_requests"] == before + 1
    sent = stats["audio_durations"][-1]
    # The provider heard the speech part (within 100 ms) and reports that duration.
    assert abs(sent - clips.speech_seconds) <= 0.100
    assert result.duration == pytest.approx(sent, abs=0.001)
    # The provider's segment (0..duration of what it heard) comes back on the upload's timeline.
    (segment,) = result.segments or []
    assert abs(segment.start - (LEAD_S + clips.speech_start)) <= 0.1
    assert abs(segment.end - (LEAD_S + clips.speech_end)) <= 0.1
    received = LEAD_S + TRAIL_S + (clips.speech_end - clips.speech_start) + 0.0
    silence_in = received - clips.speech_seconds
    assert sent - clips.speech_seconds <= 0.1 * silence_in  # >= 90% of the silence removed
    h = raw.headers
    assert float(h["x-doorman-audio-seconds-sent"]) == pytest.approx(sent, abs=0.002)
    assert float(h["x-doorman-cost-usd"]) == pytest.approx(sent / 60 * PER_MINUTE, rel=1e-3)
    assert h["x-doorman-served-by"] == "whisper"
    row = next(r for r in ledger_rows(gateway) if r["request_id"] == h["x-request-id"])
    total = float(h["x-doorman-audio-seconds-received"])
    assert row["audio_seconds_received"] == pytest.approx(total, abs=0.002)
    assert row["audio_seconds_sent"] == pytest.approx(sent, abs=0.002)
    assert row["cost_usd"] == pytest.approx(sent / 60 * PER_MINUTE, rel=1e-3)
    assert row["audio_saved_usd"] == pytest.approx((total - sent) / 60 * PER_MINUTE, rel=1e-3)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_response_formats(gateway: Gateway, key: str, clips: SpeechClips, fmt: str) -> None:
    with clips.speech.open("rb") as f:
        result = client(gateway, key).audio.transcriptions.create(
            model="whisper", file=f, response_format=fmt  # type: ignore[arg-type]
        )
    text = result if isinstance(result, str) else result.text
    assert len(text.split()) >= 5


def test_flac_and_ogg_opus_are_accepted(
    gateway: Gateway, key: str, clips: SpeechClips, tmp_path: Path
) -> None:
    flac, opus = tmp_path / "clip.flac", tmp_path / "clip.opus.ogg"
    sox(str(clips.padded), str(flac))
    import numpy as np
    import soundfile as sf
    from scipy.signal import resample_poly

    data, _ = sf.read(clips.padded, dtype="float32")
    sf.write(opus, resample_poly(data, 640, 294).astype(np.float32), 48000, format="OGG",
             subtype="OPUS")  # fmt: skip
    for path in (flac, opus):
        with path.open("rb") as f:
            raw = client(gateway, key).audio.transcriptions.with_raw_response.create(
                model="whisper", file=f
            )
        assert raw.parse().text
        assert float(raw.headers["x-doorman-audio-seconds-sent"]) < clips.speech_seconds + 0.1


def test_silence_only_is_answered_without_the_provider(
    gateway: Gateway, sim: Proc, key: str, tmp_path: Path
) -> None:
    quiet = tmp_path / "quiet.wav"
    sox("-n", "-r", "16000", "-c", "1", str(quiet), "trim", "0", "4")
    before = sim_stats(sim)["audio_requests"]
    with quiet.open("rb") as f:
        raw = client(gateway, key).audio.transcriptions.with_raw_response.create(
            model="whisper", file=f
        )
    assert raw.parse().text == ""
    assert float(raw.headers["x-doorman-cost-usd"]) == 0.0
    assert sim_stats(sim)["audio_requests"] == before


def bad_inputs(clips: SpeechClips, tmp: Path) -> dict[str, tuple[str, bytes, int, str]]:
    flac = tmp / "clip.flac"
    sox(str(clips.speech), str(flac))
    data = flac.read_bytes()
    return {
        "text renamed .wav": ("notes.wav", b"meeting notes, not audio\n" * 40, 400,
                              "unsupported_audio_format"),
        "truncated flac": ("clip.flac", data[: len(data) // 2], 400, "corrupt_audio"),
        "two hours": ("long.flac", two_hours_flac(tmp / "long.flac"), 400, "audio_too_long"),
        "zero bytes": ("empty.wav", b"", 400, "empty_file"),
        "over the size cap": ("big.wav", b"RIFF" + b"\0" * (3 * 1024 * 1024), 413,
                              "file_too_large"),
    }  # fmt: skip


def test_bad_input_gets_a_named_4xx_and_never_reaches_the_provider(
    gateway: Gateway, sim: Proc, key: str, clips: SpeechClips, tmp_path: Path
) -> None:
    before = sim_stats(sim)
    rows_before = len(ledger_rows(gateway))
    for label, (name, data, status, code) in bad_inputs(clips, tmp_path).items():
        with pytest.raises(openai.APIStatusError) as info:
            client(gateway, key).audio.transcriptions.create(model="whisper", file=(name, data))
        assert info.value.status_code == status, label
        body = info.value.body
        assert isinstance(body, dict) and body["code"] == code, (label, body)
        assert body["param"] == "file" or code == "file_too_large", label
    after = sim_stats(sim)
    assert after["audio_requests"] == before["audio_requests"]
    assert after["requests"] == before["requests"]
    rows = ledger_rows(gateway)[rows_before:]
    assert all(r["cost_usd"] == 0 for r in rows)


def test_form_mistakes_are_named(gateway: Gateway, key: str, clips: SpeechClips) -> None:
    audio = clips.speech.read_bytes()
    cases = [
        ({"model": "whisper", "response_format": "srt"}, "unsupported_response_format"),
        ({"response_format": "json"}, "missing_model"),
        ({"model": "whisper", "temprature": "0.2"}, "unknown_field"),
        ({"model": "no-such-model"}, "model_not_found"),
    ]
    for fields, code in cases:
        r = httpx.post(f"{gateway.url}/v1/audio/transcriptions", data=fields,
                       files={"file": ("a.wav", audio)},
                       headers={"authorization": f"Bearer {key}"})  # fmt: skip
        assert 400 <= r.status_code < 500 and r.json()["error"]["code"] == code, r.text
    r = httpx.post(f"{gateway.url}/v1/audio/transcriptions", json={"model": "whisper"},
                   headers={"authorization": f"Bearer {key}"})  # fmt: skip
    assert r.status_code == 415


def test_unauthenticated_upload_is_refused_before_decoding(
    gateway: Gateway, sim: Proc, clips: SpeechClips
) -> None:
    before = sim_stats(sim)["audio_requests"]
    with pytest.raises(openai.AuthenticationError), clips.padded.open("rb") as f:
        client(gateway, "dm-not-a-key").audio.transcriptions.create(model="whisper", file=f)
    assert sim_stats(sim)["audio_requests"] == before


def test_audio_seconds_per_minute_bills_trimmed_seconds(
    gateway: Gateway, sim: Proc, clips: SpeechClips
) -> None:
    # 8 s per minute: the 20 s padded clip fits (about 5 s of speech is sent), twice does not.
    stingy = new_key(gateway, "stingy-robot", "stingy")
    with clips.padded.open("rb") as f:
        client(gateway, stingy).audio.transcriptions.create(model="whisper", file=f)
    before = sim_stats(sim)["audio_requests"]
    with pytest.raises(openai.RateLimitError) as info, clips.padded.open("rb") as f:
        client(gateway, stingy).audio.transcriptions.create(model="whisper", file=f)
    assert info.value.body["code"] == "audio_seconds_exceeded"  # type: ignore[index]
    assert "retry-after" in info.value.response.headers
    assert sim_stats(sim)["audio_requests"] == before


def test_untrimmed_tier_sends_the_clip_as_uploaded(
    gateway: Gateway, sim: Proc, clips: SpeechClips
) -> None:
    raw_key = new_key(gateway, "raw-robot", "raw")
    with clips.padded.open("rb") as f:
        client(gateway, raw_key).audio.transcriptions.create(model="whisper", file=f)
    import soundfile as sf

    assert sim_stats(sim)["audio_durations"][-1] == pytest.approx(
        sf.info(clips.padded).duration, abs=0.001
    )
