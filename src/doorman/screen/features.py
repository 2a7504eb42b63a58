"""Tokens and n-grams shared by the training script and the hot path.

Both sides must cut text identically, so the one definition lives here. Pure Python and
deliberately simple: a regex for tokens, unigrams plus bigrams, and CRC32 shingles that are
stable across processes (unlike ``hash()``).
"""

from __future__ import annotations

import re
import zlib
from itertools import pairwise

import numpy as np

_TOKEN_RE = re.compile(r"[a-z0-9']+")

SHINGLE_SIZE = 5
SHINGLE_SAMPLE = 4  # keep shingles whose hash % SHINGLE_SAMPLE == 0


# every ASCII character that is not part of a token becomes a space: an ASCII text's tokens
# are then its str.split() (maximal runs of [a-z0-9'], as findall gives them), ~3.5x faster
_TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789'"
_SPACE_OUT = {c: " " for c in range(128) if chr(c) not in _TOKEN_CHARS}


def tokenize(text: str) -> list[str]:
    """Tokens of an already canonical (lower-case, folded) text."""
    if text.isascii():
        return text.translate(_SPACE_OUT).split()
    return _TOKEN_RE.findall(text)


# Function words carry no meaning alone; as unigrams they let a model learn "talks to you"
# instead of "tells you to drop your instructions". They still appear inside bigrams.
STOP_UNIGRAMS = frozenset(
    "a an the and or but if of to in on at for with from by as is are was were be been am "
    "i me my we our you your yours he she it its they them their this that these those "
    "do does did have has had will would can could should shall may might must not no "
    "what who when where why how which there here so than then too very just also".split()
)


def ngrams(tokens: list[str]) -> list[str]:
    """Content unigrams followed by all bigrams (joined with a space)."""
    grams = [t for t in tokens if t not in STOP_UNIGRAMS]
    grams.extend(f"{a} {b}" for a, b in pairwise(tokens))
    return grams


# Character n-grams inside a word ("<ign", "gno", "ore>"): a misspelt, truncated, inflected or
# half-folded word ("instrucions", "jailbrokn", "overriding") still shares most of them with the
# word it stands for, where a word n-gram model sees an unknown token worth nothing.
SUBWORD_SIZES = (3, 4)
# Longer tokens are hashes, base64, keys and run-together text, not words: their n-grams carry
# no meaning and cost two dictionary lookups a character (base64 screened ~9x slower).
MAX_SUBWORD_TOKEN = 24


def subwords(token: str) -> list[str]:
    """The character n-grams of one content word, with its boundaries marked (none for a
    function word, see ``STOP_UNIGRAMS``, nor for a token too long to be a word)."""
    if token in STOP_UNIGRAMS or len(token) > MAX_SUBWORD_TOKEN:
        return []
    word = f"<{token}>"
    end = len(word) + 1
    return [word[i : i + k] for k in SUBWORD_SIZES for i in range(end - k)]


_MASK = 0xFFFFFFFF
_BASE = 0x01000193
_BASE_TOP = pow(_BASE, SHINGLE_SIZE - 1, 1 << 32)


class _Hashes(dict[str, int]):
    """token -> CRC32, computed on a miss (``__missing__``): every token of a text is read
    with one C-level ``__getitem__``, with no pass afterwards to find the misses. Bounded."""

    __slots__ = ()

    def __missing__(self, token: str) -> int:
        value = zlib.crc32(token.encode())
        if len(self) < 200_000:
            self[token] = value
        return value


_TOKEN_HASHES = _Hashes()
_POWERS = [np.uint64(pow(_BASE, k, 1 << 32)) for k in range(SHINGLE_SIZE)]
_VECTOR_MIN = 64  # below this many tokens the plain loop is cheaper than numpy


def _token_hash(token: str) -> int:
    return _TOKEN_HASHES[token]


def shingles(tokens: list[str]) -> set[int]:
    """Sampled rolling hashes of word 5-grams: a cheap fingerprint for template matching.

    Stable across processes (CRC32 per token, polynomial roll), unlike ``hash()``.
    """
    out: set[int] = set()
    n = len(tokens)
    if n < SHINGLE_SIZE:
        return out
    if n >= _VECTOR_MIN:
        # the same polynomial mod 2**32, all windows at once (uint64 wraps mod 2**64)
        h = np.fromiter(map(_TOKEN_HASHES.__getitem__, tokens), np.uint64, n)
        count = n - SHINGLE_SIZE + 1
        acc = np.zeros(count, dtype=np.uint64)
        for k in range(SHINGLE_SIZE):
            acc += h[k : k + count] * _POWERS[SHINGLE_SIZE - 1 - k]
        acc &= np.uint64(_MASK)
        return set(acc[acc % np.uint64(SHINGLE_SAMPLE) == 0].tolist())
    hashes = list(map(_TOKEN_HASHES.__getitem__, tokens))
    value = 0
    for h_ in hashes[:SHINGLE_SIZE]:
        value = (value * _BASE + h_) & _MASK
    if value % SHINGLE_SAMPLE == 0:
        out.add(value)
    for i in range(SHINGLE_SIZE, n):
        value = ((value - hashes[i - SHINGLE_SIZE] * _BASE_TOP) * _BASE + hashes[i]) & _MASK
        if value % SHINGLE_SAMPLE == 0:
            out.add(value)
    return out
