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
  to words, often enough to be deliberate; it is removed (sentence punctuation stays) from the
  raw text, before the canonical view's spaced-letter join can glue the pieces of two words
  ("ra.W A~nswers" must not become "rawanswers");
- **spaced-out characters, punctuation included** ("R-u-n-: b-a-s-h" or "r u n   c u r l"):
  the canonical view joins spaced *letters* but leaves the separators around punctuation
  ("run-:", "http : / /"), which breaks every pattern that spans a colon, a slash or a bracket;
  when most of the text is spaced out, each spaced word is rebuilt whole.

Each candidate is a new detection view; the request is untouched.
"""

from __future__ import annotations

import re

from doorman.screen.gate import Gated
from doorman.screen.normalize import canonical

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
_HEX_DIGEST_RE = re.compile(r"[0-9a-f]{16,}")
_DIGIT_WORD_RE = re.compile(r"[a-z0-9@$!|€]*\d[a-z0-9@$!|€]*")
_NOISE_RE = re.compile(r"(?<=[a-z])[^\sa-z0-9]+(?=[a-z])|(?<=\s)[^\sa-z0-9\"(\[<#]+(?=[a-z])")
_LETTER_DIGIT_RE = re.compile(r"[a-z][0-9]|[0-9][a-z]")
# noise stuck to a word's end: "instructions_" "prompt~" "in-", and before a closing quote or
# bracket '"system."' (a lone sentence full stop before a space stays)
_STUCK_RE = re.compile(
    r"(?<=[a-z])(?:[-_~*'^`]+\.?|\.)(?=[\"'\]})>])|(?<=[a-z])[-_~*'^`]+(?=[\s:,;!?.]|$)"
)
_LEADING_NOISE_RE = re.compile(r"(?<=\s)[^\sa-z0-9\"(\[<#-]+(?=-*[a-z])")  # keeps "-c", "--x"
_INNER_NOISE_RE = re.compile(r"(?<=[a-z])[^\sa-z0-9]+(?=[a-z])")
_CODE_NOISE_RE = re.compile(r"(?<=[a-z])['~*^`]+(?=[a-z])|(?<=[a-z])[-.'~*_]+(?=://)")
# a URL, an address, markup, an assignment, a path (not "/word")
_CODE_HINT_RE = re.compile(r"://|[=@<>]|\$\(|.[/\\]")
_BEFORE_MARKUP_RE = re.compile(r"^(?:[;,.!/]+(?=[\"'{<(])|[;,./]+(?=\[))")  # ',"system"', not "!["
_BEFORE_MARKUP_LINES_RE = re.compile(_BEFORE_MARKUP_RE.pattern, re.MULTILINE)  # at each word
_SPACED_SEPARATORS = ".-*/|,_~+"
_WORD_GAP_RE = re.compile(r" {2,}|\n")  # between the words of text spaced out with " "
# Written without lookarounds or a backreference ("(?<!\S)\S(?: \S){5}(?!\S)" and
# "(?<!\S)\S([.\-*/|,_~+])\S(?:\1\S){2}" find exactly the same texts): the RE2 gate drops
# those, and the looser gate let ordinary prose through to the regex (~40 us per view).
_SPACED_RUN = Gated(re.compile(r"(?:\A|\s)\S(?: \S){5}(?:\s|\Z)"))
_SEPARATED_RUN = Gated(
    re.compile(
        r"(?:\A|\s)\S(?:"
        + "|".join(f"{re.escape(c)}\\S(?:{re.escape(c)}\\S){{2}}" for c in ".-*/|,_~+")
        + ")"
    )
)
# one byte per character class, for the cheap upper bounds of the trigger counts: a (a-z),
# 0 (0-9), space (what \s matches among ASCII), "." (anything else, every non-ASCII byte)
_CLASSES = bytes(
    ord("a") if chr(b) in "abcdefghijklmnopqrstuvwxyz"
    else ord("0") if chr(b) in "0123456789"
    else ord(" ") if b < 128 and chr(b).isspace()
    else ord(".")
    for b in range(256)
)  # fmt: skip
SAMPLE = 600  # tokens looked at by the triggers
SPACED_HEAD = 2000  # characters the spaced-out trigger looks at


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
    # prose holds no reversed or rot13 common word: a set test each, no counting
    if not _REVERSED_COMMON.isdisjoint(sample):
        backwards = sum(map(_REVERSED_COMMON.__contains__, sample))
        if backwards >= 3 or (
            backwards >= 2 and backwards >= sum(map(_COMMON.__contains__, sample))
        ):
            out.append(("reversed", view[::-1]))
    if "rot13" not in known and not _ROT13_COMMON.isdisjoint(sample):
        rotated = sum(map(_ROT13_COMMON.__contains__, sample))
        if rotated >= 3:
            out.append(("rot13", view.translate(_ROT13)))
    lower = raw[:20_000].lower()
    pairs = _letter_digit_pairs(lower[:4000])
    if (
        pairs >= 3
        # each match of the regex holds one pair and hides at most one more (the pair that
        # starts at its second character), so 6 pairs mean at least 3 matches: no scan
        and (pairs >= 6 or len(_LETTER_DIGIT_RE.findall(lower, 0, 4000)) >= 3)
        and _leet_words(lower) >= 3
    ):
        leet = _DIGIT_WORD_RE.sub(lambda m: _unleet(m.group(0), vocabulary), lower)
        out.append(("leet", " ".join(leet.split())))
    # noise runs through a disguised text: its first 4,000 characters decide
    head = view[:4000]
    spaces = head.count(" ")
    if _noise_bound(head) * 6 >= spaces + 1:  # else the exact count cannot reach it either
        noise = len(_NOISE_RE.findall(head))
        if noise >= 2 and noise * 6 >= spaces + 1:
            out.append(("punctuation", canonical(_denoise(raw.lower()))))
    unspaced = _unspaced(raw)
    if unspaced is not None:
        out.append(("unspaced", canonical(unspaced)))
    return out


def _leet_words(lower: str) -> int:
    """Words mixing letters and digits, hex digests and ids left out ("3f9a0c...": a hash is
    not leetspeak; before, a hash per sentence bought every such text a whole extra view)."""
    mixed = _MIXED_RE.findall(lower)
    return len(mixed) - sum(map(bool, map(_HEX_DIGEST_RE.fullmatch, mixed)))


def _classes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass").translate(_CLASSES)


def _letter_digit_pairs(text: str) -> int:
    """A letter next to a digit, counted with byte operations: at least as many as the
    matches of :data:`_LETTER_DIGIT_RE` (one pair each), so a low count skips that scan."""
    classes = _classes(text)
    return classes.count(b"a0") + classes.count(b"0a")


def _noise_bound(head: str) -> int:
    """Marks followed by a letter, counted with byte operations: every match of
    :data:`_NOISE_RE` ends with one (its last mark; a multi-byte character's last byte), so
    this is at least the match count; prose stays far below the trigger and skips the scan
    (a lookbehind tried at every position: ~110 us per 4,000 characters)."""
    return _classes(head).count(b".a")


def _alternates(word: str) -> bool:
    """``word`` is one character, a separator, one character, ...: "r-u-n-:" or "h.t.t.p"."""
    if len(word) < 3 or len(word) % 2 == 0:
        return False
    sep = word[1]
    return sep in _SPACED_SEPARATORS and all(c == sep for c in word[1::2])


def _unspaced(raw: str) -> str | None:
    """The text with every spaced-out word rebuilt, when most of its head is spaced out
    (characters between single spaces, words between wider gaps; or every word written with a
    separator between its characters); None otherwise. Prose pays two regex scans of its head
    (a run of six spaced characters is the hint; "e.g." or "U.S.A." is too short)."""
    head = raw[:SPACED_HEAD]
    if _SPACED_RUN.found(head):
        pieces = [p for p in head.split(" ") if p]
        singles = sum(len(p) == 1 for p in pieces)
        if len(pieces) >= 8 and singles * 10 >= len(pieces) * 7 and "  " in head:
            return " ".join(w.replace(" ", "") for w in _WORD_GAP_RE.split(raw))
    if _SEPARATED_RUN.found(head):
        words = head.split()
        if len(words) >= 4 and sum(map(_alternates, words)) * 10 >= len(words) * 6:
            return " ".join(w[::2] if _alternates(w) else w for w in raw.split())
    return None


def _denoise(lower: str) -> str:
    """Punctuation noise removed word by word. Prose words lose every mark inside them and the
    marks stuck to their start; words that carry code or a URL ("https://a.b/c?d={x}",
    'style="display:none"') lose only the marks that never belong there, so the URL, the path
    or the JSON stays whole for the rules that read it.

    Each kind of word is done in one regex pass per rule over all such words joined by newlines
    (no rule crosses a newline, and a newline is what ``$`` and ``\\s`` saw at a word's end or
    before it), not a loop of regex calls per word (~1 us a word)."""
    words = lower.split()
    if _CODE_HINT_RE.search(lower) is None:  # no word carries code: all are prose
        return " ".join(_denoise_prose_words(words))
    is_code = list(map(bool, map(_CODE_HINT_RE.search, words)))
    prose = iter(_denoise_prose_words([w for w, c in zip(words, is_code, strict=True) if not c]))
    code = iter(_denoise_code_words([w for w, c in zip(words, is_code, strict=True) if c]))
    return " ".join([next(code) if c else next(prose) for c in is_code])


def _denoise_prose_words(words: list[str]) -> list[str]:
    if not words:
        return []
    joined = _INNER_NOISE_RE.sub("", _BEFORE_MARKUP_LINES_RE.sub("", "\n".join(words)))
    return _STUCK_RE.sub("", _LEADING_NOISE_RE.sub("", "\n" + joined))[1:].split("\n")


def _denoise_code_words(words: list[str]) -> list[str]:
    if not words:
        return []
    joined = _BEFORE_MARKUP_LINES_RE.sub("", _CODE_NOISE_RE.sub("", "\n".join(words)))
    return _STUCK_RE.sub("", joined).split("\n")
