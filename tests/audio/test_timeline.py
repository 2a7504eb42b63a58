"""Transcript times of trimmed audio map back to where the words were in the upload."""

from __future__ import annotations

import orjson
import pytest

from doorman.audio.timeline import remap_verbose, to_original

# Kept: 2.0-4.0 s and 7.0-8.5 s of the upload -> the trimmed clip is 3.5 s long.
KEPT = [(2.0, 4.0), (7.0, 8.5)]


@pytest.mark.parametrize(
    ("t", "start", "expected"),
    [(0.0, True, 2.0), (1.5, True, 3.5), (2.0, True, 7.0), (2.0, False, 4.0), (3.0, False, 8.0),
     (3.5, False, 8.5), (9.0, False, 8.5)],
)  # fmt: skip
def test_times_map_through_the_kept_ranges(t: float, start: bool, expected: float) -> None:
    assert to_original(t, KEPT, start=start) == pytest.approx(expected)


def test_segments_and_words_of_a_verbose_transcript() -> None:
    body = {
        "text": "go left",
        "duration": 3.5,
        "segments": [{"id": 0, "start": 0.0, "end": 3.5, "text": "go left"}],
        "words": [{"word": "go", "start": 0.1, "end": 0.4}, {"word": "left", "start": 2.1, "end": 2.6}],
    }
    out = orjson.loads(remap_verbose(orjson.dumps(body), KEPT))
    assert (out["segments"][0]["start"], out["segments"][0]["end"]) == (2.0, 8.5)
    assert [(w["start"], w["end"]) for w in out["words"]] == [(2.1, 2.4), (7.1, 7.6)]
    assert out["duration"] == 3.5  # what the provider heard (and billed)


def test_a_body_that_is_not_json_is_passed_on() -> None:
    assert remap_verbose(b"not json", KEPT) == b"not json"
