"""Extra normalization candidates: views tried only when a cheap test says a disguise is present.

:mod:`doorman.screen.normalize` produces the canonical view and decodes embedded payloads; the
disguises here rewrite the *whole* text and cannot be undone blindly without paying a full scan
for every prompt, so each has a trigger:

- **reversed text** ("snoitcurtsni suoiverp lla erongi"): more reversed common words than plain;
- **ROT13** of a whole message mixed with plain words (normalize needs rot13 to dominate);
- **heavy leetspeak** ("1gn0r3 4ll pr3v10u2"): several tokens mixing letters and digits; every
  digit is folded, including 2, 6 and 9 that the canonical view leaves alone, and "1" becomes
  "i" or "l", whichever makes a known word;
- **case and punctuation noise** ("IgN.o-Re;, aLL.. pRe*vious"): punctuation inside or stuck
  to words, often enough to be deliberate; it is removed (sentence punctuation stays).

Each candidate is a new detection view; the request is untouched.
"""

from __future__ import annotations

import re

_COMMON = frozenset(
    "the and you your to of is in that it for are all be this with as on not what do now from "
    "me my an or will can have any tell print say ignore previous instructions system prompt "
    "above rules reveal show secret password forget everything told before must should "
    "instead only output".split()
)
_REVERSED_COMMON = frozenset(w[::-1] for w in _COMMON if w != w[::-1])
_ROT13 = str.maketrans("abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm")
_ROT13_COMMON = frozenset(w.translate(_ROT13) for w in _COMMON) - _COMMON
_LEET_ALL = str.maketrans(
    {"0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b",
     "9": "g", "@": "a", "$": "s", "!": "i", "|": "l", "€": "e"}
)  # fmt: skip
_MIXED_RE = re.compile(r"\b(?=[a-z@$]*\d)(?=\d*[a-z])[a-z0-9@$]{3,}\b")
_DIGIT_WORD_RE = re.compile(r"[a-z0-9@$!|€]*\d[a-z0-9@$!|€]*")
_NOISE_RE = re.compile(r"(?<=[a-z])[^\sa-z0-9]+(?=[a-z])|(?<=\s)[^\sa-z0-9\"(\[<#]+(?=[a-z])")
_LETTER_DIGIT_RE = re.compile(r"[a-z][0-9]|[0-9][a-z]")
_STUCK_RE = re.compile(r"(?<=[a-z])[_~*'^`]+(?=\s|$)")  # "instructions_" "prompt~"
SAMPLE = 600  # tokens looked at by the triggers


def _unleet(word: str, vocabulary: frozenset[str]) -> str:
    """Fold every digit of a leeted word; "1" reads as "i" or "l" ("4ll", "1gn0r3",
    "gu4rdr41l5"): the first reading found in ``vocabulary`` wins, "i" everywhere otherwise."""
    folded = word.translate(_LEET_ALL)
    ones = [i for i, c in enumerate(word) if c == "1"]
    if not ones or len(ones) > 4 or folded in vocabulary:
        return folded
    chars = list(folded)
    for mask in range(1, 1 << len(ones)):
        for bit, at in enumerate(ones):
            chars[at] = "l" if mask >> bit & 1 else "i"
        guess = "".join(chars)
        if guess in vocabulary:
            return guess
    return folded


def candidate_views(
    raw: str,
    view: str,
    tokens: list[str],
    known: set[str],
    vocabulary: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """Extra (origin, view) pairs for a text ``raw`` whose canonical view is ``view`` (with its
    ``tokens``); origins in ``known`` (already produced by normalize) are skipped.
    ``vocabulary`` (known words) resolves the "1" of heavy leetspeak to "i" or "l"."""
    out: list[tuple[str, str]] = []
    sample = tokens[:SAMPLE]
    if len(sample) < 2:
        return out
    plain = sum(map(_COMMON.__contains__, sample))
    backwards = sum(map(_REVERSED_COMMON.__contains__, sample))
    if backwards >= 3 or (backwards >= 2 and backwards >= plain):
        out.append(("reversed", view[::-1]))
    if "rot13" not in known:
        rotated = sum(map(_ROT13_COMMON.__contains__, sample))
        if rotated >= 3:
            out.append(("rot13", view.translate(_ROT13)))
    lower = raw[:20_000].lower()
    if len(_LETTER_DIGIT_RE.findall(lower, 0, 4000)) >= 3 and len(_MIXED_RE.findall(lower)) >= 3:
        leet = _DIGIT_WORD_RE.sub(lambda m: _unleet(m.group(0), vocabulary), lower)
        out.append(("leet", " ".join(leet.split())))
    # noise runs through a disguised text: its first 4,000 characters decide
    head = view[:4000]
    noise = len(_NOISE_RE.findall(head))
    if noise >= 2 and noise * 6 >= head.count(" ") + 1:
        cleaned = _STUCK_RE.sub("", _NOISE_RE.sub("", view))
        out.append(("punctuation", " ".join(cleaned.split())))
    return out
