from __future__ import annotations

from pathlib import Path

import pytest

from speech_clips import SpeechClips, make_clips, two_hours_flac


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> SpeechClips:
    return make_clips(Path(tmp_path_factory.mktemp("speech")))


@pytest.fixture(scope="session")
def two_hours(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return two_hours_flac(Path(tmp_path_factory.mktemp("long")) / "two-hours.flac")
