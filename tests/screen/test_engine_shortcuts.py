"""The matching engine's shortcuts give exactly what their plain definitions give.

Each shortcut replaces a slower computation on the hot path (a scan per substring, a regex with
a lookbehind or a backreference, a Python call per line); a difference would change a verdict.
"""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from doorman.screen import candidates as C
from doorman.screen.gate import Substrings
from doorman.screen.hidden import _csv_cells, _table_cells
from doorman.screen.matching import _split_sentences

_STRINGS = ["<|", "|>", "[inst", "[/inst", "<<sys", "##", "<", "](", "🔓", "ü", "two different"]


def _plain_present(strings: list[str], text: str) -> frozenset[str]:
    return frozenset(s for s in strings if s in text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain prose with nothing of the kind",
        "<|>",  # two strings overlapping
        "[/inst] and [inst]",
        "#",
        "a ## b <<sys>> 🔓 über",
        "two  different",  # not the string: two spaces
        "prefix " * 500 + "two different",
    ],
)
def test_substrings_present_is_every_string_that_occurs(text: str) -> None:
    finder = Substrings(_STRINGS)
    assert finder.present(text) == _plain_present(_STRINGS, text)


def test_substrings_random_texts() -> None:
    finder = Substrings(_STRINGS)
    rng = random.Random(5)
    alphabet = "<|>[/inst]#sy 🔓üab()"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        assert finder.present(text) == _plain_present(_STRINGS, text), text


def test_substrings_answer_for_the_text_asked_not_the_last_one() -> None:
    """Answers are remembered per text object: a second text gets its own answer."""
    finder = Substrings(_STRINGS)
    first, second = "has <| here", "has ]( here"
    assert finder.present(first) == {"<|", "<"}
    assert finder.present(second) == {"]("}
    assert finder.present(first) == {"<|", "<"}
    for i in range(50):  # more texts than remembered
        text = f"{i} <<sys"
        assert finder.present(text) == {"<<sys", "<"}


def test_substrings_cannot_read_lone_surrogates() -> None:
    """RE2 reads UTF-8 only: the caller is told to test the strings itself."""
    assert Substrings(_STRINGS).present("<| \ud800") is None


def test_an_empty_set_finds_nothing() -> None:
    assert Substrings([]).present("<| anything") == frozenset()


_SPACED_DEFINITION = re.compile(r"(?<!\S)\S(?: \S){5}(?!\S)")
_SEPARATED_DEFINITION = re.compile(r"(?<!\S)\S([.\-*/|,_~+])\S(?:\1\S){2}")


@pytest.mark.parametrize("alphabet", ["a ", "a. ", "a.-\n ", "ab \u00a0\t", "a.,_ \t", "x|~+*/ "])
def test_spaced_out_triggers_find_what_their_definitions_find(alphabet: str) -> None:
    rng = random.Random(alphabet)
    hits = [0, 0]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        spaced = _SPACED_DEFINITION.search(text) is not None
        separated = _SEPARATED_DEFINITION.search(text) is not None
        assert C._SPACED_RUN.found(text) == spaced, repr(text)
        assert C._SEPARATED_RUN.found(text) == separated, repr(text)
        hits[0] += spaced
        hits[1] += separated
    if alphabet == "a ":
        assert hits[0] > 0  # the comparison saw texts that do match
    if "." in alphabet or "|" in alphabet:
        assert hits[1] > 0


def test_spaced_out_triggers_on_real_shapes() -> None:
    assert C._SPACED_RUN.found("i g n o r e  a l l")
    assert C._SEPARATED_RUN.found("R-u-n-: b-a-s-h")
    assert not C._SPACED_RUN.found("e.g. a b c d e")  # five, not six
    assert not C._SEPARATED_RUN.found("e.g. U.S. and a-b")


def test_sentence_split_matches_the_lookbehind_split() -> None:
    rng = random.Random(9)
    for _ in range(20_000):
        text = "".join(rng.choice("ab .!?;\n\t\u00a0") for _ in range(rng.randint(0, 16)))
        assert _split_sentences(text) == re.split(r"(?<=[.!?;])\s+", text), repr(text)


def _plain_csv_cells(text: str) -> list[str]:
    """hidden._csv_cells as first written (a Counter of every line's separators for each
    separator): the definition its shortcuts must keep."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 3:
        return []
    for sep in (",", ";", "\t"):
        counts = Counter(ln.count(sep) for ln in lines)
        width, rows = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if width >= 1 and rows >= 3 and rows * 5 >= len(lines) * 3:
            cells = _table_cells(lines, sep, width)
            if cells is not None:
                return cells
    return []


def test_csv_cells_match_the_plain_definition() -> None:
    rng = random.Random(3)
    found = 0
    for _ in range(20_000):
        lines = []
        for _ in range(rng.randint(0, 8)):
            cells = ["x" * rng.choice([1, 30]) for _ in range(rng.randint(0, 4))]
            lines.append(
                rng.choice([",", ";", "\t", " ", ", "]).join(cells) + rng.choice(["", "\t"])
            )
        text = rng.choice(["\n", "\n\n", "\r\n", "\n \t\n", "\u2028"]).join(lines)
        cells = _plain_csv_cells(text)
        assert _csv_cells(text) == cells, repr(text)
        found += bool(cells)
    assert found > 100  # tables were among the texts
