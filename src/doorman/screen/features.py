"""Tokens and n-grams shared by the training script and the hot path.

Both sides must cut text identically, so the one definition lives here. Pure Python and
deliberately simple: a regex for tokens, unigrams plus bigrams, and CRC32 shingles that are
stable across processes (unlike ``hash()``).
"""

from __future__ import annotations

import re
import zlib

_TOKEN_RE = re.compile(r"[a-z0-9']+")

SHINGLE_SIZE = 5
SHINGLE_SAMPLE = 4  # keep shingles whose hash % SHINGLE_SAMPLE == 0


def tokenize(text: str) -> list[str]:
    """Tokens of an already canonical (lower-case, folded) text."""
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
    grams.extend(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
    return grams


def shingles(tokens: list[str]) -> set[int]:
    """Sampled CRC32 hashes of word 5-grams: a cheap fingerprint for template matching."""
    out: set[int] = set()
    for i in range(len(tokens) - SHINGLE_SIZE + 1):
        value = zlib.crc32(" ".join(tokens[i : i + SHINGLE_SIZE]).encode())
        if value % SHINGLE_SAMPLE == 0:
            out.add(value)
    return out
