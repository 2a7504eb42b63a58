"""Tokens and n-grams shared by the training script and the hot path.

Both sides must cut text identically, so the one definition lives here. Pure Python and
deliberately simple: a regex for tokens, unigrams plus bigrams, and CRC32 shingles that are
stable across processes (unlike ``hash()``).
"""

from __future__ import annotations

import re
import zlib

_TOKEN_RE = re.compile(r"[a-z0-9']+|[<>|#\[\]{}]")

SHINGLE_SIZE = 5
SHINGLE_SAMPLE = 4  # keep shingles whose hash % SHINGLE_SAMPLE == 0


def tokenize(text: str) -> list[str]:
    """Tokens of an already canonical (lower-case, folded) text."""
    return _TOKEN_RE.findall(text)


def ngrams(tokens: list[str]) -> list[str]:
    """Unigrams followed by bigrams (joined with a space)."""
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def shingles(tokens: list[str]) -> set[int]:
    """Sampled CRC32 hashes of word 5-grams: a cheap fingerprint for template matching."""
    out: set[int] = set()
    for i in range(len(tokens) - SHINGLE_SIZE + 1):
        value = zlib.crc32(" ".join(tokens[i : i + SHINGLE_SIZE]).encode())
        if value % SHINGLE_SAMPLE == 0:
            out.add(value)
    return out
